/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import org.onlab.packet.DeserializationException;
import org.onlab.packet.Ethernet;
import org.onlab.util.ImmutableByteSequence;
import org.onosproject.net.AnnotationKeys;
import org.onosproject.net.ConnectPoint;
import org.onosproject.net.DeviceId;
import org.onosproject.net.Port;
import org.onosproject.net.PortNumber;
import org.onosproject.net.device.DeviceService;
import org.onosproject.net.driver.AbstractHandlerBehaviour;
import org.onosproject.net.flow.TrafficTreatment;
import org.onosproject.net.flow.criteria.Criterion;
import org.onosproject.net.flow.instructions.Instruction;
import org.onosproject.net.flow.instructions.Instructions.OutputInstruction;
import org.onosproject.net.packet.DefaultInboundPacket;
import org.onosproject.net.packet.InboundPacket;
import org.onosproject.net.packet.OutboundPacket;
import org.onosproject.net.pi.model.PiMatchFieldId;
import org.onosproject.net.pi.model.PiPacketOperationType;
import org.onosproject.net.pi.model.PiPipelineInterpreter;
import org.onosproject.net.pi.model.PiTableId;
import org.onosproject.net.pi.runtime.PiAction;
import org.onosproject.net.pi.runtime.PiPacketMetadata;
import org.onosproject.net.pi.runtime.PiPacketOperation;
import org.slf4j.Logger;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import static org.linx.onos.LinxConstants.EGRESS_PORT;
import static org.linx.onos.LinxConstants.EGRESS_PORT_BITWIDTH;
import static org.linx.onos.LinxConstants.HDR_DSCP;
import static org.linx.onos.LinxConstants.HDR_DST_ADDR;
import static org.linx.onos.LinxConstants.HDR_ETH_TYPE;
import static org.linx.onos.LinxConstants.HDR_INGRESS_PORT;
import static org.linx.onos.LinxConstants.HDR_IP_PROTO;
import static org.linx.onos.LinxConstants.HDR_L4_DPORT;
import static org.linx.onos.LinxConstants.HDR_L4_SPORT;
import static org.linx.onos.LinxConstants.HDR_SRC_ADDR;
import static org.linx.onos.LinxConstants.HDR_SRC_ADDR6;
import static org.linx.onos.LinxConstants.HDR_DST_ADDR6;
import static org.linx.onos.LinxConstants.INGRESS_PORT;
import static org.linx.onos.LinxConstants.LINX_INGRESS_ENCAP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_NON_IP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PDR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PORT_RX_COUNTER;
import static org.slf4j.LoggerFactory.getLogger;

/**
 * Tells ONOS how its protocol-independent abstractions map onto the linx pipeline:
 * criteria to pdr/non_ip match fields, treatments to FAR (and non_ip, lbr member)
 * actions, and packet-in/packet-out to the {@code packet_in}/{@code packet_out}
 * headers. Used for flow rules that are not protocol-independent already (REST, apps
 * that bypass flow objectives) and for every packet ONOS sends or receives.
 */
public class LinxInterpreter extends AbstractHandlerBehaviour implements PiPipelineInterpreter {

    private static final Logger log = getLogger(LinxInterpreter.class);

    private static final Map<Criterion.Type, PiMatchFieldId> CRITERIA =
            ImmutableMap.<Criterion.Type, PiMatchFieldId>builder()
            .put(Criterion.Type.IN_PORT, HDR_INGRESS_PORT)
            .put(Criterion.Type.IPV4_SRC, HDR_SRC_ADDR)
            .put(Criterion.Type.IPV4_DST, HDR_DST_ADDR)
            .put(Criterion.Type.IPV6_SRC, HDR_SRC_ADDR6)
            .put(Criterion.Type.IPV6_DST, HDR_DST_ADDR6)
            .put(Criterion.Type.IP_PROTO, HDR_IP_PROTO)
            .put(Criterion.Type.TCP_SRC, HDR_L4_SPORT)
            .put(Criterion.Type.UDP_SRC, HDR_L4_SPORT)
            .put(Criterion.Type.TCP_DST, HDR_L4_DPORT)
            .put(Criterion.Type.UDP_DST, HDR_L4_DPORT)
            .put(Criterion.Type.IP_DSCP, HDR_DSCP)
            .put(Criterion.Type.ETH_TYPE, HDR_ETH_TYPE)
            .build();

