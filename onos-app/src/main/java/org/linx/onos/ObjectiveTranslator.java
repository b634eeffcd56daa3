/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import com.google.common.collect.ImmutableList;
import org.onlab.packet.EthType;
import org.onlab.packet.IpPrefix;
import org.onlab.packet.TpPort;
import org.onosproject.core.ApplicationId;
import org.onosproject.net.DeviceId;
import org.onosproject.net.PortNumber;
import org.onosproject.net.flow.DefaultFlowRule;
import org.onosproject.net.flow.DefaultTrafficSelector;
import org.onosproject.net.flow.DefaultTrafficTreatment;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.TableId;
import org.onosproject.net.flow.TrafficTreatment;
import org.onosproject.net.flow.criteria.Criterion;
import org.onosproject.net.flow.criteria.EthTypeCriterion;
import org.onosproject.net.flow.criteria.IPCriterion;
import org.onosproject.net.flow.criteria.IPDscpCriterion;
import org.onosproject.net.flow.criteria.IPProtocolCriterion;
import org.onosproject.net.flow.criteria.PiCriterion;
import org.onosproject.net.flow.criteria.PortCriterion;
import org.onosproject.net.flow.criteria.TcpPortCriterion;
import org.onosproject.net.flow.criteria.UdpPortCriterion;
import org.onosproject.net.flowobjective.FilteringObjective;
import org.onosproject.net.flowobjective.ForwardingObjective;
import org.onosproject.net.flowobjective.NextObjective;
import org.onosproject.net.flowobjective.NextTreatment;
import org.onosproject.net.flowobjective.Objective;
import org.onosproject.net.flowobjective.ObjectiveError;
import org.onosproject.net.group.DefaultGroupBucket;
import org.onosproject.net.group.DefaultGroupDescription;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.group.GroupBuckets;
import org.onosproject.net.group.GroupDescription;
import org.onosproject.net.pi.runtime.PiAction;
import org.onosproject.net.pi.runtime.PiActionProfileGroupId;
import org.onosproject.net.pi.runtime.PiGroupKey;
import org.onosproject.net.pi.runtime.PiTableAction;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.linx.onos.LinxConstants.HDR_DSCP;
import static org.linx.onos.LinxConstants.HDR_DST_ADDR;
import static org.linx.onos.LinxConstants.HDR_ETH_TYPE;
import static org.linx.onos.LinxConstants.HDR_FAR_ID;
import static org.linx.onos.LinxConstants.HDR_INGRESS_PORT;
import static org.linx.onos.LinxConstants.HDR_IP_PROTO;
import static org.linx.onos.LinxConstants.HDR_L4_DPORT;
import static org.linx.onos.LinxConstants.HDR_L4_SPORT;
import static org.linx.onos.LinxConstants.HDR_LBR_ID;
import static org.linx.onos.LinxConstants.HDR_SRC_ADDR;
import static org.linx.onos.LinxConstants.HDR_SRC_ADDR6;
import static org.linx.onos.LinxConstants.HDR_DST_ADDR6;
import static org.linx.onos.LinxConstants.HDR_IP_VERSION;
import static org.linx.onos.LinxConstants.LINX_INGRESS_COPY_TO_CONTROLLER;
import static org.linx.onos.LinxConstants.LINX_INGRESS_ENCAP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR_SELECTOR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_NON_IP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PDR;

/**
 * Turns flow objectives into linx table entries and action-profile groups. Pure:
 * no ONOS service is called, so every translation is checked by unit tests.
 *
 * <p>The mapping (docs/onos.md explains it for operators):
 * <ul>
 * <li>forwarding objective on IPv4 fields → one {@code pdr} entry selecting a FAR:
 *     the FAR of the objective's next id, or a shared FAR for its own treatment;</li>
 * <li>forwarding objective on another EtherType (packet requests for LLDP, BDDP,
 *     ARP) → one {@code non_ip} entry; ARP is copied to the controller and still
 *     passed to the gateway's kernel, which answers it;</li>
 * <li>next objective SIMPLE → {@code far} entry {@code far_id = next id};
 *     HASHED → an {@code lbr_selector} group of weighted encap members, the
 *     {@code lbr} entry {@code lbr_id = next id} using it, and the FAR
 *     {@code far_id = next id} balancing over it;</li>
 * <li>filtering objectives that only admit traffic (PERMIT on port, MAC, VLAN or
 *     EtherType IPv4) need nothing: linx classifies every frame its ports receive.</li>
 * </ul>
 * Everything else fails with UNSUPPORTED or BADPARAMS and a message.
 */
