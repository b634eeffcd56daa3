/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli;

import org.linx.onos.LinxPipeconfLoader;
import org.onlab.util.ImmutableByteSequence;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.criteria.Criterion;
import org.onosproject.net.flow.criteria.PiCriterion;
import org.onosproject.net.flow.instructions.Instruction;
import org.onosproject.net.flow.instructions.PiInstruction;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.pi.model.PiActionModel;
import org.onosproject.net.pi.model.PiMatchFieldId;
import org.onosproject.net.pi.model.PiTableModel;
import org.onosproject.net.pi.runtime.PiAction;
import org.onosproject.net.pi.runtime.PiActionParam;
import org.onosproject.net.pi.runtime.PiActionProfileGroupId;
import org.onosproject.net.pi.runtime.PiExactFieldMatch;
import org.onosproject.net.pi.runtime.PiFieldMatch;
import org.onosproject.net.pi.runtime.PiRangeFieldMatch;
import org.onosproject.net.pi.runtime.PiTableAction;
import org.onosproject.net.pi.runtime.PiTernaryFieldMatch;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import static org.linx.onos.LinxConstants.HDR_DIRECTION;
import static org.linx.onos.LinxConstants.HDR_DSCP;
import static org.linx.onos.LinxConstants.HDR_DST_ADDR;
import static org.linx.onos.LinxConstants.HDR_INGRESS_PORT;
import static org.linx.onos.LinxConstants.HDR_IP_PROTO;
import static org.linx.onos.LinxConstants.HDR_L4_DPORT;
import static org.linx.onos.LinxConstants.HDR_L4_SPORT;
import static org.linx.onos.LinxConstants.HDR_SRC_ADDR;

/**
 * Reads the commands' entities back into linxctl's words: the PI match and action of
 * a flow rule (whoever wrote it: these commands, the pipeliner, REST) as numbers,
 * human values and aligned rows. Also decides whether two rules have the same key
 * by value rather than by byte strings.
 */
public final class EntryView {

    private EntryView() {
    }

    /**
     * An unsigned number from a byte string of any length.
     *
     * @param v the bytes
     * @return the value
     */
    public static long unsigned(ImmutableByteSequence v) {
        return new BigInteger(1, v.asArray()).longValue();
    }

    /**
     * The PI criterion of a rule, if any.
     *
     * @param rule the rule
     * @return its PI criterion
     */
    public static Optional<PiCriterion> criterion(FlowRule rule) {
        return Optional.ofNullable((PiCriterion) rule.selector().getCriterion(Criterion.Type.PROTOCOL_INDEPENDENT));
    }

    /**
     * The PI action (or action profile group) of a rule, if any.
     *
     * @param rule the rule
     * @return its PI table action
     */
    public static Optional<PiTableAction> action(FlowRule rule) {
        for (Instruction i : rule.treatment().allInstructions()) {
            if (i instanceof PiInstruction) {
                return Optional.of(((PiInstruction) i).action());
            }
        }
        return Optional.empty();
    }

    /**
     * A field's match as words: exact value, {@code V&&&M}, or {@code LO-HI}; null if the
     * field is not matched.
     *
     * @param rule  the rule
     * @param field the field
     * @return the canonical numeric text of the match, or null
     */
    public static String numeric(FlowRule rule, PiMatchFieldId field) {
        Optional<PiFieldMatch> m = criterion(rule).flatMap(c -> c.fieldMatch(field));
        if (m.isEmpty()) {
            return null;
        }
        switch (m.get().type()) {
            case EXACT:
                return Long.toString(unsigned(((PiExactFieldMatch) m.get()).value()));
            case TERNARY:
                PiTernaryFieldMatch t = (PiTernaryFieldMatch) m.get();
                long mask = unsigned(t.mask());
                return (unsigned(t.value()) & mask) + "&&&" + mask;
            case RANGE:
                PiRangeFieldMatch r = (PiRangeFieldMatch) m.get();
                return unsigned(r.lowValue()) + "-" + unsigned(r.highValue());
            default:
                return m.get().toString();
        }
    }

    /**
     * An exact field's value.
     *
     * @param rule  the rule
     * @param field the field
     * @return the value, or -1 if the field is not an exact match of the rule
     */
    public static long exact(FlowRule rule, PiMatchFieldId field) {
        return criterion(rule).flatMap(c -> c.fieldMatch(field))
                .filter(m -> m instanceof PiExactFieldMatch)
                .map(m -> unsigned(((PiExactFieldMatch) m).value()))
                .orElse(-1L);
    }

    /**
     * True when two rules are the same entry for ONOS and the device: same device,
     * table and (for tables with priorities) priority, and field matches with equal
     * values, whatever the byte strings' lengths.
     *
     * @param a a rule
     * @param b another rule
     * @return whether they have the same key
     */
    public static boolean sameKey(FlowRule a, FlowRule b) {
        if (!a.deviceId().equals(b.deviceId()) || !a.table().equals(b.table()) || a.priority() != b.priority()) {
            return false;
        }
        return matchText(a).equals(matchText(b));
    }

