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
import org.linx.onos.cli.LinxValues;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.pi.runtime.PiAction;

import java.util.List;

import static org.linx.onos.LinxConstants.HDR_DST_ADDR;
import static org.linx.onos.LinxConstants.HDR_GRE_KEY;
import static org.linx.onos.LinxConstants.HDR_SRC_ADDR;

/**
 * linx:term-add DEVICE src=REMOTE dst=LOCAL [key=K] tunnel=T.
 */
@Service
@Command(scope = "linx", name = "term-add",
        description = "Adds a GRE termination (tunnel_term entry, decap): src=REMOTE dst=LOCAL [key=K] tunnel=T")
public class TermAddCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "params", description = "src=REMOTE dst=LOCAL [key=K] tunnel=T",
            required = true, multiValued = true)
    List<String> params = null;

    @Option(name = "-r", aliases = "--replace", description = "Replace an existing termination with this key")
    boolean replace = false;

    @Override
    protected void run() {
        DeviceId d = device(device);
        FlowRule rule = LinxEntries.term(d, cliApp(), params);
        if (add(rule, termName(rule), replace)) {
            long tunnel = EntryView.param((PiAction) EntryView.action(rule).orElseThrow(), "tunnel_id");
            warnIfMissing(LinxEntries.tunnelKey(d, cliApp(), Long.toString(tunnel)), "tunnel " + tunnel);
        }
    }

    static String termName(FlowRule rule) {
        return "term src=" + LinxValues.dotted(EntryView.exact(rule, HDR_SRC_ADDR))
                + " dst=" + LinxValues.dotted(EntryView.exact(rule, HDR_DST_ADDR))
                + " key=" + EntryView.exact(rule, HDR_GRE_KEY);
    }
}