final class ObjectiveTranslator {

    /**
     * FAR ids of forwarding objectives that carry a treatment instead of a next id.
     * They are shared by every objective with the same action and live in a range
     * next ids never reach (ONOS allocates next ids as positive ints).
     */
    static final long FAR_DROP = 0xF0000001L;
    static final long FAR_PASS = 0xF0000002L;
    static final long FAR_PUNT = 0xF0000003L;
    /** Shared FAR forwarding to port p: FAR_FORWARD_BASE | p. */
    static final long FAR_FORWARD_BASE = 0xF1000000L;
    /** Shared FAR encapsulating onto tunnel t (t &lt; 2^24): FAR_ENCAP_BASE | t. */
    static final long FAR_ENCAP_BASE = 0xF2000000L;
    private static final long MAX_SHARED_TUNNEL = (1L << 24) - 1;

    static final int ETH_TYPE_IPV4 = 0x0800;
    static final int ETH_TYPE_IPV6 = 0x86dd;
    static final int ETH_TYPE_ARP = 0x0806;

    /** Priority of entries of exact-match tables, where P4Runtime has none. */
    static final int EXACT_PRIORITY = 0;

    private static final long PORT_MASK = 0xFFFF;
    /** Mask (and value) of the upper half of the IPv4 space: x/1. */
    private static final long HALF_SPACE = 0x80000000L;
    private static final long IP_PROTO_TCP = 6;
    private static final long IP_PROTO_UDP = 17;

    /** Criteria a PERMIT filtering objective may carry: admission only, linx needs no rule. */
    private static final Set<Criterion.Type> ADMISSION_CRITERIA = EnumSet.of(
            Criterion.Type.IN_PORT, Criterion.Type.ETH_DST, Criterion.Type.ETH_DST_MASKED,
            Criterion.Type.VLAN_VID, Criterion.Type.ETH_TYPE);

    private final DeviceId deviceId;
    private final ApplicationId linxAppId;
    private final int maxGroupSize;

    /**
     * @param deviceId     device the rules are for
     * @param linxAppId    owner of the shared FARs (they outlive any one objective)
     * @param maxGroupSize members an lbr_selector group may have (P4Info max_group_size)
     */
    ObjectiveTranslator(DeviceId deviceId, ApplicationId linxAppId, int maxGroupSize) {
        this.deviceId = deviceId;
        this.linxAppId = linxAppId;
        this.maxGroupSize = maxGroupSize;
    }

    /** What an objective becomes on the device. */
    static final class Translation {
        /** Entries owned by the objective: installed with it, removed with it. */
        final List<FlowRule> flowRules;
        /** Shared FARs the entries point to: installed if absent, never removed. */
        final List<FlowRule> sharedFlowRules;
        /** Action-profile groups, installed before and removed after the flow rules. */
        final List<GroupDescription> groups;

        Translation(List<FlowRule> flowRules, List<FlowRule> sharedFlowRules, List<GroupDescription> groups) {
            this.flowRules = ImmutableList.copyOf(flowRules);
            this.sharedFlowRules = ImmutableList.copyOf(sharedFlowRules);
            this.groups = ImmutableList.copyOf(groups);
        }

        static Translation none() {
            return new Translation(List.of(), List.of(), List.of());
        }
    }

    // ------------------------------------------------------------------ filtering

