/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.junit.Test;
import org.onlab.packet.EthType;
import org.onlab.packet.Ip4Address;
import org.onlab.packet.IpPrefix;
import org.onlab.packet.MacAddress;
import org.onlab.packet.TpPort;
import org.onlab.packet.VlanId;
import org.onosproject.net.PortNumber;
import org.onosproject.net.flow.DefaultTrafficSelector;
import org.onosproject.net.flow.DefaultTrafficTreatment;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.criteria.Criteria;
import org.onosproject.net.flowobjective.DefaultFilteringObjective;
import org.onosproject.net.flowobjective.DefaultNextTreatment;
import org.onosproject.net.flowobjective.FilteringObjective;
import org.onosproject.net.flowobjective.ForwardingObjective;
import org.onosproject.net.flowobjective.NextObjective;
import org.onosproject.net.flowobjective.ObjectiveError;
import org.onosproject.net.group.GroupDescription;
import org.onosproject.net.pi.runtime.PiGroupKey;

import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.linx.onos.Objectives.APP;
import static org.linx.onos.Objectives.LINX_APP;
import static org.linx.onos.Objectives.forward;
import static org.linx.onos.Objectives.hashed;
import static org.linx.onos.Objectives.ipv4;
import static org.linx.onos.Objectives.next;
import static org.linx.onos.Objectives.output;
import static org.linx.onos.Objectives.packetRequest;
import static org.linx.onos.Objectives.translator;
import static org.linx.onos.Objectives.tunnel;

/** Objective in, expected P4Runtime entries out (rendered as ONOS 2.7 encodes them). */
public class ObjectiveTranslatorTest {

    private final ObjectiveTranslator translator = translator();
    private final P4RuntimeText text = new P4RuntimeText(LinxPipeconfLoader.PIPECONF.pipelineModel());

    private List<String> forwardLines(ForwardingObjective obj) throws LinxException {
        return text.translation(translator.forward(obj));
    }

    private void assertError(ObjectiveError want, String messagePart, ThrowingRunnable r) {
        try {
            r.run();
            fail("no error, want " + want);
        } catch (LinxException e) {
            assertEquals(e.getMessage(), want, e.error());
            assertTrue("message '" + e.getMessage() + "' lacks '" + messagePart + "'",
                    e.getMessage().contains(messagePart));
        }
    }

    interface ThrowingRunnable {
        void run() throws LinxException;
    }

    @Test
    public void forwardToNextSelectsTheNextsFar() throws LinxException {
        ForwardingObjective obj = forward(Objectives.branchTcp(), 40).nextStep(5).add();
        assertEquals(List.of("table LinxIngress.pdr priority 41 match dscp=0x2e&&&0x3f ingress_port=0x0001&&&0xffff"
                        + " ip_proto=0x06&&&0xff l4_dport=0x01bb..0x01bb src_addr=0x0a010000&&&0xffff0000"
                        + " action LinxIngress.set_far(far_id=0x00000005)"),
                forwardLines(obj));
        ObjectiveTranslator.Translation t = translator.forward(obj);
        assertTrue("no shared FAR for a next id", t.sharedFlowRules.isEmpty());
        FlowRule pdr = t.flowRules.get(0);
        assertEquals(APP.id(), pdr.appId());
        assertTrue(pdr.isPermanent());
    }

