/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.EntryView;
import org.linx.onos.cli.LinxValues;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.net.AnnotationKeys;
import org.onosproject.net.DeviceId;
import org.onosproject.net.Port;
import org.onosproject.net.device.DeviceService;
import org.onosproject.net.device.PortStatistics;
import org.onosproject.net.flow.FlowEntry;
import org.onosproject.net.pi.runtime.PiAction;
import org.onosproject.net.pi.runtime.PiTableAction;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.linx.onos.LinxConstants.HDR_TUNNEL_ID;
import static org.linx.onos.LinxConstants.LINX_INGRESS_TUNNELS;

/**
 * linx:tunnels DEVICE: the overlays, their entries' state, and what ONOS's gNMI port
 * discovery reports for each overlay's logical port tunnel-ID: oper state and the
 * tunnel counters as port statistics.
 */
@Service
@Command(scope = "linx", name = "tunnels",
        description = "Lists the GRE overlays of a device with oper state and counters (from the overlay's port)")
public class TunnelsListCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        DeviceService devices = service(DeviceService.class);
        Map<String, Port> ports = new HashMap<>();
        for (Port p : devices.getPorts(d)) {
            String name = p.annotations().value(AnnotationKeys.PORT_NAME);
            if (name != null) {
                ports.put(name, p);
            }
        }
        List<FlowEntry> tunnels = entries(d, LINX_INGRESS_TUNNELS);
        tunnels.sort(Comparator.comparingLong(e -> EntryView.exact(e, HDR_TUNNEL_ID)));
        List<List<String>> rows = new ArrayList<>();
        for (FlowEntry e : tunnels) {
            long id = EntryView.exact(e, HDR_TUNNEL_ID);
            PiTableAction a = EntryView.action(e).orElse(null);
            List<String> row = new ArrayList<>(List.of(Long.toString(id)));
            if (a instanceof PiAction) {
                PiAction gre = (PiAction) a;
                row.add(Long.toString(EntryView.param(gre, "port")));
                row.add(LinxValues.dotted(EntryView.param(gre, "src_addr")));
                row.add(LinxValues.dotted(EntryView.param(gre, "dst_addr")));
                row.add(Long.toString(EntryView.param(gre, "key")));
            } else {
                row.addAll(List.of("-", "-", "-", "-"));
            }
            row.add(e.state().toString());
            Port port = ports.get("tunnel-" + id);
            PortStatistics st = port == null ? null : devices.getStatisticsForPort(d, port.number());
            row.add(port == null ? "-" : port.number().toString());
            row.add(port == null ? "-" : port.isEnabled() ? "up" : "down");
            row.add(st == null ? "-" : Long.toString(st.packetsReceived()));
            row.add(st == null ? "-" : Long.toString(st.bytesReceived()));
            row.add(st == null ? "-" : Long.toString(st.packetsSent()));
            row.add(st == null ? "-" : Long.toString(st.bytesSent()));
            rows.add(row);
        }
        printTable(List.of("ID", "PORT", "SRC", "DST", "KEY", "ENTRY", "OVERLAY_PORT", "OPER",
                "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES"), rows);
        print("%d tunnels; RX = decapsulated, TX = encapsulated (gNMI port statistics of port tunnel-ID, "
                + "polled every 10 s; OPER - means ONOS lists no such port)", rows.size());
    }
}
