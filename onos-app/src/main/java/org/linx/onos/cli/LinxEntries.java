/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli;

import org.linx.onos.LinxPipeconfLoader;
import org.onosproject.core.ApplicationId;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.DefaultFlowRule;
import org.onosproject.net.flow.DefaultTrafficSelector;
import org.onosproject.net.flow.DefaultTrafficTreatment;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.TrafficSelector;
import org.onosproject.net.flow.criteria.PiCriterion;
import org.onosproject.net.group.DefaultGroupBucket;
import org.onosproject.net.group.DefaultGroupDescription;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.group.GroupBuckets;
import org.onosproject.net.group.GroupDescription;
import org.onosproject.net.pi.model.PiActionId;
import org.onosproject.net.pi.model.PiMatchFieldId;
import org.onosproject.net.pi.model.PiTableId;
import org.onosproject.net.pi.runtime.PiAction;
import org.onosproject.net.pi.runtime.PiActionParam;
import org.onosproject.net.pi.runtime.PiActionProfileGroupId;
import org.onosproject.net.pi.runtime.PiGroupKey;
import org.onosproject.net.pi.runtime.PiTableAction;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

import static org.linx.onos.LinxConstants.DST_ADDR;
import static org.linx.onos.LinxConstants.FAR_ID;
import static org.linx.onos.LinxConstants.HDR_DIRECTION;
import static org.linx.onos.LinxConstants.HDR_DSCP;
import static org.linx.onos.LinxConstants.HDR_DST_ADDR;
import static org.linx.onos.LinxConstants.HDR_ETH_TYPE;
import static org.linx.onos.LinxConstants.HDR_FAR_ID;
import static org.linx.onos.LinxConstants.HDR_GRE_KEY;
import static org.linx.onos.LinxConstants.HDR_INGRESS_PORT;
import static org.linx.onos.LinxConstants.HDR_IP_PROTO;
import static org.linx.onos.LinxConstants.HDR_L4_DPORT;
import static org.linx.onos.LinxConstants.HDR_L4_SPORT;
import static org.linx.onos.LinxConstants.HDR_LBR_ID;
import static org.linx.onos.LinxConstants.HDR_SRC_ADDR;
import static org.linx.onos.LinxConstants.HDR_TUNNEL_ID;
import static org.linx.onos.LinxConstants.KEY;
import static org.linx.onos.LinxConstants.LBR_ID;
import static org.linx.onos.LinxConstants.LINX_INGRESS_BALANCE;
import static org.linx.onos.LinxConstants.LINX_INGRESS_COPY_TO_CONTROLLER;
import static org.linx.onos.LinxConstants.LINX_INGRESS_DECAP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_DROP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_ENCAP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FAR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_FORWARD;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR_SELECTOR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_NON_IP;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PASS;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PDR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PUNT;
import static org.linx.onos.LinxConstants.LINX_INGRESS_SET_FAR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_SET_GRE;
import static org.linx.onos.LinxConstants.LINX_INGRESS_TUNNELS;
import static org.linx.onos.LinxConstants.LINX_INGRESS_TUNNEL_TERM;
import static org.linx.onos.LinxConstants.PORT;
import static org.linx.onos.LinxConstants.SRC_ADDR;
import static org.linx.onos.LinxConstants.TUNNEL_ID;

/**
 * Builds the ONOS entities the linx shell commands submit, from the commands' words:
 * flow rules with PI criteria and PI actions for tables tunnels, tunnel_term, far,
 * pdr and non_ip, and lbr_selector groups with the lbr entry that points to them.
 * Every value is checked ({@link LinxValues}) before an entity is built, so a bad
 * value throws {@link IllegalArgumentException} and nothing is written. Plain ONOS
 * API classes only (no Karaf, no services), so each shape is unit-tested.
 *
 * <p>Keys ("the same entry") follow ONOS's flow rule identity: device, table,
 * priority and selector; {@link EntryView#sameKey} compares them by value, so an
 * entry written over REST with differently sized byte strings is still found.
 */
public final class LinxEntries {

    /** Application id of the entries the commands write. */
    public static final String APP_NAME = "org.linx.onos.cli";

    /** Priority of entries of exact-match tables (ONOS ignores it for them). */
    public static final int EXACT_PRIORITY = 0;

