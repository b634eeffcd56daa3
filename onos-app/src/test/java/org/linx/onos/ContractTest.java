/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.junit.Test;
import org.onlab.packet.EthType;
import org.onlab.packet.IpPrefix;
import org.onlab.packet.TpPort;
import org.onosproject.net.PortNumber;
import org.onosproject.net.flow.DefaultTrafficSelector;
import org.onosproject.net.flowobjective.NextObjective;
import org.onosproject.net.flowobjective.Objective;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.linx.onos.Objectives.forward;
import static org.linx.onos.Objectives.hashed;
import static org.linx.onos.Objectives.ipv4;
import static org.linx.onos.Objectives.next;
import static org.linx.onos.Objectives.output;
import static org.linx.onos.Objectives.packetRequest;
import static org.linx.onos.Objectives.translator;
import static org.linx.onos.Objectives.tunnel;

/**
 * The contract between this app and linx-agent: for each kind of objective, the
 * exact P4Runtime writes ONOS makes for it (src/test/resources/contract.txt). This
 * test proves the app produces them; the agent's test
 * server/p4rtsrv/onos_app_test.go replays the same file against the agent and
 * proves it accepts and reads them back. Regenerate after a deliberate change with
 * -Dlinx.contract.update=true and review the diff.
 */
public class ContractTest {

    static final Path CONTRACT = Paths.get("src/test/resources/contract.txt");

    /** One named objective, in the order an SD-WAN app would issue them. */
    private static Object[][] cases() {
        return new Object[][]{
            {"next-simple-encap: overlay 1 as a next objective",
                next(5, NextObjective.Type.SIMPLE).addTreatment(tunnel(1)).add()},
            {"forward-to-next: interactive TCP from branch port 1 onto next 5",
                forward(Objectives.branchTcp(), 40).nextStep(5).add()},
            {"next-simple-forward: plain forwarding to LAN port 2",
                next(6, NextObjective.Type.SIMPLE).addTreatment(output(PortNumber.portNumber(2))).add()},
            {"next-hashed: overlays 1 and 2 weighted 3:1",
                hashed(7, new long[]{1, 2}, new int[]{3, 1})},
            {"forward-to-hashed: bulk UDP to 10.2.0.0/16 balanced by next 7",
                forward(ipv4().matchIPDst(IpPrefix.valueOf("10.2.0.0/16")).matchIPProtocol((byte) 17).build(), 20)
                        .nextStep(7).add()},
            {"forward-masked-port: TCP source ports 0x1000-0x1fff to LAN port 2",
                forward(DefaultTrafficSelector.builder().matchEthType((short) 0x800)
                        .add(org.onosproject.net.flow.criteria.Criteria.matchTcpSrcMasked(
                                TpPort.tpPort(0x1000), TpPort.tpPort(0xf000))).build(), 30).nextStep(6).add()},
            {"forward-drop: block 192.0.2.1",
                forward(ipv4().matchIPDst(IpPrefix.valueOf("192.0.2.1/32")).build(), 100)
                        .withTreatment(org.onosproject.net.flow.DefaultTrafficTreatment.builder().drop().build())
                        .add()},
            {"forward-local: OSPF to the gateway's kernel",
                forward(ipv4().matchIPProtocol((byte) 89).build(), 50).withTreatment(output(PortNumber.LOCAL)).add()},
            {"forward-own-encap: DSCP 46 straight onto overlay 2",
                forward(ipv4().matchIPDscp((byte) 46).build(), 60).withTreatment(tunnel(2)).add()},
            {"forward-ipv6: UDP to 2001:db8:2::/48 onto overlay 1",
                forward(DefaultTrafficSelector.builder().matchEthType(EthType.EtherType.IPV6.ethType().toShort())
                        .matchIPv6Dst(org.onlab.packet.IpPrefix.valueOf("2001:db8:2::/48"))
                        .matchIPProtocol((byte) 17).build(), 70).withTreatment(tunnel(1)).add()},
            {"forward-ipv6-dscp: IPv6 DSCP 46 straight onto overlay 2",
                forward(DefaultTrafficSelector.builder().matchEthType(EthType.EtherType.IPV6.ethType().toShort())
                        .matchIPDscp((byte) 46).build(), 80).withTreatment(tunnel(2)).add()},
            {"packet-request-lldp: lldpprovider",
                packetRequest(DefaultTrafficSelector.builder()
                        .matchEthType(EthType.EtherType.LLDP.ethType().toShort()).build())},
            {"packet-request-bddp: lldpprovider",
                packetRequest(DefaultTrafficSelector.builder()
                        .matchEthType(EthType.EtherType.BDDP.ethType().toShort()).build())},
            {"packet-request-arp: hostprovider",
                packetRequest(DefaultTrafficSelector.builder()
                        .matchEthType(EthType.EtherType.ARP.ethType().toShort()).build())},
            {"packet-request-ipv4: a reactive app",
                packetRequest(ipv4().build())},
        };
    }

    static String render() throws LinxException {
        ObjectiveTranslator translator = translator();
        P4RuntimeText text = new P4RuntimeText(LinxPipeconfLoader.PIPECONF.pipelineModel());
        List<String> out = new ArrayList<>();
        out.add("# Generated by onos-app ContractTest (-Dlinx.contract.update=true); replayed by");
        out.add("# server/p4rtsrv/onos_app_test.go. One case per objective, in order; each line is one");
        out.add("# P4Runtime entity ONOS 2.7 writes for it (values padded to the P4Info width, pdr priority");
        out.add("# = 1 + flow priority). \"shared\" FARs are written once, by the first case that needs them.");
        for (Object[] c : cases()) {
            Objective obj = (Objective) c[1];
            ObjectiveTranslator.Translation t = obj instanceof NextObjective
                    ? translator.next((NextObjective) obj)
                    : translator.forward((org.onosproject.net.flowobjective.ForwardingObjective) obj);
            out.add("");
            out.add("case " + c[0]);
            out.addAll(text.translation(t));
        }
        return String.join("\n", out) + "\n";
    }

    @Test
    public void appWritesWhatTheAgentContractSays() throws LinxException, IOException {
        String have = render();
        if (Boolean.getBoolean("linx.contract.update")) {
            Files.write(CONTRACT, have.getBytes(StandardCharsets.UTF_8));
        }
        String want = new String(Files.readAllBytes(CONTRACT), StandardCharsets.UTF_8);
        assertEquals("contract.txt is stale (run with -Dlinx.contract.update=true and review)", want, have);
    }
}
