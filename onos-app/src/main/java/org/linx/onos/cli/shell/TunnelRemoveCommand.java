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

/**
 * linx:tunnel-remove DEVICE ID.
 */
@Service
@Command(scope = "linx", name = "tunnel-remove", description = "Removes a GRE overlay (tunnels entry)")
public class TunnelRemoveCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "id", description = "Tunnel id", required = true)
    @Completion(TunnelIdCompleter.class)
    String id = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        remove(LinxEntries.tunnelKey(d, cliApp(), id), "tunnel " + id);
    }
}
