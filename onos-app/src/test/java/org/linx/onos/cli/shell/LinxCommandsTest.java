/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.easymock.Capture;
import org.junit.Before;
import org.junit.Test;
import org.linx.onos.cli.LinxEntries;
import org.onosproject.core.ApplicationId;
import org.onosproject.core.CoreService;
import org.onosproject.core.DefaultApplicationId;
import org.onosproject.core.GroupId;
import org.onosproject.net.Device;
import org.onosproject.net.DeviceId;
import org.onosproject.net.device.DeviceService;
import org.onosproject.net.flow.DefaultFlowEntry;
import org.onosproject.net.flow.FlowEntry;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.FlowRuleOperation;
import org.onosproject.net.flow.FlowRuleOperations;
import org.onosproject.net.flow.FlowRuleService;
import org.onosproject.net.group.DefaultGroup;
import org.onosproject.net.group.Group;
import org.onosproject.net.group.GroupDescription;
import org.onosproject.net.group.GroupService;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.easymock.EasyMock.anyObject;
import static org.easymock.EasyMock.capture;
import static org.easymock.EasyMock.createMock;
import static org.easymock.EasyMock.eq;
import static org.easymock.EasyMock.expect;
import static org.easymock.EasyMock.expectLastCall;
import static org.easymock.EasyMock.newCapture;
import static org.easymock.EasyMock.replay;
import static org.easymock.EasyMock.verify;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The commands against mocked ONOS services: what they submit to FlowRuleService and
 * GroupService, what they print, and that a bad value or a conflict writes nothing
 * (a strict mock fails on any call not expected).
 */
public class LinxCommandsTest {

    private static final DeviceId D = DeviceId.deviceId("device:gw-a");
    private static final ApplicationId APP = new DefaultApplicationId(9, LinxEntries.APP_NAME);

    private FlowRuleService flows;
    private GroupService groups;
    private DeviceService devices;
    private CoreService core;
    private final List<String> out = new ArrayList<>();
    private final List<String> err = new ArrayList<>();
    private final List<FlowEntry> onDevice = new ArrayList<>();

    @Before
    public void setUp() {
        flows = createMock(FlowRuleService.class);
        groups = createMock(GroupService.class);
        devices = createMock(DeviceService.class);
        core = createMock(CoreService.class);
        expect(devices.getDevice(D)).andReturn(createMock(Device.class)).anyTimes();
        expect(devices.getDevice(DeviceId.deviceId("device:nope"))).andReturn(null).anyTimes();
        expect(core.registerApplication(LinxEntries.APP_NAME)).andReturn(APP).anyTimes();
        expect(flows.getFlowEntries(D)).andReturn(onDevice).anyTimes();
    }

    private Map<Class<?>, Object> services() {
        Map<Class<?>, Object> m = new HashMap<>();
        m.put(FlowRuleService.class, flows);
        m.put(GroupService.class, groups);
        m.put(DeviceService.class, devices);
        m.put(CoreService.class, core);
        return m;
    }

    /** The mocked services, which each command's service() override returns. */
    private abstract class Wired {
        <S> S lookup(Class<S> type) {
            return type.cast(services().get(type));
        }
    }

    private final Wired w = new Wired() { };

    private TunnelAddCommand tunnelAdd(String id, String params, boolean replace) {
        TunnelAddCommand c = new TunnelAddCommand() {
            @Override
            protected <S> S service(Class<S> type) {
                return w.lookup(type);
            }

            @Override
            public void print(String format, Object... args) {
                out.add(String.format(format, args));
            }

            @Override
            public void error(String format, Object... args) {
                err.add(String.format(format, args));
            }
        };
        c.device = D.toString();
        c.id = id;
        c.params = Arrays.asList(params.split(" "));
        c.replace = replace;
        return c;
    }

    /** FlowRuleService.apply answers as ONOS does once the device took the batch. */
    private Capture<FlowRuleOperations> expectApply(boolean ok) {
        Capture<FlowRuleOperations> ops = newCapture();
        flows.apply(capture(ops));
        expectLastCall().andAnswer(() -> {
            if (ok) {
                ops.getValue().callback().onSuccess(ops.getValue());
            } else {
                ops.getValue().callback().onError(ops.getValue());
            }
            return null;
        });
        return ops;
    }

    private static List<String> w(String words) {
        return Arrays.asList(words.split(" "));
    }

    @Test
    public void tunnelAddSubmitsOneFlowRule() {
        Capture<FlowRuleOperations> ops = expectApply(true);
        replay(flows, groups, devices, core);
        tunnelAdd("1", "port=2 src=172.16.1.1 dst=172.16.3.1 key=7", false).doExecute();
        verify(flows);
        assertEquals(List.of(), err);
        assertEquals(List.of("add tunnel 1: set_gre port=2 src=172.16.1.1 dst=172.16.3.1 key=7: OK"), out);
        List<FlowRuleOperation> stage = new ArrayList<>(ops.getValue().stages().get(0));
        assertEquals(1, ops.getValue().stages().size());
        assertEquals(FlowRuleOperation.Type.ADD, stage.get(0).type());
        FlowRule want = LinxEntries.tunnel(D, APP, "1", w("port=2 src=172.16.1.1 dst=172.16.3.1 key=7"));
        assertTrue(want.exactMatch(stage.get(0).rule()));
    }

