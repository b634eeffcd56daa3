/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.junit.Test;
import org.onlab.packet.ChassisId;
import org.onlab.packet.Ethernet;
import org.onlab.packet.MacAddress;
import org.onlab.packet.ONOSLLDP;
import org.onlab.util.ImmutableByteSequence;
import org.onosproject.net.AnnotationKeys;
import org.onosproject.net.ConnectPoint;
import org.onosproject.net.DefaultAnnotations;
import org.onosproject.net.DefaultPort;
import org.onosproject.net.Port;
import org.onosproject.net.PortNumber;
import org.onosproject.net.device.DeviceService;
import org.onosproject.net.driver.DriverHandler;
import org.onosproject.net.flow.DefaultTrafficTreatment;
import org.onosproject.net.flow.criteria.Criterion;
import org.onosproject.net.packet.DefaultOutboundPacket;
import org.onosproject.net.packet.InboundPacket;
import org.onosproject.net.pi.model.PiPacketOperationType;
import org.onosproject.net.pi.model.PiPipelineInterpreter.PiInterpreterException;
import org.onosproject.net.pi.runtime.PiPacketMetadata;
import org.onosproject.net.pi.runtime.PiPacketOperation;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

import static org.easymock.EasyMock.createMock;
import static org.easymock.EasyMock.expect;
import static org.easymock.EasyMock.replay;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.linx.onos.LinxConstants.EGRESS_PORT;
import static org.linx.onos.LinxConstants.HDR_DST_ADDR;
import static org.linx.onos.LinxConstants.HDR_ETH_TYPE;
import static org.linx.onos.LinxConstants.HDR_L4_DPORT;
import static org.linx.onos.LinxConstants.INGRESS_PORT;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_NON_IP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PDR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_TUNNELS;
import static org.linx.onos.Objectives.DEVICE;
import static org.linx.onos.Objectives.output;
import static org.linx.onos.Objectives.tunnel;

public class LinxInterpreterTest {

    private final LinxInterpreter interpreter = new LinxInterpreter();
    private final P4RuntimeText text = new P4RuntimeText(LinxPipeconfLoader.PIPECONF.pipelineModel());

    private String far(org.onosproject.net.flow.TrafficTreatment t) throws PiInterpreterException {
        return text.action(interpreter.mapTreatment(t, LINX_INGRESS_FAR),
                LinxPipeconfLoader.PIPECONF.pipelineModel().table(LINX_INGRESS_FAR).orElseThrow());
    }

    @Test
    public void criteriaMapToPipelineFields() {
        assertEquals(Optional.of(HDR_DST_ADDR), interpreter.mapCriterionType(Criterion.Type.IPV4_DST));
        assertEquals(Optional.of(HDR_L4_DPORT), interpreter.mapCriterionType(Criterion.Type.UDP_DST));
        assertEquals(Optional.of(HDR_ETH_TYPE), interpreter.mapCriterionType(Criterion.Type.ETH_TYPE));
        assertEquals(Optional.empty(), interpreter.mapCriterionType(Criterion.Type.ETH_SRC));
        assertEquals(Optional.of(LINX_INGRESS_PDR), interpreter.mapFlowRuleTableId(0));
        assertEquals(Optional.empty(), interpreter.mapFlowRuleTableId(1));
    }

    @Test
    public void treatmentsMapToFarActions() throws PiInterpreterException {
        assertEquals("LinxIngress.forward(port=0x0004)", far(output(PortNumber.portNumber(4))));
        assertEquals("LinxIngress.punt", far(output(PortNumber.CONTROLLER)));
        assertEquals("LinxIngress.pass", far(output(PortNumber.LOCAL)));
        assertEquals("LinxIngress.drop", far(DefaultTrafficTreatment.builder().drop().build()));
        assertEquals("LinxIngress.encap(tunnel_id=0x0000000c)", far(tunnel(12)));
    }