    private static Map<String, String> matchText(FlowRule rule) {
        Map<String, String> out = new LinkedHashMap<>();
        criterion(rule).ifPresent(c -> c.fieldMatches().stream()
                .sorted((x, y) -> x.fieldId().id().compareTo(y.fieldId().id()))
                .forEach(m -> out.put(m.fieldId().id(), numeric(rule, m.fieldId()))));
        return out;
    }

    /**
     * A PI action's parameter as a number.
     *
     * @param action the action
     * @param param  parameter name
     * @return its value, or -1 without it
     */
    public static long param(PiAction action, String param) {
        for (PiActionParam p : action.parameters()) {
            if (p.id().id().equals(param)) {
                return unsigned(p.value());
            }
        }
        return -1;
    }

    /**
     * An action in linxctl's words: {@code drop}, {@code encap tunnel=1},
     * {@code forward port=3}, {@code set_far far=20}, {@code group 7}...
     *
     * @param a the table action
     * @return the words
     */
    public static String actionText(PiTableAction a) {
        if (a instanceof PiActionProfileGroupId) {
            return "group " + ((PiActionProfileGroupId) a).id();
        }
        if (!(a instanceof PiAction)) {
            return String.valueOf(a);
        }
        PiAction action = (PiAction) a;
        String name = shortName(action.id().id());
        StringBuilder b = new StringBuilder(name);
        for (PiActionParam p : paramsInP4InfoOrder(action)) {
            b.append(' ').append(paramName(name, p.id().id())).append('=').append(paramValue(p));
        }
        return b.toString();
    }

    /** An action's parameters in P4Info order (PiAction keeps them in a hash map). */
    private static List<PiActionParam> paramsInP4InfoOrder(PiAction action) {
        List<String> order = new ArrayList<>();
        for (PiTableModel t : LinxPipeconfLoader.PIPECONF.pipelineModel().tables()) {
            Optional<PiActionModel> am = t.action(action.id());
            if (am.isPresent()) {
                am.get().params().forEach(p -> order.add(p.id().id()));
                break;
            }
        }
        List<PiActionParam> params = new ArrayList<>(action.parameters());
        params.sort(Comparator.comparingInt(p -> order.indexOf(p.id().id())));
        return params;
    }

    private static String paramName(String action, String param) {
        switch (param) {
            case "tunnel_id":
                return "tunnel";
            case "lbr_id":
                return "lbr";
            case "far_id":
                return "far";
            case "src_addr":
                return "src";
            case "dst_addr":
                return "dst";
            default:
                return param;
        }
    }

    private static String paramValue(PiActionParam p) {
        long v = unsigned(p.value());
        return p.id().id().endsWith("_addr") ? LinxValues.dotted(v) : Long.toString(v);
    }

    /**
     * A table, action or field name without its control's prefix.
     *
     * @param id a P4Info name
     * @return what follows the last dot
     */
    public static String shortName(String id) {
        return id.substring(id.lastIndexOf('.') + 1);
    }

    /**
     * The action text of a rule, or "-".
     *
     * @param rule the rule
     * @return its action in words
     */
    public static String actionText(FlowRule rule) {
        return action(rule).map(EntryView::actionText).orElse("-");
    }

    /**
     * A far entry's columns: ACTION PORT TUNNEL LBR, as {@code linxctl show far}.
     *
     * @param rule a far entry
     * @return the four columns
     */
    public static List<String> farColumns(FlowRule rule) {
        Optional<PiTableAction> a = action(rule);
        if (a.isEmpty() || !(a.get() instanceof PiAction)) {
            return List.of(a.map(String::valueOf).orElse("-"), "-", "-", "-");
        }
        PiAction action = (PiAction) a.get();
        return List.of(shortName(action.id().id()), orDash(param(action, "port")),
                orDash(param(action, "tunnel_id")), orDash(param(action, "lbr_id")));
    }

    /**
     * A pdr entry's columns, as {@code linxctl show pdr}: PRIO IN DIR SRC DST PROTO SPORT
     * DPORT DSCP FAR (PRIO is the ONOS flow priority).
     *
     * @param rule a pdr entry
     * @return the columns
     */
    public static List<String> pdrColumns(FlowRule rule) {
        List<String> out = new ArrayList<>();
        out.add(Integer.toString(rule.priority()));
        out.add(ternary(rule, HDR_INGRESS_PORT, 0xffff, v -> Long.toString(v)));
        out.add(ternary(rule, HDR_DIRECTION, 0x3, v -> LinxValues.directionName((int) v)));
        out.add(prefix(rule, HDR_SRC_ADDR));
        out.add(prefix(rule, HDR_DST_ADDR));
        out.add(ternary(rule, HDR_IP_PROTO, 0xff, v -> LinxValues.protocolName((int) v)));
        out.add(range(rule, HDR_L4_SPORT));
        out.add(range(rule, HDR_L4_DPORT));
        out.add(ternary(rule, HDR_DSCP, 0x3f, v -> LinxValues.dscpName((int) v)));
        Optional<PiTableAction> a = action(rule);
        out.add(a.filter(x -> x instanceof PiAction).map(x -> (PiAction) x)
                .map(x -> x.parameters().isEmpty() ? shortName(x.id().id()) : orDash(param(x, "far_id")))
                .orElse("-"));
        return out;
    }