    @Test
    public void aBadValueOrUnknownDeviceWritesNothing() {
        replay(flows, groups, devices, core);
        tunnelAdd("1", "port=2 src=172.16.1.1 dst=172.16.3.1 dscp=ef", false).doExecute();
        tunnelAdd("1", "port=2 src=172.16.1.1 dst=300.16.3.1", false).doExecute();
        TunnelAddCommand nope = tunnelAdd("1", "port=2 src=172.16.1.1 dst=172.16.3.1", false);
        nope.device = "device:nope";
        nope.doExecute();
        verify(flows, groups);
        assertEquals(3, err.size());
        assertTrue(err.get(0), err.get(0).startsWith("tunnel: dscp= cannot be set through P4Runtime"));
        assertTrue(err.get(1), err.get(1).contains("each part 0..255"));
        assertEquals("no device device:nope in ONOS (devices lists them)", err.get(2));
        assertEquals(List.of(), out);
    }

    @Test
    public void anExistingTunnelIsReplacedOnlyWhenAsked() {
        FlowRule old = LinxEntries.tunnel(D, APP, "1", w("port=2 src=172.16.1.1 dst=172.16.3.1"));
        onDevice.add(new DefaultFlowEntry(old, FlowEntry.FlowEntryState.ADDED));
        Capture<FlowRuleOperations> ops = expectApply(true);
        replay(flows, groups, devices, core);
        tunnelAdd("1", "port=3 src=172.16.1.1 dst=172.16.3.1", false).doExecute();
        assertEquals(1, err.size());
        assertTrue(err.get(0), err.get(0).startsWith("tunnel 1 exists on device:gw-a (set_gre port=2 "
                + "src=172.16.1.1 dst=172.16.3.1 key=0, ADDED): remove it first, or give -r/--replace"));
        tunnelAdd("1", "port=3 src=172.16.1.1 dst=172.16.3.1", true).doExecute();
        verify(flows);
        FlowRuleOperation op = ops.getValue().stages().get(0).iterator().next();
        assertEquals(FlowRuleOperation.Type.MODIFY, op.type());
        assertEquals(List.of("replace tunnel 1: set_gre port=3 src=172.16.1.1 dst=172.16.3.1 key=0: OK"), out);
    }

    @Test
    public void aRefusedWriteIsReported() {
        expectApply(false);
        replay(flows, groups, devices, core);
        tunnelAdd("1", "port=2 src=172.16.1.1 dst=172.16.3.1", false).doExecute();
        assertEquals(List.of("add tunnel 1: set_gre port=2 src=172.16.1.1 dst=172.16.3.1 key=0: FAILED: the "
                + "device refused it (the ONOS log has its error)"), err);
    }

    @Test
    public void pdrRemoveFindsAnEntryWrittenWithOtherByteStrings() {
        // as the pipeliner writes DSCP: int-sized value and mask
        FlowRule pipeliner = org.onosproject.net.flow.DefaultFlowRule.builder().forDevice(D)
                .forTable(org.linx.onos.LinxConstants.LINX_INGRESS_PDR).fromApp(new DefaultApplicationId(3, "x"))
                .withPriority(60).makePermanent()
                .withSelector(org.onosproject.net.flow.DefaultTrafficSelector.builder().matchPi(
                        org.onosproject.net.flow.criteria.PiCriterion.builder()
                                .matchTernary(org.linx.onos.LinxConstants.HDR_DSCP, 46, 0x3f).build()).build())
                .withTreatment(org.onosproject.net.flow.DefaultTrafficTreatment.emptyTreatment()).build();
        FlowEntry entry = new DefaultFlowEntry(pipeliner, FlowEntry.FlowEntryState.ADDED);
        onDevice.add(entry);
        Capture<FlowRuleOperations> ops = expectApply(true);
        replay(flows, groups, devices, core);
        PdrRemoveCommand c = new PdrRemoveCommand() {
            @Override
            protected <S> S service(Class<S> type) {
                return w.lookup(type);
            }

            @Override
            public void print(String format, Object... args) {
                out.add(String.format(format, args));
            }
        };
        c.device = D.toString();
        c.params = w("prio=60 dscp=ef far=5");
        c.doExecute();
        FlowRuleOperation op = ops.getValue().stages().get(0).iterator().next();
        assertEquals(FlowRuleOperation.Type.REMOVE, op.type());
        assertTrue(op.rule() == entry);
        assertEquals(List.of("remove pdr prio=60 dscp=ef: OK"), out);
    }

    private LbrMemberAddCommand memberAdd(String lbr, String tunnel, String params) {
        LbrMemberAddCommand c = new LbrMemberAddCommand() {
            @Override
            protected <S> S service(Class<S> type) {
                return w.lookup(type);
            }

            @Override
            public void print(String format, Object... args) {
                out.add(String.format(format, args));
            }

            @Override
            public void error(String format, Object... args) {
                err.add(String.format(format, args));
            }
        };
        c.device = D.toString();
        c.lbr = lbr;
        c.tunnel = tunnel;
        c.params = params == null ? null : w(params);
        return c;
    }

