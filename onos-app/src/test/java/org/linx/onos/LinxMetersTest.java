/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.junit.Test;
import org.onosproject.core.DefaultApplicationId;
import org.onosproject.net.DeviceId;
import org.onosproject.net.meter.Band;
import org.onosproject.net.meter.Meter;
import org.onosproject.net.meter.MeterRequest;
import org.onosproject.net.pi.model.PiMeterModel;
import org.onosproject.net.pi.model.PiPipelineModel;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR_METER;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR_PACKET_METER;

/**
 * The pipeconf declares both FAR meters as ONOS's meter service needs them,
 * and LinxMeters builds requests that the P4Runtime driver translates into the
 * right MeterEntry: scope, index, the committed band as MARK_YELLOW and the
 * peak band as MARK_RED.
 */
public class LinxMetersTest {

    private static final DeviceId DEVICE = DeviceId.deviceId("device:linx-a");

    @Test
    public void pipeconfDeclaresTheMeters() {
        PiPipelineModel model = LinxPipeconfLoader.PIPECONF.pipelineModel();
        PiMeterModel bytes = model.meter(LINX_INGRESS_FAR_METER).orElseThrow();
        PiMeterModel packets = model.meter(LINX_INGRESS_FAR_PACKET_METER).orElseThrow();
        assertEquals(PiMeterModel.Unit.BYTES, bytes.unit());
        assertEquals(PiMeterModel.Unit.PACKETS, packets.unit());
        assertEquals(4096, bytes.size());
    }

    @Test
    public void farMeterRequest() {
        MeterRequest r = LinxMeters.farMeter(DEVICE, new DefaultApplicationId(1, "test"), 5, false,
                1_250_000, 100_000, 2_500_000, 200_000).add();
        assertEquals(LINX_INGRESS_FAR_METER.id(), r.scope().id());
        assertEquals(Long.valueOf(5), r.index().orElseThrow());
        assertEquals(Meter.Unit.BYTES_PER_SEC, r.unit());
        assertEquals(2, r.bands().size());
        boolean yellow = false;
        boolean red = false;
        for (Band b : r.bands()) {
            if (b.type() == Band.Type.MARK_YELLOW) {
                yellow = b.rate() == 1_250_000 && b.burst() == 100_000;
            } else if (b.type() == Band.Type.MARK_RED) {
                red = b.rate() == 2_500_000 && b.burst() == 200_000;
            }
        }
        assertTrue("committed band MARK_YELLOW, peak band MARK_RED", yellow && red);
        MeterRequest p = LinxMeters.farMeter(DEVICE, new DefaultApplicationId(1, "test"), 7, true, 10, 5, 10, 5).add();
        assertEquals(LINX_INGRESS_FAR_PACKET_METER.id(), p.scope().id());
        assertEquals(Meter.Unit.PKTS_PER_SEC, p.unit());
    }

    @Test
    public void refusesBadConfigs() {
        DefaultApplicationId app = new DefaultApplicationId(1, "test");
        assertThrows(IllegalArgumentException.class, () -> LinxMeters.farMeter(DEVICE, app, -1, false, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> LinxMeters.farMeter(DEVICE, app, 1, false, 2, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> LinxMeters.farMeter(DEVICE, app, 1, false, 1, 0, 1, 1));
    }
}
