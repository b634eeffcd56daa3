/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onlab.util.ImmutableByteSequence;
import org.onosproject.core.GroupId;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.criteria.Criterion;
import org.onosproject.net.flow.criteria.PiCriterion;
import org.onosproject.net.flow.instructions.Instruction;
import org.onosproject.net.flow.instructions.PiInstruction;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.group.GroupDescription;
import org.onosproject.net.pi.model.PiActionModel;
import org.onosproject.net.pi.model.PiActionParamId;
import org.onosproject.net.pi.model.PiActionParamModel;
import org.onosproject.net.pi.model.PiMatchFieldModel;
import org.onosproject.net.pi.model.PiMatchType;
import org.onosproject.net.pi.model.PiPipelineModel;
import org.onosproject.net.pi.model.PiTableId;
import org.onosproject.net.pi.model.PiTableModel;
import org.onosproject.net.pi.runtime.PiAction;
import org.onosproject.net.pi.runtime.PiActionParam;
import org.onosproject.net.pi.runtime.PiActionProfileGroupId;
import org.onosproject.net.pi.runtime.PiExactFieldMatch;
import org.onosproject.net.pi.runtime.PiFieldMatch;
import org.onosproject.net.pi.runtime.PiGroupKey;
import org.onosproject.net.pi.runtime.PiRangeFieldMatch;
import org.onosproject.net.pi.runtime.PiTableAction;
import org.onosproject.net.pi.runtime.PiTernaryFieldMatch;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Renders what ONOS 2.7 writes to a P4Runtime device for the pipeliner's flow rules
 * and groups, in the line format of contract.txt, which the agent's Go test
 * (server/p4rtsrv/onos_app_test.go) replays. The encoding follows ONOS's own
 * translators: values fitted (padded) to the P4Info bit width and ternary values
 * masked (PiFlowRuleTranslatorImpl.typeCheckFieldMatch), priority 1 + the flow rule
 * priority on tables with ternary or range fields, member ids
 * Objects.hash(groupId, bucketIndex) and max_size = max_group_size
 * (PiGroupTranslatorImpl).
 */
final class P4RuntimeText {

    private final PiPipelineModel model;

    P4RuntimeText(PiPipelineModel model) {
        this.model = model;
    }

    List<String> translation(ObjectiveTranslator.Translation t) {
        List<String> out = new ArrayList<>();
        for (GroupDescription g : t.groups) {
            out.addAll(group(g));
        }
        for (FlowRule r : t.sharedFlowRules) {
            out.add(entry(r, true));
        }
        for (FlowRule r : t.flowRules) {
            out.add(entry(r, false));
        }
        return out;
    }

    String entry(FlowRule rule, boolean shared) {
        PiTableId tableId = (PiTableId) rule.table();
        PiTableModel table = model.table(tableId).orElseThrow();
        StringBuilder b = new StringBuilder("table ").append(tableId.id());
        PiCriterion criterion = (PiCriterion) rule.selector().getCriterion(Criterion.Type.PROTOCOL_INDEPENDENT);
        if (criterion == null && rule.selector().criteria().isEmpty()) {
            // ONOS writes a rule with an empty selector as the table's default entry (MODIFY)
            return b.append(" default ").append(action(tableAction(rule), table)).toString();
        }
        boolean prioritized = table.matchFields().stream()
                .anyMatch(f -> f.matchType() == PiMatchType.TERNARY || f.matchType() == PiMatchType.RANGE);
        if (prioritized) {
            b.append(" priority ").append(1 + rule.priority());
        }
        if (shared) {
            b.append(" shared");
        }
        b.append(" match");
        List<PiFieldMatch> matches = new ArrayList<>(criterion.fieldMatches());
        matches.sort(Comparator.comparing(m -> m.fieldId().id()));
        for (PiFieldMatch m : matches) {
            PiMatchFieldModel f = table.matchField(m.fieldId()).orElseThrow();
            b.append(' ').append(m.fieldId().id()).append('=').append(match(m, f.bitWidth()));
        }
        b.append(' ').append(action(tableAction(rule), table));
        return b.toString();
    }