    @Test
    public void treatmentsBecomeSharedFars() throws LinxException {
        IpPrefix dst = IpPrefix.valueOf("192.0.2.1/32");
        String pdr = "table LinxIngress.pdr priority 11 match dst_addr=0xc0000201&&&0xffffffff action "
                + "LinxIngress.set_far(far_id=0x%08x)";
        Object[][] cases = {
            {DefaultTrafficTreatment.builder().drop().build(), ObjectiveTranslator.FAR_DROP, "LinxIngress.drop"},
            {DefaultTrafficTreatment.emptyTreatment(), ObjectiveTranslator.FAR_DROP, "LinxIngress.drop"},
            {output(PortNumber.CONTROLLER), ObjectiveTranslator.FAR_PUNT, "LinxIngress.punt"},
            {output(PortNumber.LOCAL), ObjectiveTranslator.FAR_PASS, "LinxIngress.pass"},
            {output(PortNumber.portNumber(3)), 0xF1000003L, "LinxIngress.forward(port=0x0003)"},
            {tunnel(7), 0xF2000007L, "LinxIngress.encap(tunnel_id=0x00000007)"},
        };
        for (Object[] c : cases) {
            ForwardingObjective obj = forward(ipv4().matchIPDst(dst).build(), 10)
                    .withTreatment((org.onosproject.net.flow.TrafficTreatment) c[0]).add();
            ObjectiveTranslator.Translation t = translator.forward(obj);
            long far = (Long) c[1];
            assertEquals(c[2].toString(), List.of(String.format(
                    "table LinxIngress.far shared match far_id=0x%08x action %s", far, c[2]),
                    String.format(pdr, far)), text.translation(t));
            assertEquals("shared FARs belong to the linx app", LINX_APP.id(), t.sharedFlowRules.get(0).appId());
        }
    }

    @Test
    public void portCriteriaBecomeRangesAndImplyTheProtocol() throws LinxException {
        ForwardingObjective obj = forward(ipv4().matchUdpDst(TpPort.tpPort(4789)).build(), 5).nextStep(1).add();
        assertEquals(List.of("table LinxIngress.pdr priority 6 match ip_proto=0x11&&&0xff ip_version=0x04&&&0x0f"
                        + " l4_dport=0x12b5..0x12b5"
                + " action LinxIngress.set_far(far_id=0x00000001)"), forwardLines(obj));

        // 0x1000/0xf000 covers ports 0x1000..0x1fff.
        obj = forward(DefaultTrafficSelector.builder().matchEthType((short) 0x800)
                .add(Criteria.matchTcpSrcMasked(TpPort.tpPort(0x1234), TpPort.tpPort(0xf000))).build(), 5)
                .nextStep(1).add();
        assertEquals(List.of("table LinxIngress.pdr priority 6 match ip_proto=0x06&&&0xff ip_version=0x04&&&0x0f"
                + " l4_sport=0x1000..0x1fff action LinxIngress.set_far(far_id=0x00000001)"), forwardLines(obj));
    }

    @Test
    public void badPortCriteriaAreRefused() {
        assertError(ObjectiveError.BADPARAMS, "not a prefix", () -> translator.forward(forward(
                DefaultTrafficSelector.builder().add(Criteria.matchTcpSrcMasked(TpPort.tpPort(1),
                        TpPort.tpPort(0x0f0f))).build(), 5).nextStep(1).add()));
        assertError(ObjectiveError.BADPARAMS, "contradicts", () -> translator.forward(forward(
                ipv4().matchIPProtocol((byte) 17).matchTcpDst(TpPort.tpPort(80)).build(), 5).nextStep(1).add()));
        assertError(ObjectiveError.BADPARAMS, "TCP and UDP", () -> translator.forward(forward(
                ipv4().matchTcpDst(TpPort.tpPort(80)).matchUdpSrc(TpPort.tpPort(80)).build(), 5).nextStep(1).add()));
    }

