/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Parses the human values of the linx shell commands, with linxctl's vocabulary
 * (docs/linxctl.md, "Human values"): every method either returns a checked value or
 * throws {@link IllegalArgumentException} with a message naming the field and what it
 * accepts, so a command refuses a bad value before it writes anything.
 */
public final class LinxValues {

    /** A ternary match: value and mask of a field; a zero mask is "don't care". */
    public static final class Ternary {
        public final long value;
        public final long mask;

        Ternary(long value, long mask) {
            this.value = value;
            this.mask = mask;
        }

        /** True when the field is a wildcard and is left out of the match. */
        public boolean isWildcard() {
            return mask == 0;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Ternary && ((Ternary) o).value == value && ((Ternary) o).mask == mask;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(value * 31 + mask);
        }

        @Override
        public String toString() {
            return String.format("0x%x&&&0x%x", value, mask);
        }
    }

    /** An L4 port range, both ends included. */
    public static final class PortRange {
        public final int lo;
        public final int hi;

        PortRange(int lo, int hi) {
            this.lo = lo;
            this.hi = hi;
        }

        /** True for 0-65535, which is left out of the match. */
        public boolean isWildcard() {
            return lo == 0 && hi == 0xffff;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PortRange && ((PortRange) o).lo == lo && ((PortRange) o).hi == hi;
        }

        @Override
        public int hashCode() {
            return lo * 65537 + hi;
        }

        @Override
        public String toString() {
            return lo == hi ? Integer.toString(lo) : lo + "-" + hi;
        }
    }

    private static final Map<String, Integer> PROTOCOLS = new TreeMap<>();
    private static final Map<String, Integer> DSCPS = new TreeMap<>();
    private static final Map<String, Integer> DIRECTIONS = new TreeMap<>();
    private static final Map<String, Integer> ETH_TYPES = new TreeMap<>();

    static {
        PROTOCOLS.put("icmp", 1);
        PROTOCOLS.put("igmp", 2);
        PROTOCOLS.put("ipip", 4);
        PROTOCOLS.put("tcp", 6);
        PROTOCOLS.put("udp", 17);
        PROTOCOLS.put("gre", 47);
        PROTOCOLS.put("esp", 50);
        PROTOCOLS.put("ah", 51);
        PROTOCOLS.put("ospf", 89);
        PROTOCOLS.put("pim", 103);
        PROTOCOLS.put("vrrp", 112);
        PROTOCOLS.put("sctp", 132);

        DSCPS.put("be", 0);
        DSCPS.put("default", 0);
        DSCPS.put("le", 1);
        for (int n = 0; n <= 7; n++) {
            DSCPS.put("cs" + n, 8 * n);
        }
        for (int c = 1; c <= 4; c++) {
            for (int d = 1; d <= 3; d++) {
                DSCPS.put("af" + c + d, 8 * c + 2 * d);
            }
        }
        DSCPS.put("va", 44);
        DSCPS.put("ef", 46);

        DIRECTIONS.put("uplink", 1);
        DIRECTIONS.put("downlink", 2);
        DIRECTIONS.put("underlay", 3);

        ETH_TYPES.put("arp", 0x0806);
        ETH_TYPES.put("rarp", 0x8035);
        ETH_TYPES.put("ipv6", 0x86dd);
        ETH_TYPES.put("lldp", 0x88cc);
        ETH_TYPES.put("bddp", 0x8942);
        ETH_TYPES.put("eapol", 0x888e);
    }

    private LinxValues() {
    }