    private static PiTableAction tableAction(FlowRule rule) {
        for (Instruction i : rule.treatment().allInstructions()) {
            if (i instanceof PiInstruction) {
                return ((PiInstruction) i).action();
            }
        }
        throw new IllegalArgumentException("no PI action in " + rule);
    }

    private String action(PiTableAction a, PiTableModel table) {
        if (a instanceof PiActionProfileGroupId) {
            return "group " + ((PiActionProfileGroupId) a).id();
        }
        return "action " + action((PiAction) a, table);
    }

    String action(PiAction a, PiTableModel table) {
        PiActionModel am = table.action(a.id()).orElseThrow();
        StringBuilder b = new StringBuilder(a.id().id());
        List<PiActionParam> params = new ArrayList<>(a.parameters());
        if (!params.isEmpty()) {
            // in P4Info order, as the agent reads them back (ONOS compares PI actions as maps)
            List<PiActionParamId> order = new ArrayList<>();
            am.params().forEach(pm -> order.add(pm.id()));
            params.sort(Comparator.comparing(p -> order.indexOf(p.id())));
            b.append('(');
            for (int i = 0; i < params.size(); i++) {
                PiActionParamModel pm = am.param(params.get(i).id()).orElseThrow();
                b.append(i > 0 ? "," : "").append(params.get(i).id().id()).append('=')
                        .append(hex(params.get(i).value(), pm.bitWidth()));
            }
            b.append(')');
        }
        return b.toString();
    }

    List<String> group(GroupDescription g) {
        PiGroupKey key = (PiGroupKey) g.appCookie();
        PiTableModel table = model.table(key.tableId()).orElseThrow();
        int maxSize = model.actionProfiles(key.actionProfileId()).orElseThrow().maxGroupSize();
        List<String> out = new ArrayList<>();
        StringBuilder members = new StringBuilder();
        short idx = 0;
        for (GroupBucket bucket : g.buckets().buckets()) {
            int memberId = Objects.hash(GroupId.valueOf(g.givenGroupId()), idx);
            idx++;
            PiAction a = (PiAction) ((PiInstruction) bucket.treatment().allInstructions().get(0)).action();
            out.add("member " + key.actionProfileId().id() + " " + memberId + " action " + action(a, table));
            members.append(members.length() > 0 ? "," : "").append(memberId).append(':').append(bucket.weight());
        }
        out.add("group " + key.actionProfileId().id() + " " + g.givenGroupId() + " max_size " + maxSize
                + " members " + members);
        return out;
    }

    private static String match(PiFieldMatch m, int width) {
        switch (m.type()) {
            case EXACT:
                return hex(((PiExactFieldMatch) m).value(), width);
            case TERNARY:
                PiTernaryFieldMatch t = (PiTernaryFieldMatch) m;
                ImmutableByteSequence mask = fit(t.mask(), width);
                return hex(fit(t.value(), width).bitwiseAnd(mask), width) + "&&&" + hex(mask, width);
            case RANGE:
                PiRangeFieldMatch r = (PiRangeFieldMatch) m;
                return hex(r.lowValue(), width) + ".." + hex(r.highValue(), width);
            default:
                throw new IllegalArgumentException("unexpected match " + m);
        }
    }

    private static ImmutableByteSequence fit(ImmutableByteSequence v, int width) {
        try {
            return v.fit(width);
        } catch (ImmutableByteSequence.ByteSequenceTrimException e) {
            throw new IllegalArgumentException(v + " does not fit " + width + " bits", e);
        }
    }

    private static String hex(ImmutableByteSequence v, int width) {
        StringBuilder b = new StringBuilder("0x");
        for (byte x : fit(v, width).asArray()) {
            b.append(String.format("%02x", x & 0xFF));
        }
        return b.toString();
    }
}