    @Test
    public void unsupportedCriteriaAndFlagsAreRefused() {
        assertError(ObjectiveError.UNSUPPORTED, "ETH_SRC", () -> translator.forward(forward(
                ipv4().matchEthSrc(MacAddress.valueOf("02:00:00:00:00:01")).build(), 5).nextStep(1).add()));
        assertError(ObjectiveError.UNSUPPORTED, "egress", () -> translator.forward(forward(
                ipv4().matchIPDst(IpPrefix.valueOf("10.0.0.0/8")).build(), 5)
                .withFlag(ForwardingObjective.Flag.EGRESS).nextStep(1).add()));
        assertError(ObjectiveError.UNSUPPORTED, "one action", () -> translator.forward(forward(
                ipv4().matchIPDst(IpPrefix.valueOf("10.0.0.0/8")).build(), 5)
                .withTreatment(DefaultTrafficTreatment.builder().setOutput(PortNumber.portNumber(1))
                        .setOutput(PortNumber.portNumber(2)).build()).add()));
        assertError(ObjectiveError.UNSUPPORTED, "rewrite", () -> translator.forward(forward(
                ipv4().matchIPDst(IpPrefix.valueOf("10.0.0.0/8")).build(), 5)
                .withTreatment(DefaultTrafficTreatment.builder()
                        .setEthDst(MacAddress.valueOf("02:00:00:00:00:01")).build()).add()));
        assertError(ObjectiveError.UNSUPPORTED, "logical port", () -> translator.forward(forward(
                ipv4().matchIPDst(IpPrefix.valueOf("10.0.0.0/8")).build(), 5)
                .withTreatment(output(PortNumber.FLOOD)).add()));
    }

    @Test
    public void packetRequestsForLinkAndHostDiscovery() throws LinxException {
        assertEquals(List.of("table LinxIngress.non_ip match eth_type=0x88cc action LinxIngress.punt"),
                forwardLines(packetRequest(DefaultTrafficSelector.builder()
                        .matchEthType(EthType.EtherType.LLDP.ethType().toShort()).build())));
        assertEquals(List.of("table LinxIngress.non_ip match eth_type=0x8942 action LinxIngress.punt"),
                forwardLines(packetRequest(DefaultTrafficSelector.builder()
                        .matchEthType(EthType.EtherType.BDDP.ethType().toShort()).build())));
        // ARP must still reach the gateway's kernel: a copy goes to ONOS.
        assertEquals(List.of("table LinxIngress.non_ip match eth_type=0x0806 action LinxIngress.copy_to_controller"),
                forwardLines(packetRequest(DefaultTrafficSelector.builder()
                        .matchEthType(EthType.EtherType.ARP.ethType().toShort()).build())));
    }

    @Test
    public void anIpv4PacketRequestCoversTheAddressSpaceInTwoHalves() throws LinxException {
        assertEquals(List.of(
                "table LinxIngress.far shared match far_id=0xf0000003 action LinxIngress.punt",
                "table LinxIngress.pdr priority 40001 match dst_addr=0x00000000&&&0x80000000"
                        + " action LinxIngress.set_far(far_id=0xf0000003)",
                "table LinxIngress.pdr priority 40001 match dst_addr=0x80000000&&&0x80000000"
                        + " action LinxIngress.set_far(far_id=0xf0000003)"),
                forwardLines(packetRequest(ipv4().build())));
    }

    @Test
    public void nonIpv4RequestsThatLinxCannotMatchAreRefused() {
        assertError(ObjectiveError.UNSUPPORTED, "EtherType alone", () -> translator.forward(packetRequest(
                DefaultTrafficSelector.builder().matchEthType(EthType.EtherType.MPLS_UNICAST.ethType().toShort())
                        .matchIPProtocol((byte) 58).build())));
        assertError(ObjectiveError.UNSUPPORTED, "every port", () -> translator.forward(packetRequest(
                DefaultTrafficSelector.builder().matchEthType(EthType.EtherType.LLDP.ethType().toShort())
                        .matchInPort(PortNumber.portNumber(1)).build())));
        assertError(ObjectiveError.UNSUPPORTED, "punted", () -> translator.forward(forward(
                DefaultTrafficSelector.builder().matchEthType(EthType.EtherType.ARP.ethType().toShort()).build(), 5)
                .withTreatment(output(PortNumber.portNumber(2))).add()));
    }