    /**
     * An unsigned number, decimal or 0x-hexadecimal, at most max.
     *
     * @param field the field, for the message
     * @param s     the text
     * @param max   the largest value accepted
     * @return the number
     */
    public static long number(String field, String s, long max) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long v;
        try {
            v = t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseUnsignedLong(t);
        } catch (NumberFormatException e) {
            throw bad(field, s, "a number (decimal or 0x-hex) 0.." + max);
        }
        if (v < 0 || v > max) {
            throw bad(field, s, "a number 0.." + max);
        }
        return v;
    }

    /**
     * A P4 port number, 1..65535 (0 is no port).
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the port number
     */
    public static int port(String field, String s) {
        long v = number(field, s, 0xffff);
        if (v == 0) {
            throw bad(field, s, "a port number 1..65535 (0 is no port)");
        }
        return (int) v;
    }

    /**
     * A dotted IPv4 address.
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the address as an unsigned 32-bit value
     */
    public static long ipv4(String field, String s) {
        String[] parts = s.trim().split("\\.", -1);
        if (parts.length != 4) {
            throw bad(field, s, "an IPv4 address A.B.C.D");
        }
        long v = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw bad(field, s, "an IPv4 address A.B.C.D");
            }
            int b = Integer.parseInt(p);
            if (b > 255) {
                throw bad(field, s, "an IPv4 address A.B.C.D (each part 0..255)");
            }
            v = v << 8 | b;
        }
        return v;
    }

    /**
     * A unicast IPv4 underlay address (a tunnel end): not 0.0.0.0, multicast,
     * broadcast or loopback.
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the address as an unsigned 32-bit value
     */
    public static long unicastIpv4(String field, String s) {
        long v = ipv4(field, s);
        long first = v >>> 24;
        if (v == 0 || v == 0xffffffffL || first == 127 || (first >= 224 && first <= 239)) {
            throw bad(field, s, "a unicast IPv4 address (not 0.0.0.0, loopback, multicast or broadcast)");
        }
        return v;
    }

    /**
     * An IPv4 prefix A.B.C.D/N with zero host bits, an address (/32), A.B.C.D&amp;&amp;&amp;M.M.M.M,
     * or * (wildcard).
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the ternary match
     */
    public static Ternary prefix(String field, String s) {
        String t = s.trim();
        if (t.equals("*")) {
            return new Ternary(0, 0);
        }
        if (t.contains("&&&")) {
            String[] vm = t.split("&&&", 2);
            long v = ipv4(field, vm[0]);
            long m = ipv4(field, vm[1]);
            if ((v & ~m & 0xffffffffL) != 0) {
                throw bad(field, s, "a value with no bits outside its mask");
            }
            return new Ternary(v, m);
        }
        int bits = 32;
        String addr = t;
        int slash = t.indexOf('/');
        if (slash >= 0) {
            addr = t.substring(0, slash);
            bits = (int) number(field, t.substring(slash + 1), 32);
        }
        long v = ipv4(field, addr);
        long mask = bits == 0 ? 0 : (0xffffffffL << (32 - bits)) & 0xffffffffL;
        if ((v & ~mask & 0xffffffffL) != 0) {
            throw bad(field, s, "a prefix whose host bits are zero (did you mean "
                    + dotted(v & mask) + "/" + bits + "?)");
        }
        return new Ternary(v, mask);
    }

    /**
     * An IP protocol name (tcp, udp, gre...), a number 0..255, V&amp;&amp;&amp;M or *.
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the ternary match
     */
    public static Ternary protocol(String field, String s) {
        return named(field, s, PROTOCOLS, 0xff, "a protocol name " + PROTOCOLS.keySet() + ", a number 0..255");
    }

    /**
     * A DSCP name (ef, af41, cs1, be...), a number 0..63, V&amp;&amp;&amp;M or *.
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the ternary match
     */
    public static Ternary dscp(String field, String s) {
        return named(field, s, DSCPS, 0x3f, "a DSCP name (ef, va, af11..af43, cs0..cs7, le, be), a number 0..63");
    }

    /**
     * A direction: uplink, downlink, underlay, a number 1..3, V&amp;&amp;&amp;M or *.
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the ternary match
     */
    public static Ternary direction(String field, String s) {
        return named(field, s, DIRECTIONS, 0x3, "uplink, downlink, underlay, a number 0..3");
    }

    /**
     * An ingress port: a port number, V&amp;&amp;&amp;M or *.
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the ternary match
     */
    public static Ternary inPort(String field, String s) {
        return named(field, s, Map.of(), 0xffff, "a port number");
    }

    /**
     * An L4 port range: P, LO-HI or * (0-65535).
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the range
     */
    public static PortRange portRange(String field, String s) {
        String t = s.trim();
        if (t.equals("*")) {
            return new PortRange(0, 0xffff);
        }
        String[] lh = t.split("-", -1);
        if (lh.length > 2) {
            throw bad(field, s, "a port P or a range LO-HI");
        }
        int lo = (int) number(field, lh[0], 0xffff);
        int hi = lh.length == 2 ? (int) number(field, lh[1], 0xffff) : lo;
        if (lo > hi) {
            throw bad(field, s, "a range LO-HI with LO <= HI");
        }
        return new PortRange(lo, hi);
    }

    /**
     * A tunnel id, 0..2^24-1 (the app's shared FARs keep the ids above that).
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the id
     */
    public static long tunnelId(String field, String s) {
        return number(field, s, (1L << 24) - 1);
    }

    /**
     * A FAR, LBR or GRE key value: 0..2^32-1.
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the value
     */
    public static long u32(String field, String s) {
        return number(field, s, 0xffffffffL);
    }

    /**
     * An EtherType for table non_ip: a name (arp, rarp, ipv6, lldp, bddp, eapol) or a
     * number; IPv4 and VLAN tag types are refused (they never reach non_ip).
     *
     * @param field the field, for the message
     * @param s     the text
     * @return the EtherType
     */
    public static int ethType(String field, String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        Integer n = ETH_TYPES.get(t);
        int v;
        if (n != null) {
            v = n;
        } else {
            try {
                v = (int) number(field, t, 0xffff);
            } catch (IllegalArgumentException e) {
                throw bad(field, s, "an EtherType name " + ETH_TYPES.keySet() + " or a number 0..0xffff");
            }
        }
        if (v == 0x0800) {
            throw bad(field, s, "a non-IPv4 EtherType: table pdr classifies IPv4, it never reaches non_ip");
        }
        if (v == 0x8100 || v == 0x88a8 || v == 0x9100) {
            throw bad(field, s, "an EtherType after the VLAN tag: non_ip matches the type a tag carries");
        }
        return v;
    }

    /**
     * The name of an EtherType, or 0x-hex.
     *
     * @param v the EtherType
     * @return its name or 0x....
     */
    public static String ethTypeName(int v) {
        for (Map.Entry<String, Integer> e : ETH_TYPES.entrySet()) {
            if (e.getValue() == v) {
                return e.getKey();
            }
        }
        return String.format("0x%04x", v);
    }

    /**
     * The name of an IP protocol number, or the number.
     *
     * @param v the protocol
     * @return its name or the number
     */
    public static String protocolName(int v) {
        for (Map.Entry<String, Integer> e : PROTOCOLS.entrySet()) {
            if (e.getValue() == v) {
                return e.getKey();
            }
        }
        return Integer.toString(v);
    }

    /**
     * The name of a direction value, or the number.
     *
     * @param v the direction
     * @return uplink, downlink, underlay or the number
     */
    public static String directionName(int v) {
        for (Map.Entry<String, Integer> e : DIRECTIONS.entrySet()) {
            if (e.getValue() == v) {
                return e.getKey();
            }
        }
        return Integer.toString(v);
    }

    /**
     * The DSCP name of a value, or the number.
     *
     * @param v the DSCP value
     * @return its name (be for 0), or the number
     */
    public static String dscpName(int v) {
        if (v == 0) {
            return "be";
        }
        for (Map.Entry<String, Integer> e : DSCPS.entrySet()) {
            if (e.getValue() == v && !e.getKey().equals("default") && !e.getKey().equals("cs0")) {
                return e.getKey();
            }
        }
        return Integer.toString(v);
    }

    /**
     * A dotted IPv4 address.
     *
     * @param v the address as an unsigned 32-bit value
     * @return A.B.C.D
     */
    public static String dotted(long v) {
        return (v >>> 24 & 0xff) + "." + (v >>> 16 & 0xff) + "." + (v >>> 8 & 0xff) + "." + (v & 0xff);
    }

    private static Ternary named(String field, String s, Map<String, Integer> names, long max, String what) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("*")) {
            return new Ternary(0, 0);
        }
        if (t.contains("&&&")) {
            String[] vm = t.split("&&&", 2);
            long v = number(field, vm[0], max);
            long m = number(field, vm[1], max);
            if ((v & ~m) != 0) {
                throw bad(field, s, "a value with no bits outside its mask");
            }
            return new Ternary(v, m);
        }
        Integer n = names.get(t);
        if (n != null) {
            return new Ternary(n, max);
        }
        try {
            return new Ternary(number(field, t, max), max);
        } catch (IllegalArgumentException e) {
            throw bad(field, s, what + ", V&&&M or *");
        }
    }

    private static IllegalArgumentException bad(String field, String s, String what) {
        return new IllegalArgumentException(field + ": \"" + s + "\" is not " + what);
    }
}
