/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onlab.packet.EthType;
import org.onlab.packet.IpPrefix;
import org.onlab.packet.TpPort;
import org.onosproject.core.ApplicationId;
import org.onosproject.core.DefaultApplicationId;
import org.onosproject.net.DeviceId;
import org.onosproject.net.PortNumber;
import org.onosproject.net.flow.DefaultTrafficSelector;
import org.onosproject.net.flow.DefaultTrafficTreatment;
import org.onosproject.net.flow.TrafficSelector;
import org.onosproject.net.flow.TrafficTreatment;
import org.onosproject.net.flowobjective.DefaultForwardingObjective;
import org.onosproject.net.flowobjective.DefaultNextObjective;
import org.onosproject.net.flowobjective.DefaultNextTreatment;
import org.onosproject.net.flowobjective.ForwardingObjective;
import org.onosproject.net.flowobjective.NextObjective;

/** Objectives as stock ONOS apps build them, shared by the tests. */
final class Objectives {

    static final DeviceId DEVICE = DeviceId.deviceId("device:linx1");
    static final ApplicationId APP = new DefaultApplicationId(7, "org.example.sdwan");
    static final ApplicationId LINX_APP = new DefaultApplicationId(8, LinxPipeconfLoader.APP_NAME);
    static final int MAX_GROUP_SIZE = 16;

    private Objectives() {
    }

    static ObjectiveTranslator translator() {
        return new ObjectiveTranslator(DEVICE, LINX_APP, MAX_GROUP_SIZE);
    }

    static TrafficSelector.Builder ipv4() {
        return DefaultTrafficSelector.builder().matchEthType(EthType.EtherType.IPV4.ethType().toShort());
    }

    static TrafficTreatment tunnel(long id) {
        return DefaultTrafficTreatment.builder().setTunnelId(id).build();
    }

    static TrafficTreatment output(PortNumber port) {
        return DefaultTrafficTreatment.builder().setOutput(port).build();
    }

    /**
     * Returns what PacketManager.requestPackets sends for a packet request (CONTROL priority 40000).
     *
     * @param selector packets to request
     * @return the forwarding objective
     */
    static ForwardingObjective packetRequest(TrafficSelector selector) {
        return DefaultForwardingObjective.builder()
                .withSelector(selector)
                .withTreatment(DefaultTrafficTreatment.builder().punt().wipeDeferred().build())
                .withPriority(40000)
                .withFlag(ForwardingObjective.Flag.VERSATILE)
                .fromApp(APP)
                .makePermanent()
                .add();
    }

    static ForwardingObjective.Builder forward(TrafficSelector selector, int priority) {
        return DefaultForwardingObjective.builder()
                .withSelector(selector)
                .withPriority(priority)
                .withFlag(ForwardingObjective.Flag.VERSATILE)
                .fromApp(APP)
                .makePermanent();
    }

    static NextObjective.Builder next(int id, NextObjective.Type type) {
        return DefaultNextObjective.builder().withId(id).withType(type).fromApp(APP).makePermanent();
    }

    static NextObjective hashed(int id, long[] tunnels, int[] weights) {
        NextObjective.Builder b = next(id, NextObjective.Type.HASHED);
        for (int i = 0; i < tunnels.length; i++) {
            b.addTreatment(DefaultNextTreatment.of(tunnel(tunnels[i]), weights[i]));
        }
        return b.add();
    }

    /**
     * Returns the TCP selector of an "interactive traffic from branch 1" policy.
     *
     * @return selector
     */
    static TrafficSelector branchTcp() {
        return ipv4().matchInPort(PortNumber.portNumber(1))
                .matchIPSrc(IpPrefix.valueOf("10.1.0.0/16"))
                .matchIPProtocol((byte) 6)
                .matchTcpDst(TpPort.tpPort(443))
                .matchIPDscp((byte) 46)
                .build();
    }
}
