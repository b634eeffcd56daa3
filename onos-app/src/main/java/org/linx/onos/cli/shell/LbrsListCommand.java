/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.EntryView;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.FlowEntry;
import org.onosproject.net.group.Group;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.group.GroupService;
import org.onosproject.net.pi.runtime.PiActionProfileGroupId;
import org.onosproject.net.pi.runtime.PiTableAction;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.StringJoiner;

import static org.linx.onos.LinxConstants.HDR_LBR_ID;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR;

/**
 * linx:lbrs DEVICE: the load-balancing rules, the lbr_selector group each points to,
 * and its members as TUNNEL:WEIGHT (per-overlay traffic is in linx:tunnels).
 */
@Service
@Command(scope = "linx", name = "lbrs", description = "Lists the load-balancing rules of a device with their members")
public class LbrsListCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        GroupService groups = service(GroupService.class);
        List<FlowEntry> lbrs = entries(d, LINX_INGRESS_LBR);
        lbrs.sort(Comparator.comparingLong(e -> EntryView.exact(e, HDR_LBR_ID)));
        List<List<String>> rows = new ArrayList<>();
        for (FlowEntry e : lbrs) {
            PiTableAction a = EntryView.action(e).orElse(null);
            String ref = EntryView.action(e).map(EntryView::actionText).orElse("-");
            String members = "-";
            String groupState = "-";
            if (a instanceof PiActionProfileGroupId) {
                int gid = ((PiActionProfileGroupId) a).id();
                for (Group g : groups.getGroups(d)) {
                    if (g.id().id() == gid) {
                        StringJoiner j = new StringJoiner(",");
                        for (GroupBucket b : g.buckets().buckets()) {
                            j.add(EntryView.memberText(b));
                        }
                        members = j.toString();
                        groupState = g.state().toString();
                    }
                }
            }
            rows.add(List.of(Long.toString(EntryView.exact(e, HDR_LBR_ID)), ref, members, e.state().toString(),
                    groupState));
        }
        printTable(List.of("ID", "REF", "MEMBERS(TUNNEL:WEIGHT)", "STATE", "GROUP_STATE"), rows);
        print("%d rules (no counters on lbr: per-overlay traffic is in linx:tunnels)", rows.size());
    }
}