    /**
     * Checks a filtering objective. linx has no admission stage: every frame on a
     * configured port is classified, so a PERMIT on admission criteria is already
     * true and needs no entry. DENY, and PERMITs that ask for treatment, are not
     * supported.
     *
     * @param obj filtering objective
     * @return an empty translation
     * @throws LinxException UNSUPPORTED, saying why
     */
    Translation filter(FilteringObjective obj) throws LinxException {
        if (obj.type() != FilteringObjective.Type.PERMIT) {
            throw new LinxException(ObjectiveError.UNSUPPORTED,
                    "linx has no L2 filtering stage: DENY is not supported; use a drop forwarding objective");
        }
        List<Criterion> all = new ArrayList<>(obj.conditions());
        if (obj.key() != null) {
            all.add(obj.key());
        }
        for (Criterion c : all) {
            if (!ADMISSION_CRITERIA.contains(c.type())) {
                throw new LinxException(ObjectiveError.UNSUPPORTED,
                        "filtering on " + c.type() + " is not supported; use a forwarding objective");
            }
            if (c.type() == Criterion.Type.ETH_TYPE && ethType((EthTypeCriterion) c) != ETH_TYPE_IPV4) {
                throw new LinxException(ObjectiveError.UNSUPPORTED,
                        "filtering on EtherType " + ((EthTypeCriterion) c).ethType()
                                + " is not supported; request packets with a forwarding objective");
            }
        }
        TrafficTreatment meta = obj.meta();
        if (meta != null && !meta.allInstructions().isEmpty()) {
            throw new LinxException(ObjectiveError.UNSUPPORTED,
                    "filtering objectives with treatments are not supported: " + meta);
        }
        return Translation.none();
    }

    // ----------------------------------------------------------------- forwarding

    /**
     * Translates a forwarding objective (ADD or REMOVE: the same entries).
     *
     * @param obj forwarding objective
     * @return its pdr or non_ip entries, and the shared FAR they select
     * @throws LinxException UNSUPPORTED or BADPARAMS, saying why
     */
    Translation forward(ForwardingObjective obj) throws LinxException {
        if (obj.flag() == ForwardingObjective.Flag.EGRESS) {
            throw new LinxException(ObjectiveError.UNSUPPORTED, "linx has no egress stage");
        }
        Integer ethType = null;
        boolean ipFields = false;
        for (Criterion c : obj.selector().criteria()) {
            if (c.type() == Criterion.Type.ETH_TYPE) {
                ethType = ethType((EthTypeCriterion) c);
            } else if (c.type() != Criterion.Type.IN_PORT) {
                ipFields = true;
            }
        }
        if (ethType != null && ethType == ETH_TYPE_IPV6 && ipFields) {
            return pdr(obj, ethType); // IPv6 by its fields; EtherType alone: the non_ip rule below
        }
        if (ethType != null && ethType != ETH_TYPE_IPV4) {
            if (ipFields) {
                throw new LinxException(ObjectiveError.UNSUPPORTED, String.format(
                        "linx classifies only IPv4 and IPv6 by L3/L4 fields; frames of EtherType 0x%04x "
                                + "are matched on their EtherType alone: %s", ethType, obj.selector()));
            }
            return nonIp(obj, ethType);
        }
        return pdr(obj, ethType);
    }

    private Translation nonIp(ForwardingObjective obj, int ethType) throws LinxException {
        if (obj.selector().getCriterion(Criterion.Type.IN_PORT) != null) {
            throw new LinxException(ObjectiveError.UNSUPPORTED,
                    "non-IPv4 rules apply to every port; IN_PORT is not supported with EtherType "
                            + String.format("0x%04x", ethType));
        }
        if (obj.nextId() != null) {
            throw new LinxException(ObjectiveError.UNSUPPORTED,
                    "non-IPv4 frames can be punted, copied, passed or dropped, not sent to next objective "
                            + obj.nextId());
        }
        PiAction action = LinxActions.farAction(obj.treatment());
        if (action.equals(LinxActions.PUNT) && ethType == ETH_TYPE_ARP) {
            // The gateway's own kernel must still see ARP: it answers for the gateway's
            // addresses and resolves the next hops the data path forwards to.
            action = PiAction.builder().withId(LINX_INGRESS_COPY_TO_CONTROLLER).build();
        } else if (!action.equals(LinxActions.PUNT) && !action.equals(LinxActions.DROP)
                && !action.equals(LinxActions.PASS)) {
            throw new LinxException(ObjectiveError.UNSUPPORTED,
                    "non-IPv4 frames can be punted (OUTPUT:CONTROLLER), passed to the kernel "
                            + "(OUTPUT:LOCAL) or dropped; got " + obj.treatment());
        }
        PiCriterion match = PiCriterion.builder().matchExact(HDR_ETH_TYPE, ethType).build();
        return new Translation(List.of(rule(obj, LINX_INGRESS_NON_IP, match, EXACT_PRIORITY, action)),
                List.of(), List.of());
    }

