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

/**
 * linx:nonip-add DEVICE ETHTYPE pass|drop|punt|copy_to_controller.
 */
@Service
@Command(scope = "linx", name = "nonip-add",
        description = "Adds a rule for frames that are not IPv4: ETHTYPE (arp, lldp, ipv6... or a number) and "
                + "pass | drop | punt | copy_to_controller")
public class NonIpAddCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "ethtype", description = "EtherType name or number", required = true)
    String ethType = null;

    @Argument(index = 2, name = "action", description = "pass | drop | punt | copy_to_controller", required = true)
    String action = null;

    @Option(name = "-r", aliases = "--replace", description = "Replace the action of an existing rule")
    boolean replace = false;

    @Override
    protected void run() {
        DeviceId d = device(device);
        add(LinxEntries.nonIp(d, cliApp(), ethType, action), "nonip " + ethType, replace);
    }
}