    @Test
    public void treatmentsAreCheckedPerTable() throws PiInterpreterException {
        assertEquals(LinxActions.PUNT, interpreter.mapTreatment(output(PortNumber.CONTROLLER), LINX_INGRESS_NON_IP));
        assertEquals(LinxActions.encap(3), interpreter.mapTreatment(tunnel(3), LINX_INGRESS_LBR));
        for (Object[] c : new Object[][]{
            {output(PortNumber.portNumber(1)), LINX_INGRESS_NON_IP, "non_ip"},
            {output(PortNumber.portNumber(1)), LINX_INGRESS_LBR, "lbr_selector"},
            {output(PortNumber.portNumber(1)), LINX_INGRESS_PDR, "set_far"},
            {output(PortNumber.portNumber(1)), LINX_INGRESS_TUNNELS, "protocol-independent"},
            {output(PortNumber.ALL), LINX_INGRESS_FAR, "logical port"},
        }) {
            try {
                interpreter.mapTreatment((org.onosproject.net.flow.TrafficTreatment) c[0],
                        (org.onosproject.net.pi.model.PiTableId) c[1]);
                fail("mapped " + c[0] + " for " + c[1]);
            } catch (PiInterpreterException e) {
                assertTrue(e.getMessage(), e.getMessage().contains((String) c[2]));
            }
        }
    }

    private static byte[] lldpFrame(long port) {
        ONOSLLDP lldp = ONOSLLDP.onosLLDP(DEVICE.toString(), new ChassisId(1), (int) port);
        Ethernet eth = new Ethernet();
        eth.setEtherType(Ethernet.TYPE_LLDP);
        eth.setDestinationMACAddress(MacAddress.ONOS_LLDP);
        eth.setSourceMACAddress(MacAddress.valueOf("02:00:00:00:00:01"));
        eth.setPayload(lldp);
        return eth.serialize();
    }

    @Test
    public void packetOutCarriesThePaddedEgressPort() throws PiInterpreterException {
        byte[] frame = lldpFrame(3);
        Collection<PiPacketOperation> ops = interpreter.mapOutboundPacket(new DefaultOutboundPacket(DEVICE,
                output(PortNumber.portNumber(3)), ByteBuffer.wrap(frame)));
        assertEquals(1, ops.size());
        PiPacketOperation op = ops.iterator().next();
        assertEquals(PiPacketOperationType.PACKET_OUT, op.type());
        assertArrayEquals(frame, op.data().asArray());
        PiPacketMetadata m = op.metadatas().iterator().next();
        assertEquals(EGRESS_PORT, m.id());
        assertArrayEquals(new byte[]{0, 3}, m.value().asArray());
    }

    @Test
    public void floodAndAllSkipTheOverlaysLogicalPorts() throws PiInterpreterException {
        assertEquals("the P4Info's port counter size", 512L, LinxInterpreter.MAX_PORTS);
        DeviceService devices = createMock(DeviceService.class);
        List<Port> ports = new ArrayList<>();
        ports.add(new DefaultPort(null, PortNumber.portNumber(1), true, named("eth1")));
        ports.add(new DefaultPort(null, PortNumber.portNumber(2), true, named("eth2")));
        ports.add(new DefaultPort(null, PortNumber.portNumber(513), true, named("tunnel-1")));
        ports.add(new DefaultPort(null, PortNumber.portNumber(514), true, DefaultAnnotations.EMPTY));
        ports.add(new DefaultPort(null, PortNumber.portNumber(7), true, named("tunnel-7")));
        expect(devices.getPorts(DEVICE)).andReturn(ports).anyTimes();
        DriverHandler handler = createMock(DriverHandler.class);
        expect(handler.get(DeviceService.class)).andReturn(devices).anyTimes();
        replay(devices, handler);
        interpreter.setHandler(handler);

        for (PortNumber all : List.of(PortNumber.FLOOD, PortNumber.ALL)) {
            assertEquals(all + ": physical ports only", List.of(1L, 2L), sentOn(interpreter.mapOutboundPacket(
                    new DefaultOutboundPacket(DEVICE, output(all), ByteBuffer.wrap(lldpFrame(0))))));
        }
        // LLDP probes and neighbour flooding name each edge port: an overlay's is skipped, not refused
        assertEquals(List.of(), sentOn(interpreter.mapOutboundPacket(new DefaultOutboundPacket(DEVICE,
                output(PortNumber.portNumber(513)), ByteBuffer.wrap(lldpFrame(0))))));
        assertEquals(List.of(511L), sentOn(interpreter.mapOutboundPacket(new DefaultOutboundPacket(DEVICE,
                output(PortNumber.portNumber(511)), ByteBuffer.wrap(lldpFrame(0))))));
    }

