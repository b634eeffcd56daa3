/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.LinxEntries;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.FlowRule;

import java.util.List;

/**
 * linx:tunnel-add DEVICE ID port=P src=LOCAL dst=REMOTE [key=K].
 */
@Service
@Command(scope = "linx", name = "tunnel-add",
        description = "Adds a GRE overlay (tunnels entry, set_gre): port=P src=LOCAL dst=REMOTE [key=K]")
public class TunnelAddCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "id", description = "Tunnel id, 0..16777215", required = true)
    String id = null;

    @Argument(index = 2, name = "params", description = "port=P src=LOCAL dst=REMOTE [key=K]",
            required = true, multiValued = true)
    List<String> params = null;

    @Option(name = "-r", aliases = "--replace", description = "Replace an existing tunnel with this id")
    boolean replace = false;

    @Override
    protected void run() {
        DeviceId d = device(device);
        FlowRule rule = LinxEntries.tunnel(d, cliApp(), id, params);
        add(rule, "tunnel " + id, replace);
    }
}
