/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli;

import org.junit.Test;
import org.onosproject.core.ApplicationId;
import org.onosproject.core.DefaultApplicationId;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.DefaultFlowRule;
import org.onosproject.net.flow.DefaultTrafficSelector;
import org.onosproject.net.flow.DefaultTrafficTreatment;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.criteria.PiCriterion;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.group.GroupDescription;
import org.onosproject.net.pi.runtime.PiActionProfileGroupId;
import org.onosproject.net.pi.runtime.PiGroupKey;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.linx.onos.LinxConstants.HDR_DSCP;
import static org.linx.onos.LinxConstants.HDR_TUNNEL_ID;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR_SELECTOR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_PDR;
import static org.linx.onos.LinxConstants.LINX_INGRESS_TUNNELS;

/**
 * The entities the shell commands build from their words, the refusals a bad word gets
 * before anything is written, and reading entities back into the commands' words.
 * (The exact P4Runtime writes of each shape: org.linx.onos.CliContractTest.)
 */
public class LinxEntriesTest {

    private static final DeviceId D = DeviceId.deviceId("device:gw-a");
    private static final ApplicationId APP = new DefaultApplicationId(9, LinxEntries.APP_NAME);

    private static List<String> w(String words) {
        return Arrays.asList(words.split(" "));
    }