    private Translation pdr(ForwardingObjective obj, Integer ethType) throws LinxException {
        List<PiCriterion> matches = pdrMatches(obj, ethType);
        List<FlowRule> shared = new ArrayList<>();
        long farId;
        if (obj.nextId() != null) {
            farId = nextFarId(obj.nextId());
        } else {
            PiAction action = LinxActions.farAction(obj.treatment());
            farId = sharedFarId(action);
            shared.add(farRule(linxAppId, farId, action, true, 0));
        }
        List<FlowRule> pdrs = new ArrayList<>();
        for (PiCriterion match : matches) {
            pdrs.add(rule(obj, LINX_INGRESS_PDR, match, obj.priority(), LinxActions.setFar(farId)));
        }
        return new Translation(pdrs, shared, List.of());
    }

    /**
     * Builds the pdr key from ONOS criteria: exact values become full masks, L4 ports
     * ranges. A selector with no IPv4 field (a packet request for all IPv4) becomes two
     * entries, destinations 0.0.0.0/1 and 128.0.0.0/1: ONOS takes an entry with an
     * empty key for the table's default entry, which cannot select a FAR.
     */
    private static List<PiCriterion> pdrMatches(ForwardingObjective obj, Integer ethType) throws LinxException {
        PiCriterion.Builder b = PiCriterion.builder();
        boolean any = false;
        boolean v4Addr = false;
        boolean v6Addr = false;
        Long proto = null;
        Long l4Proto = null;
        for (Criterion c : obj.selector().criteria()) {
            switch (c.type()) {
                case ETH_TYPE:
                    break; // IPv4 or IPv6, checked by the caller: ip_version below
                case IN_PORT:
                    PortNumber port = ((PortCriterion) c).port();
                    if (port.isLogical() || port.toLong() > LinxActions.MAX_PORT) {
                        throw new LinxException(ObjectiveError.BADPARAMS, "IN_PORT " + port + " is not a linx port");
                    }
                    b.matchTernary(HDR_INGRESS_PORT, port.toLong(), PORT_MASK);
                    any = true;
                    break;
                case IPV4_SRC:
                case IPV4_DST:
                    IpPrefix prefix = ((IPCriterion) c).ip();
                    if (!prefix.isIp4()) {
                        throw new LinxException(ObjectiveError.BADPARAMS, "not an IPv4 prefix: " + prefix);
                    }
                    if (prefix.prefixLength() > 0) {
                        long addr = prefix.address().getIp4Address().toInt() & 0xFFFFFFFFL;
                        long mask = (0xFFFFFFFFL << (32 - prefix.prefixLength())) & 0xFFFFFFFFL;
                        b.matchTernary(c.type() == Criterion.Type.IPV4_SRC ? HDR_SRC_ADDR : HDR_DST_ADDR,
                                addr & mask, mask);
                        any = true;
                        v4Addr = true;
                    }
                    break;
                case IPV6_SRC:
                case IPV6_DST:
                    IpPrefix prefix6 = ((IPCriterion) c).ip();
                    if (!prefix6.isIp6()) {
                        throw new LinxException(ObjectiveError.BADPARAMS, "not an IPv6 prefix: " + prefix6);
                    }
                    if (prefix6.prefixLength() > 0) {
                        byte[] mask6 = prefixMask6(prefix6.prefixLength());
                        byte[] addr6 = prefix6.address().toOctets();
                        for (int i = 0; i < addr6.length; i++) {
                            addr6[i] &= mask6[i];
                        }
                        b.matchTernary(c.type() == Criterion.Type.IPV6_SRC ? HDR_SRC_ADDR6 : HDR_DST_ADDR6,
                                addr6, mask6);
                        any = true;
                        v6Addr = true;
                    }
                    break;
                case IP_PROTO:
                    proto = (long) (((IPProtocolCriterion) c).protocol() & 0xFF);
                    break;
                case IP_DSCP:
                    b.matchTernary(HDR_DSCP, ((IPDscpCriterion) c).ipDscp() & 0x3F, 0x3F);
                    any = true;
                    break;
                case TCP_SRC:
                case TCP_SRC_MASKED:
                case TCP_DST:
                case TCP_DST_MASKED:
                    TcpPortCriterion tcp = (TcpPortCriterion) c;
                    l4Proto = sameProto(l4Proto, IP_PROTO_TCP);
                    portRange(b, c.type() == Criterion.Type.TCP_SRC || c.type() == Criterion.Type.TCP_SRC_MASKED,
                            tcp.tcpPort(), tcp.mask());
                    any = true;
                    break;
                case UDP_SRC:
                case UDP_SRC_MASKED:
                case UDP_DST:
                case UDP_DST_MASKED:
                    UdpPortCriterion udp = (UdpPortCriterion) c;
                    l4Proto = sameProto(l4Proto, IP_PROTO_UDP);
                    portRange(b, c.type() == Criterion.Type.UDP_SRC || c.type() == Criterion.Type.UDP_SRC_MASKED,
                            udp.udpPort(), udp.mask());
                    any = true;
                    break;
                default:
                    throw new LinxException(ObjectiveError.UNSUPPORTED,
                            "the pdr table cannot match " + c.type()
                                    + " (it matches IN_PORT, IPV4_SRC/DST, IPV6_SRC/DST, IP_PROTO, TCP/UDP ports, IP_DSCP)");
            }
        }
        // A TCP or UDP port only means something for that protocol: make it explicit,
        // as OpenFlow prerequisites do, and refuse contradictions.
        if (l4Proto != null) {
            if (proto != null && !proto.equals(l4Proto)) {
                throw new LinxException(ObjectiveError.BADPARAMS,
                        "IP_PROTO " + proto + " contradicts the " + (l4Proto == IP_PROTO_TCP ? "TCP" : "UDP")
                                + " port criteria");
            }
            proto = l4Proto;
        }
        if (proto != null) {
            b.matchTernary(HDR_IP_PROTO, proto, 0xFF);
            any = true;
        }
        // The EtherType says which IP version the entry is for: explicit as
        // ip_version where no address field implies it already, so that an IPv4
        // objective on protocol or ports does not also catch IPv6 (and back).
        boolean v6 = ethType != null && ethType == ETH_TYPE_IPV6;
        if ((v6 && v4Addr) || (!v6 && ethType != null && v6Addr)) {
            throw new LinxException(ObjectiveError.BADPARAMS,
                    "address criteria of the other IP version than ETH_TYPE: " + obj.selector());
        }
        if (v4Addr && v6Addr) {
            throw new LinxException(ObjectiveError.BADPARAMS, "IPv4 and IPv6 address criteria: " + obj.selector());
        }
        if (ethType != null && any && !v4Addr && !v6Addr) {
            b.matchTernary(HDR_IP_VERSION, v6 ? 6 : 4, 0xF);
        } else if (v6 && !any) {
            b.matchTernary(HDR_IP_VERSION, 6, 0xF);
            any = true;
        }
        if (!any) {
            return List.of(
                    PiCriterion.builder().matchTernary(HDR_DST_ADDR, 0L, HALF_SPACE).build(),
                    PiCriterion.builder().matchTernary(HDR_DST_ADDR, HALF_SPACE, HALF_SPACE).build());
        }
        return List.of(b.build());
    }