    @Override
    public Optional<PiMatchFieldId> mapCriterionType(Criterion.Type type) {
        return Optional.ofNullable(CRITERIA.get(type));
    }

    /** Table 0 of single-table apps is the pdr table. */
    @Override
    public Optional<PiTableId> mapFlowRuleTableId(int flowRuleTableId) {
        return flowRuleTableId == 0 ? Optional.of(LINX_INGRESS_PDR) : Optional.empty();
    }

    @Override
    public PiAction mapTreatment(TrafficTreatment treatment, PiTableId table) throws PiInterpreterException {
        PiAction action;
        try {
            action = LinxActions.farAction(treatment);
        } catch (LinxException e) {
            throw new PiInterpreterException(e.getMessage());
        }
        if (table.equals(LINX_INGRESS_FAR)) {
            return action;
        }
        if (table.equals(LINX_INGRESS_NON_IP)) {
            if (action.equals(LinxActions.PUNT) || action.equals(LinxActions.DROP)
                    || action.equals(LinxActions.PASS)) {
                return action;
            }
            throw new PiInterpreterException("non_ip entries punt, pass or drop; got " + treatment);
        }
        if (table.equals(LINX_INGRESS_LBR)) {
            if (action.id().equals(LINX_INGRESS_ENCAP)) {
                return action; // a member of an lbr_selector group
            }
            throw new PiInterpreterException("lbr_selector members encapsulate (TUNNEL_ID); got " + treatment);
        }
        if (table.equals(LINX_INGRESS_PDR)) {
            throw new PiInterpreterException("pdr entries select a FAR: give the PI action "
                    + "LinxIngress.set_far, or use a flow objective, which creates the FAR");
        }
        throw new PiInterpreterException("table " + table + " takes only protocol-independent actions");
    }

    /**
     * The first port number that is not a physical port: the size of the
     * {@code port_rx_counter} (the agent's {@code tables.ports}, 512 by default).
     * Physical ports are 1..MAX_PORTS-1; each overlay is reported by gNMI as the
     * logical port MAX_PORTS + tunnel id, named {@code tunnel-<id>}
     * (dataplane.TunnelPort), and no frame can be sent out of one.
     */
    static final long MAX_PORTS = LinxPipeconfLoader.PIPECONF.pipelineModel()
            .counter(LINX_INGRESS_PORT_RX_COUNTER)
            .orElseThrow(() -> new IllegalStateException("p4info.txt has no " + LINX_INGRESS_PORT_RX_COUNTER))
            .size();

    private static final Pattern OVERLAY_NAME = Pattern.compile("tunnel-[0-9]+");

    /**
     * True for an overlay's logical port: a number from {@link #MAX_PORTS} up, or a
     * port gNMI named {@code tunnel-<id>}.
     *
     * @param number port number
     * @param name   the port's name annotation, or null
     * @return whether packet-outs must leave it out
     */
    static boolean isOverlayPort(long number, String name) {
        return number >= MAX_PORTS || (name != null && OVERLAY_NAME.matcher(name).matches());
    }