    /**
     * The pdr words that re-create (or remove) the entry: {@code prio=100 dst=10.2.0.0/16 far=20}.
     *
     * @param rule a pdr entry
     * @return the words
     */
    public static String pdrWords(FlowRule rule) {
        List<String> c = pdrColumns(rule);
        String[] keys = {"prio", "in", "dir", "src", "dst", "proto", "sport", "dport", "dscp", "far"};
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < keys.length; i++) {
            if (!c.get(i).equals("*")) {
                b.append(b.length() > 0 ? " " : "").append(keys[i]).append('=').append(c.get(i));
            }
        }
        return b.toString();
    }

    private interface Namer {
        String name(long v);
    }

    private static String ternary(FlowRule rule, PiMatchFieldId field, long full, Namer namer) {
        Optional<PiFieldMatch> m = criterion(rule).flatMap(c -> c.fieldMatch(field));
        if (m.isEmpty() || !(m.get() instanceof PiTernaryFieldMatch)) {
            return "*";
        }
        PiTernaryFieldMatch t = (PiTernaryFieldMatch) m.get();
        long mask = unsigned(t.mask()) & full;
        long value = unsigned(t.value()) & mask;
        if (mask == 0) {
            return "*";
        }
        return mask == full ? namer.name(value) : String.format("0x%x&&&0x%x", value, mask);
    }

    private static String prefix(FlowRule rule, PiMatchFieldId field) {
        Optional<PiFieldMatch> m = criterion(rule).flatMap(c -> c.fieldMatch(field));
        if (m.isEmpty() || !(m.get() instanceof PiTernaryFieldMatch)) {
            return "*";
        }
        PiTernaryFieldMatch t = (PiTernaryFieldMatch) m.get();
        long mask = unsigned(t.mask()) & 0xffffffffL;
        long value = unsigned(t.value()) & mask;
        if (mask == 0) {
            return "*";
        }
        int bits = Long.bitCount(mask);
        long prefixMask = (0xffffffffL << (32 - bits)) & 0xffffffffL;
        if (mask != prefixMask) {
            return LinxValues.dotted(value) + "&&&" + LinxValues.dotted(mask);
        }
        return bits == 32 ? LinxValues.dotted(value) : LinxValues.dotted(value) + "/" + bits;
    }

    private static String range(FlowRule rule, PiMatchFieldId field) {
        Optional<PiFieldMatch> m = criterion(rule).flatMap(c -> c.fieldMatch(field));
        if (m.isEmpty() || !(m.get() instanceof PiRangeFieldMatch)) {
            return "*";
        }
        PiRangeFieldMatch r = (PiRangeFieldMatch) m.get();
        long lo = unsigned(r.lowValue());
        long hi = unsigned(r.highValue());
        if (lo == 0 && hi == 0xffff) {
            return "*";
        }
        return lo == hi ? Long.toString(lo) : lo + "-" + hi;
    }

    private static String orDash(long v) {
        return v < 0 ? "-" : Long.toString(v);
    }

    /**
     * An lbr_selector member's tunnel and weight, {@code T:W}.
     *
     * @param bucket a bucket of an lbr_selector group
     * @return tunnel:weight, or the treatment if it is not an encap member
     */
    public static String memberText(GroupBucket bucket) {
        long tunnel = memberTunnel(bucket);
        return (tunnel < 0 ? String.valueOf(bucket.treatment()) : Long.toString(tunnel)) + ":" + bucket.weight();
    }

    /**
     * The tunnel an lbr_selector member encapsulates onto.
     *
     * @param bucket a bucket
     * @return the tunnel id, or -1 if it is not an encap(tunnel) member
     */
    public static long memberTunnel(GroupBucket bucket) {
        for (Instruction i : bucket.treatment().allInstructions()) {
            if (i instanceof PiInstruction && ((PiInstruction) i).action() instanceof PiAction) {
                PiAction a = (PiAction) ((PiInstruction) i).action();
                if (shortName(a.id().id()).equals("encap")) {
                    return param(a, "tunnel_id");
                }
            }
        }
        return -1;
    }

    /**
     * Aligned columns, as linxctl prints them: each column as wide as its widest cell,
     * two spaces between columns, no trailing spaces.
     *
     * @param header the header row
     * @param rows   the rows
     * @return the lines
     */
    public static List<String> table(List<String> header, List<List<String>> rows) {
        int[] w = new int[header.size()];
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        for (List<String> r : all) {
            for (int i = 0; i < r.size() && i < w.length; i++) {
                w[i] = Math.max(w[i], Objects.toString(r.get(i)).length());
            }
        }
        List<String> out = new ArrayList<>();
        for (List<String> r : all) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < r.size() && i < w.length; i++) {
                String cell = Objects.toString(r.get(i));
                b.append(cell);
                if (i < r.size() - 1) {
                    b.append(" ".repeat(w[i] - cell.length() + 2));
                }
            }
            out.add(b.toString());
        }
        return out;
    }
}
