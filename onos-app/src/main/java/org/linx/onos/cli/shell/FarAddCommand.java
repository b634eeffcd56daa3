/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.EntryView;
import org.linx.onos.cli.LinxEntries;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.pi.runtime.PiAction;

import java.util.List;

/**
 * linx:far-add DEVICE ID drop|pass|punt|forward port=P|encap tunnel=T|balance lbr=L.
 */
@Service
@Command(scope = "linx", name = "far-add",
        description = "Adds a forwarding action rule: ID " + LinxEntries.FAR_ACTIONS)
public class FarAddCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "id", description = "FAR id, 0..4294967295", required = true)
    String id = null;

    @Argument(index = 2, name = "action", description = LinxEntries.FAR_ACTIONS, required = true,
            multiValued = true)
    @Completion(FarActionCompleter.class)
    List<String> action = null;

    @Option(name = "-r", aliases = "--replace", description = "Replace the action of an existing FAR")
    boolean replace = false;

    @Override
    protected void run() {
        DeviceId d = device(device);
        FlowRule rule = LinxEntries.far(d, cliApp(), id, action);
        if (!add(rule, "far " + id, replace)) {
            return;
        }
        PiAction a = (PiAction) EntryView.action(rule).orElseThrow();
        long tunnel = EntryView.param(a, "tunnel_id");
        if (tunnel >= 0) {
            warnIfMissing(LinxEntries.tunnelKey(d, cliApp(), Long.toString(tunnel)), "tunnel " + tunnel);
        }
        long lbr = EntryView.param(a, "lbr_id");
        if (lbr >= 0) {
            warnIfMissing(LinxEntries.lbrEntry(d, cliApp(), (int) lbr), "lbr " + lbr);
        }
    }
}