    private static Group added(GroupDescription desc) {
        DefaultGroup g = new DefaultGroup(GroupId.valueOf(desc.givenGroupId()), desc);
        g.setState(Group.GroupState.ADDED);
        return g;
    }

    @Test
    public void theFirstLbrMemberCreatesTheGroupThenTheEntry() {
        GroupDescription want = LinxEntries.lbrGroup(D, APP, 9, List.of(LinxEntries.lbrMember(1, (short) 3)));
        expect(groups.getGroup(D, LinxEntries.lbrGroupKey(9))).andReturn(null).once()
                .andReturn(added(want)).anyTimes();
        expect(groups.getGroups(D)).andReturn(List.of()).anyTimes();
        Capture<GroupDescription> group = newCapture();
        groups.addGroup(capture(group));
        expectLastCall();
        Capture<FlowRuleOperations> ops = expectApply(true);
        replay(flows, groups, devices, core);
        memberAdd("9", "1", "weight=3").doExecute();
        verify(flows, groups);
        assertEquals(List.of(), err);
        assertEquals(want.buckets(), group.getValue().buckets());
        assertEquals(want.appCookie(), group.getValue().appCookie());
        assertEquals(Integer.valueOf(9), group.getValue().givenGroupId());
        FlowRule entry = ops.getValue().stages().get(0).iterator().next().rule();
        assertTrue(LinxEntries.lbrEntry(D, APP, 9).exactMatch(entry));
        assertEquals(List.of("add lbr_selector group 9: member 1:3: OK", "add lbr 9: group 9: OK",
                "warning: tunnel 1, referred to by this write, does not exist on device:gw-a: packets that need "
                        + "it are dropped until it is written"), out);
    }

    @Test
    public void lbrMemberAddRefusesADuplicateAndAnotherAppsGroupId() {
        Group existing = added(LinxEntries.lbrGroup(D, APP, 9, List.of(LinxEntries.lbrMember(1, (short) 3))));
        expect(groups.getGroup(D, LinxEntries.lbrGroupKey(9))).andReturn(existing).anyTimes();
        // a HASHED next objective 7 owns group 7 with the pipeliner's key, the same as LBR 7's
        Group next = added(LinxEntries.lbrGroup(D, new DefaultApplicationId(4, "org.example.sdwan"), 7,
                List.of(LinxEntries.lbrMember(2, (short) 1))));
        expect(groups.getGroup(D, LinxEntries.lbrGroupKey(7))).andReturn(next).anyTimes();
        expect(groups.getGroups(D)).andReturn(List.of(existing, next)).anyTimes();
        replay(flows, groups, devices, core);
        memberAdd("9", "1", "weight=5").doExecute();
        memberAdd("7", "1", null).doExecute();
        memberAdd("9", "2", "weight=0").doExecute();
        verify(flows, groups);
        assertEquals(3, err.size());
        assertEquals("tunnel 1 is already a member of lbr 9 (weight 3): remove it first to change its weight",
                err.get(0));
        assertTrue(err.get(1), err.get(1).startsWith("group id 7 on device:gw-a belongs to app "
                + "org.example.sdwan (a HASHED next objective uses its next id)"));
        assertEquals("weight: \"0\" is not 1..32767", err.get(2));
    }

    @Test
    public void removingTheLastLbrMemberRemovesTheEntryThenTheGroup() {
        Group existing = added(LinxEntries.lbrGroup(D, APP, 9, List.of(LinxEntries.lbrMember(1, (short) 3))));
        expect(groups.getGroup(D, LinxEntries.lbrGroupKey(9))).andReturn(existing).times(2).andReturn(null);
        expect(groups.getGroups(D)).andReturn(List.of(existing)).anyTimes();
        FlowEntry entry = new DefaultFlowEntry(LinxEntries.lbrEntry(D, APP, 9), FlowEntry.FlowEntryState.ADDED);
        onDevice.add(entry);
        Capture<FlowRuleOperations> ops = expectApply(true);
        groups.removeGroup(eq(D), eq(LinxEntries.lbrGroupKey(9)), anyObject(ApplicationId.class));
        expectLastCall();
        replay(flows, groups, devices, core);
        LbrMemberRemoveCommand c = new LbrMemberRemoveCommand() {
            @Override
            protected <S> S service(Class<S> type) {
                return w.lookup(type);
            }

            @Override
            public void print(String format, Object... args) {
                out.add(String.format(format, args));
            }

            @Override
            public void error(String format, Object... args) {
                err.add(String.format(format, args));
            }
        };
        c.device = D.toString();
        c.lbr = "9";
        c.tunnel = "1";
        c.doExecute();
        verify(flows, groups);
        assertEquals(List.of(), err);
        assertTrue(ops.getValue().stages().get(0).iterator().next().rule() == entry);
        assertEquals(List.of("remove lbr 9: OK", "remove lbr_selector group 9 (its last member was 1): OK"), out);
    }
}