    /** Members an lbr_selector group may have (the P4Info's max_group_size). */
    public static final int MAX_GROUP_SIZE = LinxPipeconfLoader.PIPECONF.pipelineModel()
            .actionProfiles(LINX_INGRESS_LBR_SELECTOR).orElseThrow().maxGroupSize();

    /** LBR ids are ONOS group ids as well: positive ints. */
    public static final long MAX_LBR_ID = Integer.MAX_VALUE;

    /** PDR priorities: ONOS flow rule priorities (written to P4Runtime as 1 + priority). */
    public static final int MAX_PDR_PRIORITY = FlowRule.MAX_PRIORITY;

    private LinxEntries() {
    }

    // ------------------------------------------------------------------ tunnels

    /**
     * {@code tunnel-add ID port=P src=LOCAL dst=REMOTE [key=K]}: a tunnels entry, set_gre.
     *
     * @param device device
     * @param app    application id
     * @param id     tunnel id word
     * @param words  KEY=VALUE words
     * @return the flow rule
     */
    public static FlowRule tunnel(DeviceId device, ApplicationId app, String id, List<String> words) {
        long tunnel = LinxValues.tunnelId("tunnel id", id);
        KeyValues kv = new KeyValues("tunnel", words, "port", "src|src_addr|local", "dst|dst_addr|remote",
                "key", "dscp");
        if (kv.has("dscp")) {
            throw new IllegalArgumentException("tunnel: dscp= cannot be set through P4Runtime: the linx "
                    + "pipeline's set_gre action has port, src_addr, dst_addr and key only, and the outer "
                    + "header copies the inner DSCP");
        }
        int port = LinxValues.port("port", kv.required("port"));
        long src = LinxValues.unicastIpv4("src", kv.required("src"));
        long dst = LinxValues.unicastIpv4("dst", kv.required("dst"));
        if (src == dst) {
            throw new IllegalArgumentException("tunnel: src and dst are both " + LinxValues.dotted(src));
        }
        long key = LinxValues.u32("key", kv.get("key").orElse("0"));
        PiAction gre = PiAction.builder().withId(LINX_INGRESS_SET_GRE)
                .withParameter(new PiActionParam(PORT, port))
                .withParameter(new PiActionParam(SRC_ADDR, src))
                .withParameter(new PiActionParam(DST_ADDR, dst))
                .withParameter(new PiActionParam(KEY, key))
                .build();
        return rule(device, app, LINX_INGRESS_TUNNELS, tunnelMatch(tunnel), EXACT_PRIORITY, gre);
    }

    /**
     * The key of tunnel ID (for remove and look-ups).
     *
     * @param device device
     * @param app    application id
     * @param id     tunnel id word
     * @return a rule with the key and no action
     */
    public static FlowRule tunnelKey(DeviceId device, ApplicationId app, String id) {
        return key(device, app, LINX_INGRESS_TUNNELS, tunnelMatch(LinxValues.tunnelId("tunnel id", id)),
                EXACT_PRIORITY);
    }

    private static PiCriterion tunnelMatch(long tunnel) {
        return PiCriterion.builder().matchExact(HDR_TUNNEL_ID, tunnel).build();
    }

    // ------------------------------------------------------------- terminations

    /**
     * {@code term-add src=REMOTE dst=LOCAL [key=K] tunnel=T}: a tunnel_term entry, decap(T).
     *
     * @param device device
     * @param app    application id
     * @param words  KEY=VALUE words
     * @return the flow rule
     */
    public static FlowRule term(DeviceId device, ApplicationId app, List<String> words) {
        KeyValues kv = termWords(words);
        long tunnel = LinxValues.tunnelId("tunnel", kv.required("tunnel"));
        PiAction decap = PiAction.builder().withId(LINX_INGRESS_DECAP)
                .withParameter(new PiActionParam(TUNNEL_ID, tunnel)).build();
        return rule(device, app, LINX_INGRESS_TUNNEL_TERM, termMatch(kv), EXACT_PRIORITY, decap);
    }

    /**
     * The key of a termination: {@code src=REMOTE dst=LOCAL [key=K]} ({@code tunnel=} is
     * accepted and ignored, so an add line becomes a remove line by its verb).
     *
     * @param device device
     * @param app    application id
     * @param words  KEY=VALUE words
     * @return a rule with the key and no action
     */
    public static FlowRule termKey(DeviceId device, ApplicationId app, List<String> words) {
        return key(device, app, LINX_INGRESS_TUNNEL_TERM, termMatch(termWords(words)), EXACT_PRIORITY);
    }

