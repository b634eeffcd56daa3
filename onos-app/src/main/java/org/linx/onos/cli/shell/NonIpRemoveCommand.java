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
 * linx:nonip-remove DEVICE ETHTYPE.
 */
@Service
@Command(scope = "linx", name = "nonip-remove", description = "Removes the non_ip rule of an EtherType")
public class NonIpRemoveCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "ethtype", description = "EtherType name or number", required = true)
    String ethType = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        remove(LinxEntries.nonIpKey(d, cliApp(), ethType), "nonip " + ethType);
    }
}
