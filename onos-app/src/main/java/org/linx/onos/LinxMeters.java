/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onosproject.core.ApplicationId;
import org.onosproject.net.DeviceId;
import org.onosproject.net.meter.Band;
import org.onosproject.net.meter.DefaultBand;
import org.onosproject.net.meter.DefaultMeterRequest;
import org.onosproject.net.meter.Meter;
import org.onosproject.net.meter.MeterRequest;
import org.onosproject.net.meter.MeterScope;

import java.util.List;

import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR_METER;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR_PACKET_METER;

/**
 * ONOS meter requests for linx's FAR meters. ONOS's meter service drives them
 * through the P4Runtime driver's own MeterProgrammable (inherited by the
 * {@code linx} driver from {@code stratum}): a request scoped to a P4 meter
 * with a user-defined index becomes a MeterEntry MODIFY of that cell, its
 * MARK_YELLOW band the committed rate and burst, its MARK_RED band the peak
 * ones; removing it resets the cell. The index is the FAR id: linx meters a FAR
 * by the cells of its own id (docs/onos.md). Rates are taken as they are, so
 * far_meter wants BYTES_PER_SEC and far_packet_meter PKTS_PER_SEC.
 */
public final class LinxMeters {

    private LinxMeters() {
    }

    /**
     * The meter scope of far_meter (bytes) or far_packet_meter (packets).
     *
     * @param packets the packets meter
     * @return the scope
     */
    public static MeterScope scope(boolean packets) {
        return MeterScope.of((packets ? LINX_INGRESS_FAR_PACKET_METER : LINX_INGRESS_FAR_METER).id());
    }

    /**
     * A two-rate three-color meter (RFC 2698) on FAR farId; cir = pir and
     * cburst = pburst make it a single-rate policer. What each color does is
     * the FAR's far_qos entry (by default red drops).
     *
     * @param device  the gateway
     * @param app     the requesting application
     * @param farId   the FAR, below the meters' size
     * @param packets meter packets (rates in packets/s) instead of bytes
     * @param cir     committed rate, units per second
     * @param cburst  committed burst, units
     * @param pir     peak rate, units per second (at least cir)
     * @param pburst  peak burst, units
     * @return the request builder, to add() or remove()
     * @throws IllegalArgumentException for a negative FAR id, a rate or burst
     *                                  that is not positive, or pir below cir
     */
    public static MeterRequest.Builder farMeter(DeviceId device, ApplicationId app, long farId, boolean packets,
                                                long cir, long cburst, long pir, long pburst) {
        if (farId < 0 || farId > 0xffffffffL) {
            throw new IllegalArgumentException("far id " + farId + " is not a 32-bit FAR id");
        }
        if (cir <= 0 || cburst <= 0 || pir <= 0 || pburst <= 0) {
            throw new IllegalArgumentException("rates and bursts must be positive");
        }
        if (pir < cir) {
            throw new IllegalArgumentException("pir " + pir + " below cir " + cir);
        }
        Band committed = DefaultBand.builder().ofType(Band.Type.MARK_YELLOW).withRate(cir).burstSize(cburst).build();
        Band peak = DefaultBand.builder().ofType(Band.Type.MARK_RED).withRate(pir).burstSize(pburst).build();
        return DefaultMeterRequest.builder()
                .forDevice(device)
                .fromApp(app)
                .withUnit(packets ? Meter.Unit.PKTS_PER_SEC : Meter.Unit.BYTES_PER_SEC)
                .withBands(List.of(committed, peak))
                .withScope(scope(packets))
                .withIndex(farId);
    }
}