    private static KeyValues termWords(List<String> words) {
        return new KeyValues("term", words, "src|src_addr|remote", "dst|dst_addr|local", "key|gre_key",
                "tunnel|tunnel_id");
    }

    private static PiCriterion termMatch(KeyValues kv) {
        long src = LinxValues.unicastIpv4("src", kv.required("src"));
        long dst = LinxValues.unicastIpv4("dst", kv.required("dst"));
        long key = LinxValues.u32("key", kv.get("key").orElse("0"));
        return PiCriterion.builder()
                .matchExact(HDR_SRC_ADDR, src)
                .matchExact(HDR_DST_ADDR, dst)
                .matchExact(HDR_GRE_KEY, key)
                .build();
    }

    // --------------------------------------------------------------------- FARs

    /**
     * {@code far-add ID ACTION}: ACTION is {@code drop}, {@code pass}, {@code punt},
     * {@code forward port=P}, {@code encap tunnel=T} or {@code balance lbr=L}; the
     * parameter may also be given bare ({@code encap 1}).
     *
     * @param device device
     * @param app    application id
     * @param id     FAR id word
     * @param action the action words
     * @return the flow rule
     */
    public static FlowRule far(DeviceId device, ApplicationId app, String id, List<String> action) {
        long far = LinxValues.u32("far id", id);
        return rule(device, app, LINX_INGRESS_FAR, farMatch(far), EXACT_PRIORITY, farAction(action));
    }

    /**
     * The key of FAR ID.
     *
     * @param device device
     * @param app    application id
     * @param id     FAR id word
     * @return a rule with the key and no action
     */
    public static FlowRule farKey(DeviceId device, ApplicationId app, String id) {
        return key(device, app, LINX_INGRESS_FAR, farMatch(LinxValues.u32("far id", id)), EXACT_PRIORITY);
    }

    private static PiCriterion farMatch(long far) {
        return PiCriterion.builder().matchExact(HDR_FAR_ID, far).build();
    }

    /**
     * The FAR action of the action words.
     *
     * @param words ACTION [PARAM=VALUE | VALUE]
     * @return the PI action
     */
    public static PiAction farAction(List<String> words) {
        if (words == null || words.isEmpty()) {
            throw new IllegalArgumentException("far: an action is required: " + FAR_ACTIONS);
        }
        String name = words.get(0).toLowerCase(Locale.ROOT);
        List<String> rest = words.subList(1, words.size());
        switch (name) {
            case "drop":
                return noParams(name, rest, LINX_INGRESS_DROP);
            case "pass":
                return noParams(name, rest, LINX_INGRESS_PASS);
            case "punt":
                return noParams(name, rest, LINX_INGRESS_PUNT);
            case "forward":
                return PiAction.builder().withId(LINX_INGRESS_FORWARD).withParameter(new PiActionParam(PORT,
                        LinxValues.port("port", oneParam(name, rest, "port")))).build();
            case "encap":
                return PiAction.builder().withId(LINX_INGRESS_ENCAP).withParameter(new PiActionParam(TUNNEL_ID,
                        LinxValues.tunnelId("tunnel", oneParam(name, rest, "tunnel")))).build();
            case "balance":
                return PiAction.builder().withId(LINX_INGRESS_BALANCE).withParameter(new PiActionParam(LBR_ID,
                        LinxValues.number("lbr", oneParam(name, rest, "lbr"), MAX_LBR_ID))).build();
            default:
                throw new IllegalArgumentException("far: \"" + words.get(0) + "\" is not an action: " + FAR_ACTIONS);
        }
    }

    /** The FAR actions, as the commands take them. */
    public static final String FAR_ACTIONS =
            "drop | pass | punt | forward port=P | encap tunnel=T | balance lbr=L";

    private static PiAction noParams(String name, List<String> rest, PiActionId id) {
        if (!rest.isEmpty()) {
            throw new IllegalArgumentException("far: " + name + " takes no parameter, got " + rest);
        }
        return PiAction.builder().withId(id).build();
    }

