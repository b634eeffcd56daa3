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

import static org.linx.onos.LinxConstants.HDR_FAR_ID;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR;

/**
 * linx:fars DEVICE: the forwarding action rules (far has no counters in the pipeline).
 */
@Service
@Command(scope = "linx", name = "fars", description = "Lists the forwarding action rules of a device")
public class FarsListCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        List<FlowEntry> fars = entries(d, LINX_INGRESS_FAR);
        fars.sort(Comparator.comparingLong(e -> EntryView.exact(e, HDR_FAR_ID)));
        List<List<String>> rows = new ArrayList<>();
        for (FlowEntry e : fars) {
            List<String> row = new ArrayList<>();
            long id = EntryView.exact(e, HDR_FAR_ID);
            row.add(id >= 0xf0000000L ? String.format("0x%08x", id) : Long.toString(id));
            row.addAll(EntryView.farColumns(e));
            row.add(e.state().toString());
            row.add(Short.toString(e.appId()));
            rows.add(row);
        }
        printTable(List.of("ID", "ACTION", "PORT", "TUNNEL", "LBR", "STATE", "APP"), rows);
        print("%d rules (no counters: the linx pipeline counts per PDR, per port and per tunnel; "
                + "ids 0xf... are the pipeliner's shared FARs)", rows.size());
    }
}
