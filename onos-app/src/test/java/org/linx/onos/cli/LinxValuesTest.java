/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The shell commands' values: what each accepts (linxctl's vocabulary) and the message
 * a bad one gets before anything is written.
 */
public class LinxValuesTest {

    private static LinxValues.Ternary t(long v, long m) {
        return new LinxValues.Ternary(v, m);
    }

    private static void refused(Runnable r, String want) {
        try {
            r.run();
            fail("accepted; want an error containing: " + want);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage() + " lacks: " + want, e.getMessage().contains(want));
        }
    }

    /** The values of contract-cli.txt's cli-pdr case, as the table line encodes them. */
    @Test
    public void contractPdrValues() {
        assertEquals(t(0x0a010000L, 0xffff0000L), LinxValues.prefix("src", "10.1.0.0/16"));
        assertEquals(t(0x0a020300L, 0xffffff00L), LinxValues.prefix("dst", "10.2.3.0/24"));
        assertEquals(t(0x11, 0xff), LinxValues.protocol("proto", "udp"));
        assertEquals(t(0x2e, 0x3f), LinxValues.dscp("dscp", "EF"));
        assertEquals(t(1, 3), LinxValues.direction("dir", "uplink"));
        assertEquals(t(1, 0xffff), LinxValues.inPort("in-port", "1"));
        assertEquals("1024-2047", LinxValues.portRange("sport", "1024-2047").toString());
        assertEquals(0x13c4, LinxValues.portRange("dport", "5060-5062").lo);
        assertEquals(0x13c6, LinxValues.portRange("dport", "5060-5062").hi);
        assertEquals(0xac100101L, LinxValues.unicastIpv4("src", "172.16.1.1"));
    }

    @Test
    public void addressesAndPrefixes() {
        assertEquals(t(0xc0000201L, 0xffffffffL), LinxValues.prefix("dst", "192.0.2.1"));
        assertEquals(t(0, 0), LinxValues.prefix("dst", "*"));
        assertTrue(LinxValues.prefix("dst", "0.0.0.0/0").isWildcard());
        assertEquals(t(0x0a000001L, 0xff0000ffL), LinxValues.prefix("dst", "10.0.0.1&&&255.0.0.255"));
        refused(() -> LinxValues.prefix("dst", "10.1.2.3/16"), "host bits are zero (did you mean 10.1.0.0/16?)");
        refused(() -> LinxValues.prefix("dst", "10.1.2.0/33"), "0..32");
        refused(() -> LinxValues.prefix("src", "10.1.2"), "src: \"10.1.2\" is not an IPv4 address");
        refused(() -> LinxValues.prefix("src", "10.1.2.256"), "each part 0..255");
        refused(() -> LinxValues.prefix("src", "10.0.0.3&&&255.255.255.0"), "no bits outside its mask");
        refused(() -> LinxValues.unicastIpv4("dst", "224.0.0.1"), "unicast");
        refused(() -> LinxValues.unicastIpv4("dst", "0.0.0.0"), "unicast");
        assertEquals("172.16.3.1", LinxValues.dotted(0xac100301L));
    }

    @Test
    public void namesAndNumbers() {
        assertEquals(t(6, 0xff), LinxValues.protocol("proto", "TCP"));
        assertEquals(t(47, 0xff), LinxValues.protocol("proto", "0x2f"));
        assertEquals(t(34, 0x3f), LinxValues.dscp("dscp", "af41"));
        assertEquals(t(8, 0x3f), LinxValues.dscp("dscp", "cs1"));
        assertEquals(t(0, 0x3f), LinxValues.dscp("dscp", "be"));
        assertEquals(t(44, 0x3f), LinxValues.dscp("dscp", "va"));
        assertEquals(t(0x20, 0x38), LinxValues.dscp("dscp", "0x20&&&0x38"));
        assertTrue(LinxValues.dscp("dscp", "*").isWildcard());
        assertEquals("ef", LinxValues.dscpName(46));
        assertEquals("be", LinxValues.dscpName(0));
        assertEquals("af41", LinxValues.dscpName(34));
        assertEquals("3", LinxValues.dscpName(3));
        refused(() -> LinxValues.dscp("dscp", "64"), "dscp: \"64\" is not a DSCP name");
        refused(() -> LinxValues.dscp("dscp", "gold"), "a DSCP name");
        refused(() -> LinxValues.protocol("proto", "quic"), "a protocol name");
        refused(() -> LinxValues.direction("dir", "sideways"), "uplink, downlink, underlay");
    }

    @Test
    public void portsRangesAndIds() {
        assertEquals(new LinxValues.PortRange(5060, 5060), LinxValues.portRange("dport", "5060"));
        assertTrue(LinxValues.portRange("dport", "*").isWildcard());
        assertTrue(LinxValues.portRange("dport", "0-65535").isWildcard());
        refused(() -> LinxValues.portRange("dport", "6000-5000"), "LO <= HI");
        refused(() -> LinxValues.portRange("dport", "1-2-3"), "a port P or a range LO-HI");
        refused(() -> LinxValues.portRange("dport", "70000"), "0..65535");
        assertEquals(2, LinxValues.port("port", "2"));
        refused(() -> LinxValues.port("port", "0"), "0 is no port");
        assertEquals(0xffffff, LinxValues.tunnelId("tunnel", "16777215"));
        refused(() -> LinxValues.tunnelId("tunnel", "16777216"), "0..16777215");
        assertEquals(0xffffffffL, LinxValues.u32("key", "0xffffffff"));
        refused(() -> LinxValues.u32("key", "-1"), "a number");
        refused(() -> LinxValues.u32("far", "99999999999999999999"), "a number");
    }

    @Test
    public void ethTypesAndNames() {
        assertEquals(0x88cc, LinxValues.ethType("eth_type", "LLDP"));
        assertEquals(0x86dd, LinxValues.ethType("eth_type", "0x86dd"));
        assertEquals("lldp", LinxValues.ethTypeName(0x88cc));
        assertEquals("0x1234", LinxValues.ethTypeName(0x1234));
        assertEquals("udp", LinxValues.protocolName(17));
        assertEquals("250", LinxValues.protocolName(250));
        assertEquals("downlink", LinxValues.directionName(2));
        refused(() -> LinxValues.ethType("eth_type", "0x0800"), "table pdr classifies IPv4");
        refused(() -> LinxValues.ethType("eth_type", "0x88a8"), "VLAN tag");
        refused(() -> LinxValues.ethType("eth_type", "appletalk"), "an EtherType name");
    }
}