    private static String oneParam(String action, List<String> rest, String key) {
        if (rest.size() != 1) {
            throw new IllegalArgumentException("far: " + action + " takes one parameter, " + key + "=N");
        }
        String w = rest.get(0);
        int eq = w.indexOf('=');
        if (eq < 0) {
            return w;
        }
        String k = w.substring(0, eq).toLowerCase(Locale.ROOT);
        if (!k.equals(key) && !(key + "_id").equals(k)) {
            throw new IllegalArgumentException("far: " + action + " takes " + key + "=, not " + w);
        }
        return w.substring(eq + 1);
    }

    // --------------------------------------------------------------------- PDRs

    private static final String[] PDR_KEYS = {"prio|priority", "in|in_port|ingress_port", "dir|direction",
        "src|src_addr", "dst|dst_addr", "proto|ip_proto|protocol", "sport|l4_sport", "dport|l4_dport", "dscp",
        "far|far_id"};

    /**
     * {@code pdr-add prio=N [in=] [dir=] [src=] [dst=] [proto=] [sport=] [dport=] [dscp=] far=ID}:
     * a pdr entry selecting FAR ID; fields left out (or *) are wildcards.
     *
     * @param device device
     * @param app    application id
     * @param words  KEY=VALUE words
     * @return the flow rule
     */
    public static FlowRule pdr(DeviceId device, ApplicationId app, List<String> words) {
        KeyValues kv = new KeyValues("pdr", words, PDR_KEYS);
        long far = LinxValues.u32("far", kv.required("far"));
        PiAction setFar = PiAction.builder().withId(LINX_INGRESS_SET_FAR)
                .withParameter(new PiActionParam(FAR_ID, far)).build();
        return rule(device, app, LINX_INGRESS_PDR, pdrMatch(kv), pdrPriority(kv), setFar);
    }

    /**
     * The key of a PDR: its priority and match ({@code far=} accepted and ignored).
     *
     * @param device device
     * @param app    application id
     * @param words  KEY=VALUE words
     * @return a rule with the key and no action
     */
    public static FlowRule pdrKey(DeviceId device, ApplicationId app, List<String> words) {
        KeyValues kv = new KeyValues("pdr", words, PDR_KEYS);
        return key(device, app, LINX_INGRESS_PDR, pdrMatch(kv), pdrPriority(kv));
    }

    private static int pdrPriority(KeyValues kv) {
        return (int) LinxValues.number("prio", kv.required("prio"), MAX_PDR_PRIORITY);
    }

    private static PiCriterion pdrMatch(KeyValues kv) {
        PiCriterion.Builder b = PiCriterion.builder();
        int fields = 0;
        fields += ternary(b, HDR_INGRESS_PORT, kv.get("in").map(v -> LinxValues.inPort("in", v)));
        fields += ternary(b, HDR_DIRECTION, kv.get("dir").map(v -> LinxValues.direction("dir", v)));
        fields += ternary(b, HDR_SRC_ADDR, kv.get("src").map(v -> LinxValues.prefix("src", v)));
        fields += ternary(b, HDR_DST_ADDR, kv.get("dst").map(v -> LinxValues.prefix("dst", v)));
        fields += ternary(b, HDR_IP_PROTO, kv.get("proto").map(v -> LinxValues.protocol("proto", v)));
        fields += range(b, HDR_L4_SPORT, kv.get("sport").map(v -> LinxValues.portRange("sport", v)));
        fields += range(b, HDR_L4_DPORT, kv.get("dport").map(v -> LinxValues.portRange("dport", v)));
        fields += ternary(b, HDR_DSCP, kv.get("dscp").map(v -> LinxValues.dscp("dscp", v)));
        if (fields == 0) {
            // ONOS takes a PI criterion with no field for the table's default entry.
            // A PDR matching everything is the half-space pair the pipeliner uses.
            throw new IllegalArgumentException("pdr: give at least one field (in, dir, src, dst, proto, sport, "
                    + "dport, dscp); to match everything, use dst=0.0.0.0/1 and dst=128.0.0.0/1, or set the "
                    + "default action with linx:pdr-default");
        }
        return b.build();
    }

    private static int ternary(PiCriterion.Builder b, PiMatchFieldId field,
                               Optional<LinxValues.Ternary> t) {
        if (t.isEmpty() || t.get().isWildcard()) {
            return 0;
        }
        b.matchTernary(field, t.get().value, t.get().mask);
        return 1;
    }

