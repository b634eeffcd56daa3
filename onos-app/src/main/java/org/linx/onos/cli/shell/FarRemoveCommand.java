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
 * linx:far-remove DEVICE ID.
 */
@Service
@Command(scope = "linx", name = "far-remove", description = "Removes a forwarding action rule")
public class FarRemoveCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "id", description = "FAR id", required = true)
    String id = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        remove(LinxEntries.farKey(d, cliApp(), id), "far " + id);
    }
}
