/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.LinxEntries;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.FlowRule;

import java.util.List;

/**
 * linx:term-remove DEVICE src=REMOTE dst=LOCAL [key=K].
 */
@Service
@Command(scope = "linx", name = "term-remove",
        description = "Removes a GRE termination: src=REMOTE dst=LOCAL [key=K] (tunnel= is ignored)")
public class TermRemoveCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "params", description = "src=REMOTE dst=LOCAL [key=K]",
            required = true, multiValued = true)
    List<String> params = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        FlowRule key = LinxEntries.termKey(d, cliApp(), params);
        remove(key, TermAddCommand.termName(key));
    }
}