    /** The mask of an IPv6 prefix of length len, 16 bytes. */
    private static byte[] prefixMask6(int len) {
        byte[] m = new byte[16];
        for (int i = 0; i < len; i++) {
            m[i / 8] |= (byte) (0x80 >>> (i % 8));
        }
        return m;
    }

    private static Long sameProto(Long have, long want) throws LinxException {
        if (have != null && have != want) {
            throw new LinxException(ObjectiveError.BADPARAMS, "TCP and UDP port criteria in one selector");
        }
        return want;
    }

    /** An exact or prefix-masked L4 port becomes the range it covers. */
    private static void portRange(PiCriterion.Builder b, boolean src, TpPort port, TpPort mask)
            throws LinxException {
        int value = port.toInt();
        int m = mask == null ? 0xFFFF : mask.toInt();
        int inverted = ~m & 0xFFFF;
        if ((inverted & (inverted + 1)) != 0) {
            throw new LinxException(ObjectiveError.BADPARAMS,
                    "L4 port mask 0x" + Integer.toHexString(m) + " is not a prefix: linx matches port ranges");
        }
        int low = value & m;
        int high = low | inverted;
        if (low == 0 && high == 0xFFFF) {
            return; // all ports: don't care
        }
        b.matchRange(src ? HDR_L4_SPORT : HDR_L4_DPORT, low, high);
    }

