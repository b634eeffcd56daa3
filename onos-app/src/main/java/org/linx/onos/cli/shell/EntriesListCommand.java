/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.EntryView;
import org.linx.onos.cli.LinxEntries;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.FlowEntry;
import org.onosproject.net.pi.model.PiTableId;
import org.onosproject.net.pi.runtime.PiFieldMatch;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * linx:entries DEVICE TABLE: any table's entries as ONOS holds them, with values as
 * numbers (tunnel_term and non_ip have no list command of their own).
 */
@Service
@Command(scope = "linx", name = "entries",
        description = "Lists one table's entries (pdr, far, lbr, tunnels, tunnel_term, non_ip) as ONOS holds them")
public class EntriesListCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "table", description = "Table name", required = true)
    @Completion(TableNameCompleter.class)
    String table = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        PiTableId t = LinxEntries.table(table);
        List<List<String>> rows = new ArrayList<>();
        for (FlowEntry e : entries(d, t)) {
            StringJoiner match = new StringJoiner(" ");
            EntryView.criterion(e).ifPresent(c -> {
                for (PiFieldMatch m : c.fieldMatches()) {
                    match.add(m.fieldId().id() + "=" + EntryView.numeric(e, m.fieldId()));
                }
            });
            rows.add(List.of(e.state().toString(), Integer.toString(e.priority()),
                    match.length() == 0 ? "(default)" : match.toString(), EntryView.actionText(e),
                    Long.toString(e.packets()), Long.toString(e.bytes()), Short.toString(e.appId())));
        }
        printTable(List.of("STATE", "PRIO", "MATCH", "ACTION", "PACKETS", "BYTES", "APP"), rows);
        print("%d entries in %s", rows.size(), t.id());
    }
}