    @Test
    public void ipv6ObjectivesArePdrEntries() throws LinxException {
        short ipv6 = EthType.EtherType.IPV6.ethType().toShort();
        // Addresses imply the IP version; ports imply the protocol.
        assertEquals(List.of("table LinxIngress.pdr priority 101 match dst_addr6=0x20010db8000200000000000000000000"
                        + "&&&0xffffffffffff00000000000000000000 ip_proto=0x11&&&0xff l4_dport=0x13c4..0x13c4"
                        + " action LinxIngress.set_far(far_id=0x00000003)"),
                forwardLines(forward(DefaultTrafficSelector.builder().matchEthType(ipv6)
                        .matchIPv6Dst(IpPrefix.valueOf("2001:db8:2::/48")).matchUdpDst(TpPort.tpPort(5060)).build(), 100)
                        .nextStep(3).add()));
        // Without an address, ETH_TYPE becomes ip_version: an IPv6 rule on DSCP only.
        assertEquals(List.of("table LinxIngress.pdr priority 11 match dscp=0x2e&&&0x3f ip_version=0x06&&&0x0f"
                        + " action LinxIngress.set_far(far_id=0x00000003)"),
                forwardLines(forward(DefaultTrafficSelector.builder().matchEthType(ipv6)
                        .matchIPDscp((byte) 46).build(), 10).nextStep(3).add()));
        // A packet request for ICMPv6 (what ONOS asks for neighbour discovery):
        // punted by a pdr entry (the data path still passes NDP to the kernel).
        assertEquals(List.of("table LinxIngress.far shared match far_id=0xf0000003 action LinxIngress.punt",
                "table LinxIngress.pdr priority 40001 match ip_proto=0x3a&&&0xff ip_version=0x06&&&0x0f"
                        + " action LinxIngress.set_far(far_id=0xf0000003)"),
                forwardLines(packetRequest(DefaultTrafficSelector.builder().matchEthType(ipv6)
                        .matchIPProtocol((byte) 58).build())));
        assertError(ObjectiveError.BADPARAMS, "other IP version", () -> translator.forward(forward(
                DefaultTrafficSelector.builder().matchEthType(ipv6).matchIPDst(IpPrefix.valueOf("10.0.0.0/8")).build(), 5)
                .nextStep(1).add()));
        assertError(ObjectiveError.BADPARAMS, "IPv4 and IPv6", () -> translator.forward(forward(
                DefaultTrafficSelector.builder().matchIPDst(IpPrefix.valueOf("10.0.0.0/8"))
                        .matchIPv6Src(IpPrefix.valueOf("2001:db8::/32")).build(), 5).nextStep(1).add()));
    }

    @Test
    public void simpleNextObjectivesAreFars() throws LinxException {
        assertEquals(List.of("table LinxIngress.far match far_id=0x00000009"
                        + " action LinxIngress.encap(tunnel_id=0x00000002)"),
                text.translation(translator.next(next(9, NextObjective.Type.SIMPLE).addTreatment(tunnel(2)).add())));
        assertEquals(List.of("table LinxIngress.far match far_id=0x0000000a action LinxIngress.forward(port=0x0002)"),
                text.translation(translator.next(next(10, NextObjective.Type.SIMPLE)
                        .addTreatment(output(PortNumber.portNumber(2))).add())));
        assertError(ObjectiveError.BADPARAMS, "exactly one", () -> translator.next(next(11, NextObjective.Type.SIMPLE)
                .addTreatment(tunnel(1)).addTreatment(tunnel(2)).add()));
    }