    /**
     * Returns the shared FAR id for an action a forwarding objective carries itself.
     *
     * @param action FAR action
     * @return FAR id in the reserved range
     * @throws LinxException BADPARAMS for a tunnel id beyond the reserved range
     */
    static long sharedFarId(PiAction action) throws LinxException {
        if (action.equals(LinxActions.DROP)) {
            return FAR_DROP;
        }
        if (action.equals(LinxActions.PASS)) {
            return FAR_PASS;
        }
        if (action.equals(LinxActions.PUNT)) {
            return FAR_PUNT;
        }
        long param = paramValue(action);
        if (action.id().equals(LINX_INGRESS_ENCAP)) {
            if (param > MAX_SHARED_TUNNEL) {
                throw new LinxException(ObjectiveError.BADPARAMS, "tunnel id " + param
                        + " is too large for a forwarding objective's own treatment; use a next objective");
            }
            return FAR_ENCAP_BASE | param;
        }
        return FAR_FORWARD_BASE | param; // forward: 16-bit port
    }

    /** The value of a one-parameter action (forward's port, encap's tunnel id). */
    private static long paramValue(PiAction action) {
        long v = 0;
        for (byte x : action.parameters().iterator().next().value().asArray()) {
            v = (v << 8) | (x & 0xFF);
        }
        return v;
    }

    // ----------------------------------------------------------------------- next

    /** @return the members an lbr_selector group may have (P4Info max_group_size) */
    int maxGroupSize() {
        return maxGroupSize;
    }

    /**
     * Translates a next objective for ADD or REMOVE (the same entries either way);
     * for ADD_TO_EXISTING and REMOVE_FROM_EXISTING of a HASHED one, the group holds
     * the buckets (overlays) to add or remove.
     *
     * @param obj next objective
     * @return its FAR, and for HASHED its lbr entry and lbr_selector group
     * @throws LinxException UNSUPPORTED or BADPARAMS, saying why
     */
    Translation next(NextObjective obj) throws LinxException {
        long id = nextFarId(obj.id());
        List<NextTreatment> treatments = new ArrayList<>(obj.nextTreatments());
        for (NextTreatment t : treatments) {
            if (t.type() != NextTreatment.Type.TREATMENT) {
                throw new LinxException(ObjectiveError.UNSUPPORTED, "chained next objectives are not supported");
            }
        }
        switch (obj.type()) {
            case SIMPLE:
                if (treatments.size() != 1) {
                    throw new LinxException(ObjectiveError.BADPARAMS,
                            "a SIMPLE next objective takes exactly one treatment, got " + treatments.size());
                }
                PiAction action = LinxActions.farAction(treatmentOf(treatments.get(0)));
                return new Translation(List.of(farRule(obj.appId(), id, action, obj.permanent(), obj.timeout())),
                        List.of(), List.of());
            case HASHED:
                return hashed(obj, id, treatments);
            case BROADCAST:
                throw new LinxException(ObjectiveError.UNSUPPORTED,
                        "linx does not replicate packets: BROADCAST next objectives are not supported");
            case FAILOVER:
                throw new LinxException(ObjectiveError.UNSUPPORTED,
                        "use HASHED: linx moves flows off overlays whose port is down by itself");
            default:
                throw new LinxException(ObjectiveError.UNSUPPORTED, "next objective type " + obj.type());
        }
    }