    private static DefaultAnnotations named(String name) {
        return DefaultAnnotations.builder().set(AnnotationKeys.PORT_NAME, name).build();
    }

    private static List<Long> sentOn(Collection<PiPacketOperation> ops) throws PiInterpreterException {
        List<Long> sentOn = new ArrayList<>();
        for (PiPacketOperation op : ops) {
            sentOn.add(LinxInterpreter.unsigned(op.metadatas().iterator().next().value()));
        }
        return sentOn;
    }

    @Test
    public void floodSendsOnePacketOutPerEnabledPort() throws PiInterpreterException {
        DeviceService devices = createMock(DeviceService.class);
        List<Port> ports = new ArrayList<>();
        ports.add(new DefaultPort(null, PortNumber.portNumber(1), true, DefaultAnnotations.EMPTY));
        ports.add(new DefaultPort(null, PortNumber.portNumber(2), false, DefaultAnnotations.EMPTY));
        ports.add(new DefaultPort(null, PortNumber.portNumber(5), true, DefaultAnnotations.EMPTY));
        expect(devices.getPorts(DEVICE)).andReturn(ports).anyTimes();
        DriverHandler handler = createMock(DriverHandler.class);
        expect(handler.get(DeviceService.class)).andReturn(devices).anyTimes();
        replay(devices, handler);
        interpreter.setHandler(handler);

        Collection<PiPacketOperation> ops = interpreter.mapOutboundPacket(new DefaultOutboundPacket(DEVICE,
                output(PortNumber.FLOOD), ByteBuffer.wrap(lldpFrame(0))));
        List<Long> sentOn = new ArrayList<>();
        for (PiPacketOperation op : ops) {
            sentOn.add(LinxInterpreter.unsigned(op.metadatas().iterator().next().value()));
        }
        assertEquals("only enabled ports", List.of(1L, 5L), sentOn);
    }

    @Test
    public void packetOutThroughThePipelineIsRefused() {
        try {
            interpreter.mapOutboundPacket(new DefaultOutboundPacket(DEVICE, output(PortNumber.TABLE),
                    ByteBuffer.wrap(lldpFrame(1))));
            fail("TABLE accepted");
        } catch (PiInterpreterException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("logical port"));
        }
    }

    private static PiPacketOperation packetIn(byte[] frame, byte[] port) {
        return PiPacketOperation.builder()
                .withType(PiPacketOperationType.PACKET_IN)
                .withData(ImmutableByteSequence.copyFrom(frame))
                .withMetadata(PiPacketMetadata.builder().withId(INGRESS_PORT)
                        .withValue(ImmutableByteSequence.copyFrom(port)).build())
                .build();
    }

    /** The agent sends canonical (shortest) values; ONOS 2.7 pads them; both must read as the port. */
    @Test
    public void packetInReadsTheIngressPortInAnyEncoding() throws PiInterpreterException {
        byte[] frame = lldpFrame(7);
        for (byte[] port : new byte[][]{{7}, {0, 7}}) {
            InboundPacket in = interpreter.mapInboundPacket(packetIn(frame, port), DEVICE);
            assertEquals(new ConnectPoint(DEVICE, PortNumber.portNumber(7)), in.receivedFrom());
            assertEquals(Ethernet.TYPE_LLDP, in.parsed().getEtherType());
            assertArrayEquals(frame, in.unparsed().array());
        }
        InboundPacket in = interpreter.mapInboundPacket(packetIn(frame, new byte[]{(byte) 0xff, (byte) 0xfe}), DEVICE);
        assertEquals(PortNumber.portNumber(0xfffe), in.receivedFrom().port());
    }

    @Test
    public void badPacketInsAreRefused() {
        PiPacketOperation noPort = PiPacketOperation.builder().withType(PiPacketOperationType.PACKET_IN)
                .withData(ImmutableByteSequence.copyFrom(lldpFrame(1))).build();
        PiPacketOperation runt = packetIn(new byte[]{1, 2, 3}, new byte[]{1});
        for (PiPacketOperation op : new PiPacketOperation[]{noPort, runt}) {
            try {
                interpreter.mapInboundPacket(op, DEVICE);
                fail("accepted " + op);
            } catch (PiInterpreterException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(DEVICE.toString()));
            }
        }
    }
}