    @Test
    public void hashedNextObjectivesAreWeightedActionProfileGroups() throws LinxException {
        NextObjective obj = hashed(7, new long[]{1, 2}, new int[]{3, 1});
        ObjectiveTranslator.Translation t = translator.next(obj);
        assertEquals(1, t.groups.size());
        GroupDescription g = t.groups.get(0);
        assertEquals(GroupDescription.Type.SELECT, g.type());
        assertEquals(new PiGroupKey(LinxConstants.LINX_INGRESS_LBR, LinxConstants.LINX_INGRESS_LBR_SELECTOR, 7),
                g.appCookie());
        // Member ids as ONOS's group translator derives them: Objects.hash(groupId, index).
        assertEquals(List.of(
                "member LinxIngress.lbr_selector 1178 action LinxIngress.encap(tunnel_id=0x00000001)",
                "member LinxIngress.lbr_selector 1179 action LinxIngress.encap(tunnel_id=0x00000002)",
                "group LinxIngress.lbr_selector 7 max_size 16 members 1178:3,1179:1",
                "table LinxIngress.lbr match lbr_id=0x00000007 group 7",
                "table LinxIngress.far match far_id=0x00000007 action LinxIngress.balance(lbr_id=0x00000007)"),
                text.translation(t));
    }

    @Test
    public void hashedNextObjectivesOnlyBalanceOverTunnels() {
        assertError(ObjectiveError.UNSUPPORTED, "TUNNEL_ID alone", () -> translator.next(
                next(3, NextObjective.Type.HASHED).addTreatment(output(PortNumber.portNumber(1))).add()));
        NextObjective.Builder big = next(4, NextObjective.Type.HASHED);
        for (int i = 0; i < 17; i++) {
            big.addTreatment(DefaultNextTreatment.of(tunnel(i + 1), 1));
        }
        assertError(ObjectiveError.BADPARAMS, "at most 16", () -> translator.next(big.add()));
        assertError(ObjectiveError.UNSUPPORTED, "replicate", () -> translator.next(
                next(5, NextObjective.Type.BROADCAST).addTreatment(tunnel(1)).add()));
        assertError(ObjectiveError.UNSUPPORTED, "HASHED", () -> translator.next(
                next(6, NextObjective.Type.FAILOVER).addTreatment(tunnel(1)).add()));
    }

    @Test
    public void admissionFiltersNeedNothing() throws LinxException {
        FilteringObjective permit = DefaultFilteringObjective.builder().permit()
                .withKey(Criteria.matchInPort(PortNumber.portNumber(1)))
                .addCondition(Criteria.matchEthDst(MacAddress.valueOf("02:00:00:00:00:01")))
                .addCondition(Criteria.matchVlanId(VlanId.NONE))
                .withPriority(10).fromApp(APP).makePermanent().add();
        ObjectiveTranslator.Translation t = translator.filter(permit);
        assertTrue(t.flowRules.isEmpty() && t.groups.isEmpty() && t.sharedFlowRules.isEmpty());
    }

    @Test
    public void filtersThatAskForWorkAreRefused() {
        assertError(ObjectiveError.UNSUPPORTED, "DENY", () -> translator.filter(DefaultFilteringObjective.builder()
                .deny().withKey(Criteria.matchInPort(PortNumber.portNumber(1)))
                .addCondition(Criteria.matchVlanId(VlanId.NONE))
                .withPriority(10).fromApp(APP).makePermanent().add()));
        assertError(ObjectiveError.UNSUPPORTED, "IPV4_DST", () -> translator.filter(DefaultFilteringObjective
                .builder().permit().withKey(Criteria.matchInPort(PortNumber.portNumber(1)))
                .addCondition(Criteria.matchIPDst(IpPrefix.valueOf(Ip4Address.valueOf("10.0.0.1"), 32)))
                .withPriority(10).fromApp(APP).makePermanent().add()));
        assertError(ObjectiveError.UNSUPPORTED, "treatments", () -> translator.filter(DefaultFilteringObjective
                .builder().permit().withKey(Criteria.matchInPort(PortNumber.portNumber(1)))
                .addCondition(Criteria.matchVlanId(VlanId.NONE))
                .withMeta(output(PortNumber.CONTROLLER))
                .withPriority(10).fromApp(APP).makePermanent().add()));
    }
}
