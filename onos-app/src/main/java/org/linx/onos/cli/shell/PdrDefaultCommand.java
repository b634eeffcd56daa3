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
 * linx:pdr-default DEVICE drop|pass.
 */
@Service
@Command(scope = "linx", name = "pdr-default",
        description = "Sets what packets matching no PDR get: drop or pass (the device starts with pass)")
public class PdrDefaultCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "action", description = "drop | pass", required = true)
    String action = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        add(LinxEntries.pdrDefault(d, cliApp(), action), "pdr default", true);
    }
}
