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

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static org.linx.onos.LinxConstants.LINX_INGRESS_PDR;

/**
 * linx:pdrs DEVICE: the packet detection rules by decreasing priority, with their
 * direct counters (pdr_counter, read by ONOS with the entries).
 */
@Service
@Command(scope = "linx", name = "pdrs", description = "Lists the packet detection rules of a device with counters")
public class PdrsListCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        List<FlowEntry> pdrs = entries(d, LINX_INGRESS_PDR);
        pdrs.sort(Comparator.comparingInt(FlowEntry::priority).reversed());
        List<List<String>> rows = new ArrayList<>();
        String defaultAction = null;
        for (FlowEntry e : pdrs) {
            if (EntryView.criterion(e).isEmpty()) {
                defaultAction = EntryView.actionText(e) + " (" + e.state() + ")";
                continue;
            }
            List<String> row = new ArrayList<>(EntryView.pdrColumns(e));
            row.add(e.state().toString());
            row.add(Long.toString(e.packets()));
            row.add(Long.toString(e.bytes()));
            row.add(e.appId() == 0 ? "-" : Short.toString(e.appId()));
            rows.add(row);
        }
        printTable(List.of("PRIO", "IN", "DIR", "SRC", "DST", "PROTO", "SPORT", "DPORT", "DSCP", "FAR", "STATE",
                "PACKETS", "BYTES", "APP"), rows);
        print("%d rules; default action %s; PRIO is the ONOS priority (P4Runtime priority = PRIO + 1)",
                rows.size(), defaultAction == null ? "not set through ONOS (the device starts with pass)"
                        : defaultAction);
    }
}
