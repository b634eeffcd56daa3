/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onosproject.drivers.p4runtime.AbstractP4RuntimePipelineProgrammable;
import org.onosproject.net.behaviour.PiPipelineProgrammable;
import org.onosproject.net.pi.model.PiPipeconf;

import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * Pipeline programming for the {@code linx} driver: ONOS pushes the P4Info with
 * SetForwardingPipelineConfig(VERIFY_AND_COMMIT). There is no target binary: the
 * XDP programs are built into linx-agent, which checks the P4Info against its own
 * and stores the (empty) device config and the cookie.
 */
public class LinxPipelineProgrammable extends AbstractP4RuntimePipelineProgrammable
        implements PiPipelineProgrammable {

    /** The p4_device_config linx devices get: none. */
    static final byte[] DEVICE_CONFIG = new byte[0];

    @Override
    public ByteBuffer createDeviceDataBuffer(PiPipeconf pipeconf) {
        return ByteBuffer.wrap(DEVICE_CONFIG);
    }

    /** Devices bound to the linx driver without a pipeconf in their netcfg get linx's. */
    @Override
    public Optional<PiPipeconf> getDefaultPipeconf() {
        return Optional.of(LinxPipeconfLoader.PIPECONF);
    }
}