    private Translation hashed(NextObjective obj, long id, List<NextTreatment> treatments) throws LinxException {
        if (treatments.isEmpty()) {
            throw new LinxException(ObjectiveError.BADPARAMS, "a HASHED next objective needs at least one treatment");
        }
        if (treatments.size() > maxGroupSize) {
            throw new LinxException(ObjectiveError.BADPARAMS, "a HASHED next objective takes at most "
                    + maxGroupSize + " overlays (lbr_selector max_group_size), got " + treatments.size());
        }
        List<GroupBucket> buckets = new ArrayList<>();
        for (NextTreatment t : treatments) {
            PiAction member = LinxActions.farAction(treatmentOf(t));
            if (!member.id().equals(LINX_INGRESS_ENCAP)) {
                throw new LinxException(ObjectiveError.UNSUPPORTED,
                        "HASHED next objectives balance over GRE overlays: each treatment must be "
                                + "TUNNEL_ID alone, got " + treatmentOf(t));
            }
            if (t.weight() < 1 || t.weight() > Short.MAX_VALUE) {
                throw new LinxException(ObjectiveError.BADPARAMS, "weight " + t.weight() + " out of 1.."
                        + Short.MAX_VALUE);
            }
            buckets.add(DefaultGroupBucket.createSelectGroupBucket(
                    DefaultTrafficTreatment.builder().piTableAction(member).build(), (short) t.weight()));
        }
        int groupId = obj.id();
        GroupDescription group = new DefaultGroupDescription(deviceId, GroupDescription.Type.SELECT,
                new GroupBuckets(buckets), groupKey(groupId), groupId, obj.appId());
        PiCriterion lbrKey = PiCriterion.builder().matchExact(HDR_LBR_ID, id).build();
        FlowRule lbr = rule(obj.appId(), LINX_INGRESS_LBR, lbrKey, EXACT_PRIORITY,
                PiActionProfileGroupId.of(groupId), obj.permanent(), obj.timeout());
        FlowRule far = farRule(obj.appId(), id, LinxActions.balance(id), obj.permanent(), obj.timeout());
        return new Translation(List.of(lbr, far), List.of(), List.of(group));
    }

    /**
     * Returns the group key ONOS's group translator needs to make an lbr_selector group.
     *
     * @param nextId next objective id, also the group id
     * @return PI group key
     */
    static PiGroupKey groupKey(int nextId) {
        return new PiGroupKey(LINX_INGRESS_LBR, LINX_INGRESS_LBR_SELECTOR, nextId);
    }

    private static TrafficTreatment treatmentOf(NextTreatment t) {
        return ((org.onosproject.net.flowobjective.DefaultNextTreatment) t).treatment();
    }

    private static long nextFarId(Integer nextId) throws LinxException {
        if (nextId == null || nextId < 0) {
            throw new LinxException(ObjectiveError.BADPARAMS, "next id " + nextId + " is not a valid FAR id");
        }
        return nextId;
    }

    // ---------------------------------------------------------------------- rules

    private FlowRule farRule(ApplicationId app, long farId, PiAction action, boolean permanent, int timeout) {
        PiCriterion key = PiCriterion.builder().matchExact(HDR_FAR_ID, farId).build();
        return rule(app, LINX_INGRESS_FAR, key, EXACT_PRIORITY, action, permanent, timeout);
    }

    private FlowRule rule(ForwardingObjective obj, TableId table, PiCriterion match, int priority,
                          PiTableAction action) {
        return rule(obj.appId(), table, match, priority, action, obj.permanent(), obj.timeout());
    }

    private FlowRule rule(ApplicationId app, TableId table, PiCriterion match, int priority,
                          PiTableAction action, boolean permanent, int timeout) {
        FlowRule.Builder b = DefaultFlowRule.builder()
                .forDevice(deviceId)
                .forTable(table)
                .fromApp(app)
                .withPriority(priority)
                .withSelector(DefaultTrafficSelector.builder().matchPi(match).build())
                .withTreatment(DefaultTrafficTreatment.builder().piTableAction(action).build());
        if (permanent) {
            b.makePermanent();
        } else {
            b.makeTemporary(timeout);
        }
        return b.build();
    }

    private static int ethType(EthTypeCriterion c) {
        EthType t = c.ethType();
        return t.toShort() & 0xFFFF;
    }

    /**
     * Describes an objective for log messages.
     *
     * @param obj objective
     * @return kind, id, operation and application
     */
    static String describe(Objective obj) {
        return obj.getClass().getSimpleName() + " " + obj.id() + " (" + obj.op() + ") from " + obj.appId().name();
    }
}
