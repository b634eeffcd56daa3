/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onosproject.net.PortNumber;
import org.onosproject.net.flow.TrafficTreatment;
import org.onosproject.net.flow.instructions.Instruction;
import org.onosproject.net.flow.instructions.Instructions.OutputInstruction;
import org.onosproject.net.flow.instructions.L2ModificationInstruction;
import org.onosproject.net.flow.instructions.L2ModificationInstruction.ModTunnelIdInstruction;
import org.onosproject.net.flowobjective.ObjectiveError;
import org.onosproject.net.pi.runtime.PiAction;
import org.onosproject.net.pi.runtime.PiActionParam;

import java.util.List;
import java.util.stream.Collectors;

import static org.linx.onos.LinxConstants.LBR_ID;
import static org.linx.onos.LinxConstants.LINX_INGRESS_BALANCE;
import static org.linx.onos.LinxConstants.LINX_INGRESS_DROP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_ENCAP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FORWARD;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PASS;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PUNT;
import static org.linx.onos.LinxConstants.LINX_INGRESS_SET_FAR;
import static org.linx.onos.LinxConstants.FAR_ID;
import static org.linx.onos.LinxConstants.PORT;
import static org.linx.onos.LinxConstants.PORT_BITWIDTH;
import static org.linx.onos.LinxConstants.TUNNEL_ID;
import static org.linx.onos.LinxConstants.TUNNEL_ID_BITWIDTH;

/**
 * The linx actions, and the one mapping from ONOS treatments to forwarding actions
 * that both the interpreter (flow rules) and the pipeliner (objectives) use, so an
 * objective and a hand-written flow rule with the same treatment do the same thing.
 */
final class LinxActions {

    /** The data path's port numbers are 16 bits wide. */
    static final long MAX_PORT = (1L << PORT_BITWIDTH) - 1;
    /** Tunnel ids are 32 bits in P4Info (the agent also bounds them by its tunnel table size). */
    static final long MAX_TUNNEL = (1L << TUNNEL_ID_BITWIDTH) - 1;

    static final PiAction DROP = PiAction.builder().withId(LINX_INGRESS_DROP).build();
    static final PiAction PASS = PiAction.builder().withId(LINX_INGRESS_PASS).build();
    static final PiAction PUNT = PiAction.builder().withId(LINX_INGRESS_PUNT).build();

    private LinxActions() {
    }

    static PiAction setFar(long farId) {
        return PiAction.builder().withId(LINX_INGRESS_SET_FAR)
                .withParameter(new PiActionParam(FAR_ID, farId)).build();
    }

    static PiAction forward(long port) {
        return PiAction.builder().withId(LINX_INGRESS_FORWARD)
                .withParameter(new PiActionParam(PORT, port)).build();
    }

    static PiAction encap(long tunnelId) {
        return PiAction.builder().withId(LINX_INGRESS_ENCAP)
                .withParameter(new PiActionParam(TUNNEL_ID, tunnelId)).build();
    }

    static PiAction balance(long lbrId) {
        return PiAction.builder().withId(LINX_INGRESS_BALANCE)
                .withParameter(new PiActionParam(LBR_ID, lbrId)).build();
    }

    /**
     * Maps a treatment to a FAR action:
     * no instruction (or NOACTION) → drop; OUTPUT:CONTROLLER → punt; OUTPUT:LOCAL →
     * pass to the gateway's kernel; OUTPUT:&lt;port&gt; → forward unencapsulated;
     * TUNNEL_ID alone → GRE-encapsulate onto that overlay (the overlay's own port
     * carries it, so an OUTPUT beside it is refused rather than ignored).
     * Anything else (header rewrites, several outputs, FLOOD, table transitions,
     * meters) has no linx equivalent and is refused.
     *
     * @param treatment ONOS treatment
     * @return the FAR action
     * @throws LinxException UNSUPPORTED or BADPARAMS, saying why
     */
    static PiAction farAction(TrafficTreatment treatment) throws LinxException {
        if (treatment == null) {
            throw new LinxException(ObjectiveError.BADPARAMS, "no treatment");
        }
        if (treatment.tableTransition() != null || treatment.metered() != null
                || !treatment.meters().isEmpty() || treatment.writeMetadata() != null) {
            throw new LinxException(ObjectiveError.UNSUPPORTED,
                    "linx has one forwarding stage: table transitions, meters and metadata are not supported: "
                            + treatment);
        }
        List<Instruction> insts = treatment.allInstructions().stream()
                .filter(i -> i.type() != Instruction.Type.NOACTION)
                .collect(Collectors.toList());
        if (insts.isEmpty()) {
            return DROP;
        }
        if (insts.size() > 1) {
            throw new LinxException(ObjectiveError.UNSUPPORTED,
                    "linx FARs take one action (one OUTPUT, or TUNNEL_ID alone), got: " + insts);
        }
        Instruction inst = insts.get(0);
        switch (inst.type()) {
            case OUTPUT:
                return outputAction(((OutputInstruction) inst).port());
            case L2MODIFICATION:
                L2ModificationInstruction l2 = (L2ModificationInstruction) inst;
                if (l2.subtype() == L2ModificationInstruction.L2SubType.TUNNEL_ID) {
                    long tunnel = ((ModTunnelIdInstruction) l2).tunnelId();
                    if (tunnel < 0 || tunnel > MAX_TUNNEL) {
                        throw new LinxException(ObjectiveError.BADPARAMS,
                                "tunnel id " + tunnel + " does not fit 32 bits");
                    }
                    return encap(tunnel);
                }
                throw new LinxException(ObjectiveError.UNSUPPORTED,
                        "linx does not rewrite L2 headers (" + l2.subtype() + ")");
            default:
                throw new LinxException(ObjectiveError.UNSUPPORTED,
                        "instruction " + inst.type() + " has no linx equivalent");
        }
    }

    private static PiAction outputAction(PortNumber port) throws LinxException {
        if (port.equals(PortNumber.CONTROLLER)) {
            return PUNT;
        }
        if (port.equals(PortNumber.LOCAL)) {
            return PASS;
        }
        if (port.isLogical()) {
            throw new LinxException(ObjectiveError.UNSUPPORTED,
                    "output to logical port " + port + " is not supported (linx does not replicate packets)");
        }
        if (port.toLong() > MAX_PORT) {
            throw new LinxException(ObjectiveError.BADPARAMS,
                    "port " + port.toLong() + " does not fit " + PORT_BITWIDTH + " bits");
        }
        return forward(port.toLong());
    }
}