    /**
     * One PacketOut per output port; FLOOD and ALL become one per enabled physical
     * port of the device. linx sends a PacketOut straight out of its port, so TABLE
     * (through the pipeline) is not supported. Overlays' logical ports are skipped,
     * also when named explicitly: ONOS treats them as edge ports, so LLDP probes and
     * neighbour (ARP) flooding emit one packet per port, and the agent would refuse
     * each (nothing can be sent out of an overlay: FARs encapsulate with encap).
     */
    @Override
    public Collection<PiPacketOperation> mapOutboundPacket(OutboundPacket packet) throws PiInterpreterException {
        ImmutableList.Builder<PiPacketOperation> ops = ImmutableList.builder();
        for (Instruction inst : packet.treatment().allInstructions()) {
            if (inst.type() != Instruction.Type.OUTPUT) {
                throw new PiInterpreterException("packet-out treatments may only OUTPUT, got " + inst);
            }
            PortNumber port = ((OutputInstruction) inst).port();
            if (port.equals(PortNumber.FLOOD) || port.equals(PortNumber.ALL)) {
                DeviceService devices = handler().get(DeviceService.class);
                for (Port p : devices.getPorts(packet.sendThrough())) {
                    if (!p.number().isLogical() && p.isEnabled()
                            && !isOverlayPort(p.number().toLong(), p.annotations().value(AnnotationKeys.PORT_NAME))) {
                        ops.add(packetOut(packet.data(), p.number().toLong()));
                    }
                }
            } else if (port.isLogical()) {
                throw new PiInterpreterException("packet-out to logical port " + port + " is not supported");
            } else if (isOverlayPort(port.toLong(), null)) {
                log.debug("{}: not sending a packet-out on port {}: it is an overlay's logical port",
                        packet.sendThrough(), port);
            } else {
                ops.add(packetOut(packet.data(), port.toLong()));
            }
        }
        return ops.build();
    }

    private static PiPacketOperation packetOut(ByteBuffer data, long port) throws PiInterpreterException {
        ImmutableByteSequence value;
        try {
            value = ImmutableByteSequence.copyFrom(port).fit(EGRESS_PORT_BITWIDTH);
        } catch (ImmutableByteSequence.ByteSequenceTrimException e) {
            throw new PiInterpreterException("port " + port + " does not fit " + EGRESS_PORT_BITWIDTH + " bits");
        }
        return PiPacketOperation.builder()
                .withType(PiPacketOperationType.PACKET_OUT)
                .withData(ImmutableByteSequence.copyFrom(data.duplicate()))
                .withMetadata(PiPacketMetadata.builder().withId(EGRESS_PORT).withValue(value).build())
                .build();
    }

    @Override
    public InboundPacket mapInboundPacket(PiPacketOperation packetIn, DeviceId deviceId)
            throws PiInterpreterException {
        PiPacketMetadata port = packetIn.metadatas().stream()
                .filter(m -> m.id().equals(INGRESS_PORT))
                .findFirst()
                .orElseThrow(() -> new PiInterpreterException(
                        "packet-in from " + deviceId + " has no " + INGRESS_PORT + " metadata"));
        Ethernet eth;
        byte[] data = packetIn.data().asArray();
        try {
            eth = Ethernet.deserializer().deserialize(data, 0, data.length);
        } catch (DeserializationException e) {
            throw new PiInterpreterException("packet-in from " + deviceId + " is not an Ethernet frame: "
                    + e.getMessage());
        }
        ConnectPoint from = new ConnectPoint(deviceId, PortNumber.portNumber(unsigned(port.value())));
        return new DefaultInboundPacket(from, eth, ByteBuffer.wrap(data));
    }

    /**
     * Reads a metadata value of any length (canonical or padded) as an unsigned number.
     *
     * @param value metadata value
     * @return its value
     * @throws PiInterpreterException if it is longer than 8 bytes
     */
    static long unsigned(ImmutableByteSequence value) throws PiInterpreterException {
        byte[] b = value.asArray();
        long v = 0;
        for (byte x : b) {
            if ((v >>> 56) != 0) {
                throw new PiInterpreterException("metadata value too long: " + value);
            }
            v = (v << 8) | (x & 0xFF);
        }
        return v;
    }
}
