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
 * linx:pdr-add DEVICE prio=N [in=] [dir=] [src=] [dst=] [proto=] [sport=] [dport=] [dscp=] far=ID.
 */
@Service
@Command(scope = "linx", name = "pdr-add",
        description = "Adds a packet detection rule: prio=N [in=P] [dir=uplink|downlink|underlay] [src=PREFIX] "
                + "[dst=PREFIX] [proto=NAME] [sport=LO-HI] [dport=LO-HI] [dscp=NAME] far=ID")
public class PdrAddCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "params", description = "prio=N, match fields, far=ID", required = true,
            multiValued = true)
    List<String> params = null;

    @Option(name = "-r", aliases = "--replace", description = "Point an existing PDR with this key to the FAR")
    boolean replace = false;

    @Override
    protected void run() {
        DeviceId d = device(device);
        FlowRule rule = LinxEntries.pdr(d, cliApp(), params);
        if (!add(rule, "pdr " + EntryView.pdrWords(rule).replaceAll(" far=[0-9]+$", ""), replace)) {
            return;
        }
        long far = EntryView.param((PiAction) EntryView.action(rule).orElseThrow(), "far_id");
        warnIfMissing(LinxEntries.farKey(d, cliApp(), Long.toString(far)), "far " + far);
    }
}
