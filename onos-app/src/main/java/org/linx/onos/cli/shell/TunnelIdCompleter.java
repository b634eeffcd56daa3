/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.linx.onos.cli.EntryView;
import org.onosproject.cli.AbstractShellCommand;
import org.onosproject.net.Device;
import org.onosproject.net.DeviceId;
import org.onosproject.net.device.DeviceService;
import org.onosproject.net.flow.FlowEntry;
import org.onosproject.net.flow.FlowRuleService;

import java.util.List;
import java.util.SortedSet;

import static org.linx.onos.LinxConstants.HDR_TUNNEL_ID;
import static org.linx.onos.LinxConstants.LINX_INGRESS_TUNNELS;

/**
 * Completes the tunnel ids ONOS has entries for: of the device named earlier on the
 * command line, or of every device.
 */
@Service
public class TunnelIdCompleter implements Completer {
    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter delegate = new StringsCompleter();
        SortedSet<String> strings = delegate.getStrings();
        DeviceService devices = AbstractShellCommand.get(DeviceService.class);
        FlowRuleService flows = AbstractShellCommand.get(FlowRuleService.class);
        DeviceId named = null;
        for (String arg : commandLine.getArguments()) {
            try {
                if (arg.contains(":") && devices.getDevice(DeviceId.deviceId(arg)) != null) {
                    named = DeviceId.deviceId(arg);
                    break;
                }
            } catch (IllegalArgumentException e) {
                // not a device id
            }
        }
        for (Device d : devices.getDevices()) {
            if (named != null && !named.equals(d.id())) {
                continue;
            }
            for (FlowEntry e : flows.getFlowEntries(d.id())) {
                if (e.table().equals(LINX_INGRESS_TUNNELS)) {
                    long id = EntryView.exact(e, HDR_TUNNEL_ID);
                    if (id >= 0) {
                        strings.add(Long.toString(id));
                    }
                }
            }
        }
        return delegate.complete(session, commandLine, candidates);
    }
}