    private static void refused(Runnable r, String want) {
        try {
            r.run();
            fail("accepted; want an error containing: " + want);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage() + " lacks: " + want, e.getMessage().contains(want));
        }
    }

    @Test
    public void tunnelRefusals() {
        refused(() -> LinxEntries.tunnel(D, APP, "1", w("port=2 src=172.16.1.1 dst=172.16.3.1 dscp=ef")),
                "dscp= cannot be set through P4Runtime");
        refused(() -> LinxEntries.tunnel(D, APP, "1", w("src=172.16.1.1 dst=172.16.3.1")), "tunnel: port= is required");
        refused(() -> LinxEntries.tunnel(D, APP, "1", w("port=2 src=172.16.1.1 dest=172.16.3.1")),
                "unknown key \"dest\"; keys: port, src, dst, key, dscp");
        refused(() -> LinxEntries.tunnel(D, APP, "1", w("port=2 port=3 src=172.16.1.1 dst=172.16.3.1")),
                "port is given twice");
        refused(() -> LinxEntries.tunnel(D, APP, "1", w("port=0 src=172.16.1.1 dst=172.16.3.1")), "0 is no port");
        refused(() -> LinxEntries.tunnel(D, APP, "1", w("port=2 src=172.16.1.1 dst=224.0.0.5")), "unicast");
        refused(() -> LinxEntries.tunnel(D, APP, "1", w("port=2 src=172.16.1.1 dst=172.16.1.1")),
                "src and dst are both 172.16.1.1");
        refused(() -> LinxEntries.tunnel(D, APP, "16777216", w("port=2 src=172.16.1.1 dst=172.16.3.1")),
                "tunnel id: \"16777216\" is not a number 0..16777215");
        refused(() -> LinxEntries.tunnel(D, APP, "1", w("port 2")), "\"port\" is not KEY=VALUE");
    }

    @Test
    public void farActions() {
        assertEquals("encap tunnel=1", EntryView.actionText(LinxEntries.far(D, APP, "24", w("encap tunnel=1"))));
        assertEquals("encap tunnel=1", EntryView.actionText(LinxEntries.far(D, APP, "24", w("encap 1"))));
        assertEquals("forward port=3", EntryView.actionText(LinxEntries.far(D, APP, "20", w("forward port=3"))));
        assertEquals("balance lbr=9", EntryView.actionText(LinxEntries.far(D, APP, "25", w("balance lbr=9"))));
        assertEquals("punt", EntryView.actionText(LinxEntries.far(D, APP, "23", w("PUNT"))));
        assertEquals(List.of("forward", "3", "-", "-"),
                EntryView.farColumns(LinxEntries.far(D, APP, "20", w("forward 3"))));
        refused(() -> LinxEntries.far(D, APP, "20", w("jump 3")), "\"jump\" is not an action: drop | pass");
        refused(() -> LinxEntries.far(D, APP, "20", w("drop 3")), "drop takes no parameter");
        refused(() -> LinxEntries.far(D, APP, "20", w("encap")), "encap takes one parameter, tunnel=N");
        refused(() -> LinxEntries.far(D, APP, "20", w("encap port=1")), "encap takes tunnel=, not port=1");
        refused(() -> LinxEntries.far(D, APP, "20", w("forward port=70000")), "port: \"70000\"");
        refused(() -> LinxEntries.far(D, APP, "-1", w("drop")), "far id: \"-1\"");
        refused(() -> LinxEntries.far(D, APP, "20", List.of()), "an action is required");
    }

    @Test
    public void pdrs() {
        FlowRule pdr = LinxEntries.pdr(D, APP, w("prio=100 dst=10.2.0.0/16 proto=udp dport=5060-5061 dscp=ef "
                + "dir=uplink in=1 far=10"));
        assertEquals(LINX_INGRESS_PDR, pdr.table());
        assertEquals(100, pdr.priority());
        assertEquals(List.of("100", "1", "uplink", "*", "10.2.0.0/16", "udp", "*", "5060-5061", "ef", "10"),
                EntryView.pdrColumns(pdr));
        assertEquals("prio=100 in=1 dir=uplink dst=10.2.0.0/16 proto=udp dport=5060-5061 dscp=ef far=10",
                EntryView.pdrWords(pdr));
        // what linx:pdrs prints, typed back, is the same flow rule for ONOS
        assertEquals(pdr, LinxEntries.pdr(D, APP, w(EntryView.pdrWords(pdr))));
        // wildcards are left out of the match
        FlowRule wild = LinxEntries.pdr(D, APP, w("prio=5 src=* dst=10.0.0.1 sport=0-65535 dscp=* far=1"));
        assertEquals(1, EntryView.criterion(wild).orElseThrow().fieldMatches().size());
        assertEquals("prio=5 dst=10.0.0.1 far=1", EntryView.pdrWords(wild));
        // the key ignores far=, so an add line is a remove line
        assertTrue(EntryView.sameKey(pdr, LinxEntries.pdrKey(D, APP, w("prio=100 dst=10.2.0.0/16 proto=udp "
                + "dport=5060-5061 dscp=ef dir=uplink in=1 far=99"))));
        assertFalse(EntryView.sameKey(pdr, LinxEntries.pdrKey(D, APP, w("prio=101 dst=10.2.0.0/16 proto=udp "
                + "dport=5060-5061 dscp=ef dir=uplink in=1"))));
        refused(() -> LinxEntries.pdr(D, APP, w("dst=10.2.0.0/16 far=10")), "pdr: prio= is required");
        refused(() -> LinxEntries.pdr(D, APP, w("prio=1 dst=10.2.0.0/16")), "pdr: far= is required");
        refused(() -> LinxEntries.pdr(D, APP, w("prio=65536 dst=10.2.0.0/16 far=1")), "0..65535");
        refused(() -> LinxEntries.pdr(D, APP, w("prio=1 far=1")), "give at least one field");
        refused(() -> LinxEntries.pdr(D, APP, w("prio=1 dst=10.2.3.4/16 far=1")), "did you mean 10.2.0.0/16?");
        refused(() -> LinxEntries.pdr(D, APP, w("prio=1 dscp=gold far=1")), "a DSCP name");
        refused(() -> LinxEntries.pdr(D, APP, w("prio=1 sport=2000-1000 far=1")), "LO <= HI");
    }

    @Test
    public void keysCompareByValueNotByteStrings() {
        FlowRule tunnel = LinxEntries.tunnel(D, APP, "1", w("port=2 src=172.16.1.1 dst=172.16.3.1"));
        assertTrue(EntryView.sameKey(tunnel, LinxEntries.tunnelKey(D, APP, "1")));
        assertFalse(EntryView.sameKey(tunnel, LinxEntries.tunnelKey(D, APP, "2")));
        // the same tunnel written over REST or by another app with a 4-byte value
        FlowRule rest = DefaultFlowRule.builder().forDevice(D).forTable(LINX_INGRESS_TUNNELS).fromApp(APP)
                .withPriority(0).makePermanent()
                .withSelector(DefaultTrafficSelector.builder()
                        .matchPi(PiCriterion.builder().matchExact(HDR_TUNNEL_ID, 1).build()).build())
                .withTreatment(DefaultTrafficTreatment.emptyTreatment()).build();
        assertNotEquals("ONOS's own equality tells them apart", rest, tunnel);
        assertTrue(EntryView.sameKey(rest, tunnel));
        // a pipeliner PDR (int-sized DSCP) and the command's
        FlowRule objective = DefaultFlowRule.builder().forDevice(D).forTable(LINX_INGRESS_PDR).fromApp(APP)
                .withPriority(60).makePermanent()
                .withSelector(DefaultTrafficSelector.builder()
                        .matchPi(PiCriterion.builder().matchTernary(HDR_DSCP, 46, 0x3f).build()).build())
                .withTreatment(DefaultTrafficTreatment.emptyTreatment()).build();
        assertTrue(EntryView.sameKey(objective, LinxEntries.pdrKey(D, APP, w("prio=60 dscp=ef"))));
    }

    @Test
    public void termsAndNonIp() {
        FlowRule term = LinxEntries.term(D, APP, w("src=172.16.3.1 dst=172.16.1.1 tunnel=1"));
        assertEquals("decap tunnel=1", EntryView.actionText(term));
        assertTrue(EntryView.sameKey(term, LinxEntries.termKey(D, APP, w("remote=172.16.3.1 local=172.16.1.1 key=0"))));
        refused(() -> LinxEntries.term(D, APP, w("src=172.16.3.1 dst=172.16.1.1")), "term: tunnel= is required");
        assertEquals("copy_to_controller", EntryView.actionText(LinxEntries.nonIp(D, APP, "arp", "copy")));
        refused(() -> LinxEntries.nonIp(D, APP, "0x0800", "punt"), "table pdr classifies IPv4");
        refused(() -> LinxEntries.nonIp(D, APP, "0x8100", "punt"), "VLAN tag");
        refused(() -> LinxEntries.nonIp(D, APP, "lldp", "forward"), "is not pass, drop, punt or copy_to_controller");
        refused(() -> LinxEntries.pdrDefault(D, APP, "punt"), "is not drop or pass");
        assertTrue(LinxEntries.pdrDefault(D, APP, "drop").selector().criteria().isEmpty());
    }

    @Test
    public void lbrs() {
        GroupBucket m = LinxEntries.lbrMember(1, (short) 3);
        assertEquals("1:3", EntryView.memberText(m));
        GroupDescription g = LinxEntries.lbrGroup(D, APP, 9, List.of(m));
        assertEquals(GroupDescription.Type.SELECT, g.type());
        assertEquals(Integer.valueOf(9), g.givenGroupId());
        assertEquals(new PiGroupKey(LINX_INGRESS_LBR, LINX_INGRESS_LBR_SELECTOR, 9), g.appCookie());
        FlowRule entry = LinxEntries.lbrEntry(D, APP, 9);
        assertEquals(PiActionProfileGroupId.of(9), EntryView.action(entry).orElseThrow());
        List<GroupBucket> many = new ArrayList<>();
        for (int i = 1; i <= LinxEntries.MAX_GROUP_SIZE + 1; i++) {
            many.add(LinxEntries.lbrMember(i, (short) 1));
        }
        refused(() -> LinxEntries.lbrGroup(D, APP, 9, many), "1..16 members (max_group_size), not 17");
        refused(() -> LinxEntries.lbrId("0"), "0 is not a valid ONOS group id");
        refused(() -> LinxEntries.lbrId("2147483648"), "lbr id");
        refused(() -> LinxEntries.weight("0"), "weight: \"0\" is not 1..32767");
        refused(() -> LinxEntries.weight("40000"), "weight");
    }

    @Test
    public void tablesAndColumns() {
        assertEquals(LINX_INGRESS_TUNNELS, LinxEntries.table("tunnels"));
        assertEquals(LINX_INGRESS_PDR, LinxEntries.table("LinxIngress.pdr"));
        refused(() -> LinxEntries.table("fib"), "is not one of [far, lbr, non_ip, pdr, tunnel_term, tunnels]");
        assertEquals(List.of("ID  ACTION", "10  encap", "7   drop"),
                EntryView.table(List.of("ID", "ACTION"), List.of(List.of("10", "encap"), List.of("7", "drop"))));
        assertEquals("set_gre port=2 src=172.16.1.1 dst=172.16.3.1 key=7", EntryView.actionText(
                LinxEntries.tunnel(D, APP, "1", w("port=2 src=172.16.1.1 dst=172.16.3.1 key=7"))));
    }
}