    private static int range(PiCriterion.Builder b, PiMatchFieldId field,
                             Optional<LinxValues.PortRange> r) {
        if (r.isEmpty() || r.get().isWildcard()) {
            return 0;
        }
        b.matchRange(field, r.get().lo, r.get().hi);
        return 1;
    }

    /**
     * {@code pdr-default drop|pass}: what packets matching no PDR get (the pdr table's
     * default entry, which ONOS writes as a MODIFY of the default action).
     *
     * @param device device
     * @param app    application id
     * @param action drop or pass
     * @return the flow rule with an empty selector
     */
    public static FlowRule pdrDefault(DeviceId device, ApplicationId app, String action) {
        String a = action.toLowerCase(Locale.ROOT);
        PiAction pi;
        if (a.equals("drop")) {
            pi = PiAction.builder().withId(LINX_INGRESS_DROP).build();
        } else if (a.equals("pass")) {
            pi = PiAction.builder().withId(LINX_INGRESS_PASS).build();
        } else {
            throw new IllegalArgumentException("pdr default: \"" + action + "\" is not drop or pass");
        }
        return DefaultFlowRule.builder().forDevice(device).forTable(LINX_INGRESS_PDR).fromApp(app)
                .withPriority(EXACT_PRIORITY).makePermanent()
                .withSelector(DefaultTrafficSelector.emptySelector())
                .withTreatment(DefaultTrafficTreatment.builder().piTableAction(pi).build())
                .build();
    }

    // ------------------------------------------------------------------- non_ip

    /**
     * {@code nonip-add ETHTYPE pass|drop|punt|copy_to_controller}: a non_ip entry.
     *
     * @param device  device
     * @param app     application id
     * @param ethType EtherType word
     * @param action  action word
     * @return the flow rule
     */
    public static FlowRule nonIp(DeviceId device, ApplicationId app, String ethType, String action) {
        PiAction pi;
        switch (action.toLowerCase(Locale.ROOT)) {
            case "pass":
                pi = PiAction.builder().withId(LINX_INGRESS_PASS).build();
                break;
            case "drop":
                pi = PiAction.builder().withId(LINX_INGRESS_DROP).build();
                break;
            case "punt":
                pi = PiAction.builder().withId(LINX_INGRESS_PUNT).build();
                break;
            case "copy":
            case "copy_to_controller":
                pi = PiAction.builder().withId(LINX_INGRESS_COPY_TO_CONTROLLER).build();
                break;
            default:
                throw new IllegalArgumentException("nonip: \"" + action
                        + "\" is not pass, drop, punt or copy_to_controller");
        }
        return rule(device, app, LINX_INGRESS_NON_IP, nonIpMatch(ethType), EXACT_PRIORITY, pi);
    }

    /**
     * The key of the non_ip entry of an EtherType.
     *
     * @param device  device
     * @param app     application id
     * @param ethType EtherType word
     * @return a rule with the key and no action
     */
    public static FlowRule nonIpKey(DeviceId device, ApplicationId app, String ethType) {
        return key(device, app, LINX_INGRESS_NON_IP, nonIpMatch(ethType), EXACT_PRIORITY);
    }

    private static PiCriterion nonIpMatch(String ethType) {
        return PiCriterion.builder().matchExact(HDR_ETH_TYPE, LinxValues.ethType("eth_type", ethType)).build();
    }

    // --------------------------------------------------------------------- LBRs

    /**
     * An LBR id word: 1..2^31-1 (it is also the ONOS group id).
     *
     * @param s the word
     * @return the id
     */
    public static int lbrId(String s) {
        long v = LinxValues.number("lbr id", s, MAX_LBR_ID);
        if (v == 0) {
            throw new IllegalArgumentException("lbr id: \"" + s + "\" is not 1.." + MAX_LBR_ID
                    + " (0 is not a valid ONOS group id)");
        }
        return (int) v;
    }

    /**
     * A member weight word: 1..32767 (ONOS bucket weights are shorts).
     *
     * @param s the word
     * @return the weight
     */
    public static short weight(String s) {
        long v = LinxValues.number("weight", s, Short.MAX_VALUE);
        if (v == 0) {
            throw new IllegalArgumentException("weight: \"" + s + "\" is not 1.." + Short.MAX_VALUE);
        }
        return (short) v;
    }

    /**
     * The group key ONOS's PI group translator needs for LBR L's lbr_selector group.
     *
     * @param lbr LBR id, also the group id
     * @return the PI group key
     */
    public static PiGroupKey lbrGroupKey(int lbr) {
        return new PiGroupKey(LINX_INGRESS_LBR, LINX_INGRESS_LBR_SELECTOR, lbr);
    }

    /**
     * One member of an LBR: encap(tunnel) with a weight.
     *
     * @param tunnel tunnel id
     * @param weight weight
     * @return the select bucket
     */
    public static GroupBucket lbrMember(long tunnel, short weight) {
        PiAction encap = PiAction.builder().withId(LINX_INGRESS_ENCAP)
                .withParameter(new PiActionParam(TUNNEL_ID, tunnel)).build();
        return DefaultGroupBucket.createSelectGroupBucket(
                DefaultTrafficTreatment.builder().piTableAction(encap).build(), weight);
    }

    /**
     * The lbr_selector group of LBR L with its members.
     *
     * @param device  device
     * @param app     application id
     * @param lbr     LBR id, also the group id
     * @param members the buckets
     * @return the group description
     */
    public static GroupDescription lbrGroup(DeviceId device, ApplicationId app, int lbr, List<GroupBucket> members) {
        if (members.isEmpty() || members.size() > MAX_GROUP_SIZE) {
            throw new IllegalArgumentException("lbr " + lbr + ": an lbr_selector group has 1.." + MAX_GROUP_SIZE
                    + " members (max_group_size), not " + members.size());
        }
        return new DefaultGroupDescription(device, GroupDescription.Type.SELECT, new GroupBuckets(members),
                lbrGroupKey(lbr), lbr, app);
    }

    /**
     * The lbr entry of LBR L, pointing to group L.
     *
     * @param device device
     * @param app    application id
     * @param lbr    LBR id
     * @return the flow rule
     */
    public static FlowRule lbrEntry(DeviceId device, ApplicationId app, int lbr) {
        return rule(device, app, LINX_INGRESS_LBR, PiCriterion.builder().matchExact(HDR_LBR_ID, (long) lbr).build(),
                EXACT_PRIORITY, PiActionProfileGroupId.of(lbr));
    }

    // ------------------------------------------------------------------- tables

    /** The pipeline's tables by short name, as linxctl names them. */
    public static final Map<String, PiTableId> TABLES = Map.of(
            "pdr", LINX_INGRESS_PDR, "far", LINX_INGRESS_FAR, "lbr", LINX_INGRESS_LBR,
            "tunnels", LINX_INGRESS_TUNNELS, "tunnel_term", LINX_INGRESS_TUNNEL_TERM, "non_ip", LINX_INGRESS_NON_IP);

    /**
     * A table by short name (pdr) or P4Info name (LinxIngress.pdr).
     *
     * @param name the name
     * @return the table id
     */
    public static PiTableId table(String name) {
        String n = name.trim();
        for (PiTableId t : TABLES.values()) {
            if (t.id().equals(n)) {
                return t;
            }
        }
        PiTableId t = TABLES.get(n.toLowerCase(Locale.ROOT));
        if (t == null) {
            throw new IllegalArgumentException("table: \"" + name + "\" is not one of "
                    + new TreeSet<>(TABLES.keySet()));
        }
        return t;
    }

    // -------------------------------------------------------------------- rules

    static FlowRule rule(DeviceId device, ApplicationId app, PiTableId table, PiCriterion match, int priority,
                         PiTableAction action) {
        return DefaultFlowRule.builder()
                .forDevice(device)
                .forTable(table)
                .fromApp(app)
                .withPriority(priority)
                .makePermanent()
                .withSelector(selector(match))
                .withTreatment(DefaultTrafficTreatment.builder().piTableAction(action).build())
                .build();
    }

    private static FlowRule key(DeviceId device, ApplicationId app, PiTableId table, PiCriterion match,
                                int priority) {
        return DefaultFlowRule.builder()
                .forDevice(device)
                .forTable(table)
                .fromApp(app)
                .withPriority(priority)
                .makePermanent()
                .withSelector(selector(match))
                .withTreatment(DefaultTrafficTreatment.emptyTreatment())
                .build();
    }

    private static TrafficSelector selector(PiCriterion match) {
        return DefaultTrafficSelector.builder().matchPi(match).build();
    }
}
