/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.easymock.Capture;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.onlab.osgi.ServiceDirectory;
import org.onlab.packet.IpPrefix;
import org.onosproject.core.CoreService;
import org.onosproject.core.GroupId;
import org.onosproject.net.PortNumber;
import org.onosproject.net.behaviour.NextGroup;
import org.onosproject.net.behaviour.PipelinerContext;
import org.onosproject.net.flow.FlowRuleOperation;
import org.onosproject.net.flow.FlowRuleOperations;
import org.onosproject.net.flow.FlowRuleService;
import org.onosproject.net.flowobjective.FlowObjectiveStore;
import org.onosproject.net.flowobjective.ForwardingObjective;
import org.onosproject.net.flowobjective.NextObjective;
import org.onosproject.net.flowobjective.Objective;
import org.onosproject.net.flowobjective.ObjectiveContext;
import org.onosproject.net.flowobjective.ObjectiveError;
import org.onosproject.net.group.DefaultGroup;
import org.onosproject.net.group.Group;
import org.onosproject.net.group.GroupDescription;
import org.onosproject.net.group.GroupEvent;
import org.onosproject.net.group.GroupListener;
import org.onosproject.net.group.GroupService;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.easymock.EasyMock.anyObject;
import static org.easymock.EasyMock.capture;
import static org.easymock.EasyMock.createMock;
import static org.easymock.EasyMock.eq;
import static org.easymock.EasyMock.expect;
import static org.easymock.EasyMock.expectLastCall;
import static org.easymock.EasyMock.newCapture;
import static org.easymock.EasyMock.replay;
import static org.easymock.EasyMock.reset;
import static org.easymock.EasyMock.verify;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.linx.onos.Objectives.DEVICE;
import static org.linx.onos.Objectives.LINX_APP;
import static org.linx.onos.Objectives.forward;
import static org.linx.onos.Objectives.hashed;
import static org.linx.onos.Objectives.ipv4;
import static org.linx.onos.Objectives.output;

/** The pipeliner installs in order and reports success only when ONOS confirms. */
public class LinxPipelinerTest {

    /** Records what the pipeliner reports for an objective. */
    private static final class Outcome implements ObjectiveContext {
        final List<String> events = new ArrayList<>();

        @Override
        public void onSuccess(Objective objective) {
            events.add("success");
        }

        @Override
        public void onError(Objective objective, ObjectiveError error) {
            events.add(error.name());
        }
    }

    private FlowRuleService flows;
    private GroupService groups;
    private FlowObjectiveStore store;
    private final Capture<GroupListener> listener = newCapture();
    private final LinxPipeliner pipeliner = new LinxPipeliner();

    @Before
    public void setUp() {
        flows = createMock(FlowRuleService.class);
        groups = createMock(GroupService.class);
        store = createMock(FlowObjectiveStore.class);
        CoreService core = createMock(CoreService.class);
        expect(core.registerApplication(LinxPipeconfLoader.APP_NAME)).andReturn(LINX_APP);
        ServiceDirectory directory = createMock(ServiceDirectory.class);
        expect(directory.get(FlowRuleService.class)).andReturn(flows).anyTimes();
        expect(directory.get(GroupService.class)).andReturn(groups).anyTimes();
        expect(directory.get(CoreService.class)).andReturn(core).anyTimes();
        PipelinerContext context = createMock(PipelinerContext.class);
        expect(context.directory()).andReturn(directory).anyTimes();
        expect(context.store()).andReturn(store).anyTimes();
        groups.addListener(capture(listener));
        replay(core, directory, context, groups);
        pipeliner.init(DEVICE, context);
        verify(groups);
        reset(groups);
    }

    /** Each test starts with no pipeliner registered (the registry is static). */
    @After
    public void tearDown() {
        reset(groups);
        groups.removeListener(anyObject(GroupListener.class));
        expectLastCall().anyTimes();
        replay(groups);
        LinxPipeliner.removeListeners();
    }

    @Test
    public void aNewPipelinerForTheDeviceRemovesTheOldOnesListener() {
        GroupService groups2 = createMock(GroupService.class);
        CoreService core = createMock(CoreService.class);
        expect(core.registerApplication(LinxPipeconfLoader.APP_NAME)).andReturn(LINX_APP);
        ServiceDirectory directory = createMock(ServiceDirectory.class);
        expect(directory.get(FlowRuleService.class)).andReturn(flows).anyTimes();
        expect(directory.get(GroupService.class)).andReturn(groups2).anyTimes();
        expect(directory.get(CoreService.class)).andReturn(core).anyTimes();
        PipelinerContext context = createMock(PipelinerContext.class);
        expect(context.directory()).andReturn(directory).anyTimes();
        expect(context.store()).andReturn(store).anyTimes();
        Capture<GroupListener> second = newCapture();
        groups2.addListener(capture(second));
        groups.removeListener(listener.getValue()); // with the service it was added to
        replay(core, directory, context, groups, groups2);
        new LinxPipeliner().init(DEVICE, context);
        verify(groups, groups2);
        assertFalse("the new pipeliner registered the old listener", second.getValue() == listener.getValue());

        reset(groups2);
        groups2.removeListener(second.getValue());
        replay(groups2);
        LinxPipeliner.removeListeners();
        verify(groups2);
    }

    private static List<String> ops(FlowRuleOperations ops) {
        return ops.stages().stream().flatMap(s -> s.stream())
                .map(o -> o.type() + " " + o.rule().table())
                .collect(Collectors.toList());
    }

    private ForwardingObjective.Builder dropTo(String prefix) {
        return forward(ipv4().matchIPDst(IpPrefix.valueOf(prefix)).build(), 10);
    }

    @Test
    public void forwardSucceedsOnlyWhenTheDeviceTookTheEntries() {
        Outcome outcome = new Outcome();
        Capture<FlowRuleOperations> applied = newCapture();
        flows.apply(capture(applied));
        replay(flows, store);
        pipeliner.forward(dropTo("10.0.0.0/8").withTreatment(output(PortNumber.CONTROLLER)).add(outcome));
        assertEquals(List.of("ADD LinxIngress.far", "ADD LinxIngress.pdr"), ops(applied.getValue()));
        assertTrue("reported before the device answered", outcome.events.isEmpty());
        applied.getValue().callback().onSuccess(applied.getValue());
        assertEquals(List.of("success"), outcome.events);
    }

    @Test
    public void aDeviceErrorFailsTheObjective() {
        Outcome outcome = new Outcome();
        Capture<FlowRuleOperations> applied = newCapture();
        flows.apply(capture(applied));
        replay(flows, store);
        pipeliner.forward(dropTo("10.0.0.0/8").withTreatment(output(PortNumber.CONTROLLER)).add(outcome));
        applied.getValue().callback().onError(applied.getValue());
        assertEquals(List.of("FLOWINSTALLATIONFAILED"), outcome.events);
    }

    @Test
    public void removingAForwardKeepsTheSharedFar() {
        Outcome outcome = new Outcome();
        Capture<FlowRuleOperations> applied = newCapture();
        flows.apply(capture(applied));
        replay(flows, store);
        pipeliner.forward(dropTo("10.0.0.0/8").withTreatment(output(PortNumber.CONTROLLER)).remove(outcome));
        assertEquals(List.of("REMOVE LinxIngress.pdr"), ops(applied.getValue()));
        assertEquals(FlowRuleOperation.Type.REMOVE, applied.getValue().stages().get(0).iterator().next().type());
    }

    @Test
    public void aForwardToAMissingNextFails() {
        Outcome outcome = new Outcome();
        expect(store.getNextGroup(42)).andReturn(null);
        replay(flows, store);
        pipeliner.forward(dropTo("10.0.0.0/8").nextStep(42).add(outcome));
        assertEquals(List.of("GROUPMISSING"), outcome.events);
        verify(flows);
    }

    @Test
    public void unsupportedObjectivesFailWithTheirError() {
        Outcome outcome = new Outcome();
        replay(flows, store);
        pipeliner.forward(dropTo("10.0.0.0/8").withTreatment(output(PortNumber.FLOOD)).add(outcome));
        pipeliner.next(Objectives.next(3, NextObjective.Type.BROADCAST).addTreatment(Objectives.tunnel(1))
                .add(outcome));
        pipeliner.next(Objectives.next(4, NextObjective.Type.HASHED).addTreatment(Objectives.tunnel(1))
                .modify(outcome));
        assertEquals(List.of("UNSUPPORTED", "UNSUPPORTED", "UNSUPPORTED"), outcome.events);
        verify(flows);
    }

    @Test
    public void hashedNextInstallsItsGroupBeforeItsEntries() throws LinxException {
        Outcome outcome = new Outcome();
        NextObjective obj = Objectives.next(7, NextObjective.Type.HASHED)
                .addTreatment(Objectives.tunnel(1)).addTreatment(Objectives.tunnel(2)).add(outcome);
        GroupDescription desc = Objectives.translator().next(obj).groups.get(0);
        expect(groups.getGroup(DEVICE, desc.appCookie())).andReturn(null);
        groups.addGroup(desc);
        Capture<FlowRuleOperations> applied = newCapture();
        flows.apply(capture(applied));
        Capture<NextGroup> stored = newCapture();
        store.putNextGroup(eq(7), capture(stored));
        replay(flows, groups, store);

        pipeliner.next(obj);
        assertFalse("entries written before their group", applied.hasCaptured());
        DefaultGroup group = new DefaultGroup(GroupId.valueOf(7), desc);
        group.setState(Group.GroupState.ADDED);
        listener.getValue().event(new GroupEvent(GroupEvent.Type.GROUP_ADDED, group));
        assertEquals(List.of("ADD LinxIngress.lbr", "ADD LinxIngress.far"), ops(applied.getValue()));
        assertTrue(outcome.events.isEmpty());
        applied.getValue().callback().onSuccess(applied.getValue());
        assertEquals(List.of("success"), outcome.events);
        assertEquals(List.of("far 7 -> balance over lbr 7 (lbr_selector group 0x7)"),
                pipeliner.getNextMappings(stored.getValue()));
        verify(flows, groups, store);
    }

    @Test
    public void aFailedGroupFailsTheNextWithoutEntries() throws LinxException {
        Outcome outcome = new Outcome();
        NextObjective obj = hashed(8, new long[]{1}, new int[]{1});
        GroupDescription desc = Objectives.translator().next(obj).groups.get(0);
        NextObjective withContext = Objectives.next(8, NextObjective.Type.HASHED)
                .addTreatment(Objectives.tunnel(1)).add(outcome);
        expect(groups.getGroup(DEVICE, desc.appCookie())).andReturn(null);
        groups.addGroup(anyObject());
        replay(flows, groups, store);
        pipeliner.next(withContext);
        DefaultGroup group = new DefaultGroup(GroupId.valueOf(8), desc);
        listener.getValue().event(new GroupEvent(GroupEvent.Type.GROUP_ADD_FAILED, group));
        assertEquals(List.of("GROUPINSTALLATIONFAILED"), outcome.events);
        verify(flows);
    }

    @Test
    public void removingAHashedNextRemovesItsEntriesThenItsGroup() throws LinxException {
        Outcome outcome = new Outcome();
        NextObjective obj = Objectives.next(7, NextObjective.Type.HASHED)
                .addTreatment(Objectives.tunnel(1)).remove(outcome);
        GroupDescription desc = Objectives.translator().next(obj).groups.get(0);
        Capture<FlowRuleOperations> applied = newCapture();
        flows.apply(capture(applied));
        replay(flows, groups, store);
        pipeliner.next(obj);
        assertEquals(List.of("REMOVE LinxIngress.lbr", "REMOVE LinxIngress.far"), ops(applied.getValue()));
        verify(groups); // nothing removed yet: the lbr entry still points to the group

        reset(groups, store);
        groups.removeGroup(DEVICE, desc.appCookie(), desc.appId());
        expect(store.removeNextGroup(7)).andReturn(null);
        replay(groups, store);
        applied.getValue().callback().onSuccess(applied.getValue());
        verify(groups, store);
        assertEquals(List.of("success"), outcome.events);
    }

    /** An installed HASHED next objective's group with one bucket per tunnel. */
    private static DefaultGroup installedGroup(int id, long... tunnels) throws LinxException {
        NextObjective.Builder b = Objectives.next(id, NextObjective.Type.HASHED);
        for (long t : tunnels) {
            b.addTreatment(Objectives.tunnel(t));
        }
        GroupDescription desc = Objectives.translator().next(b.add()).groups.get(0);
        DefaultGroup group = new DefaultGroup(GroupId.valueOf(id), desc);
        group.setState(Group.GroupState.ADDED);
        return group;
    }

    @Test
    public void addToExistingAddsTheOverlaysToTheGroupAndSucceedsWhenUpdated() throws LinxException {
        Outcome outcome = new Outcome();
        NextObjective obj = Objectives.next(7, NextObjective.Type.HASHED)
                .addTreatment(Objectives.tunnel(2)).addToExisting(outcome);
        GroupDescription add = Objectives.translator().next(obj).groups.get(0);
        expect(store.getNextGroup(7)).andReturn(new LinxPipeliner.LinxNextGroup(NextObjective.Type.HASHED, 7));
        expect(groups.getGroup(DEVICE, add.appCookie())).andReturn(installedGroup(7, 1));
        groups.addBucketsToGroup(DEVICE, add.appCookie(), add.buckets(), add.appCookie(), obj.appId());
        replay(flows, groups, store);

        pipeliner.next(obj);
        assertTrue("success before ONOS updated the group", outcome.events.isEmpty());
        listener.getValue().event(new GroupEvent(GroupEvent.Type.GROUP_UPDATED, installedGroup(7, 1, 2)));
        assertEquals(List.of("success"), outcome.events);
        verify(flows, groups, store); // no flow rule touched: the lbr and far entries stay
    }

    @Test
    public void removeFromExistingRemovesTheOverlaysAndReportsAFailedUpdate() throws LinxException {
        Outcome outcome = new Outcome();
        NextObjective obj = Objectives.next(7, NextObjective.Type.HASHED)
                .addTreatment(Objectives.tunnel(1)).removeFromExisting(outcome);
        GroupDescription rm = Objectives.translator().next(obj).groups.get(0);
        expect(store.getNextGroup(7)).andReturn(new LinxPipeliner.LinxNextGroup(NextObjective.Type.HASHED, 7));
        expect(groups.getGroup(DEVICE, rm.appCookie())).andReturn(installedGroup(7, 1, 2));
        groups.removeBucketsFromGroup(DEVICE, rm.appCookie(), rm.buckets(), rm.appCookie(), obj.appId());
        replay(flows, groups, store);

        pipeliner.next(obj);
        listener.getValue().event(new GroupEvent(GroupEvent.Type.GROUP_UPDATE_FAILED, installedGroup(7, 1, 2)));
        assertEquals(List.of("GROUPINSTALLATIONFAILED"), outcome.events);
        verify(flows, groups, store);
    }

    @Test
    public void memberUpdatesNeedAnInstalledHashedNextWithRoom() throws LinxException {
        Outcome outcome = new Outcome();
        expect(store.getNextGroup(8)).andReturn(null);
        expect(store.getNextGroup(9)).andReturn(new LinxPipeliner.LinxNextGroup(NextObjective.Type.SIMPLE, 9));
        expect(store.getNextGroup(10)).andReturn(new LinxPipeliner.LinxNextGroup(NextObjective.Type.HASHED, 10));
        long[] full = new long[16];
        for (int i = 0; i < full.length; i++) {
            full[i] = i + 1;
        }
        expect(groups.getGroup(DEVICE, ObjectiveTranslator.groupKey(10))).andReturn(installedGroup(10, full));
        replay(flows, groups, store);
        pipeliner.next(Objectives.next(8, NextObjective.Type.HASHED).addTreatment(Objectives.tunnel(1))
                .addToExisting(outcome));
        pipeliner.next(Objectives.next(9, NextObjective.Type.HASHED).addTreatment(Objectives.tunnel(1))
                .addToExisting(outcome));
        pipeliner.next(Objectives.next(10, NextObjective.Type.HASHED).addTreatment(Objectives.tunnel(17))
                .addToExisting(outcome));
        assertEquals(List.of("GROUPMISSING", "UNSUPPORTED", "BADPARAMS"), outcome.events);
        verify(flows, groups, store);
    }

    @Test
    public void admissionFiltersSucceedWithoutEntries() {
        Outcome outcome = new Outcome();
        replay(flows, groups, store);
        pipeliner.filter(org.onosproject.net.flowobjective.DefaultFilteringObjective.builder().permit()
                .withKey(org.onosproject.net.flow.criteria.Criteria.matchInPort(PortNumber.portNumber(1)))
                .addCondition(org.onosproject.net.flow.criteria.Criteria.matchVlanId(org.onlab.packet.VlanId.NONE))
                .withPriority(10).fromApp(Objectives.APP).makePermanent().add(outcome));
        assertEquals(List.of("success"), outcome.events);
        verify(flows, groups);
    }

    @Test
    public void purgeRemovesTheAppsFlowsAndGroups() {
        flows.purgeFlowRules(DEVICE, Objectives.APP);
        groups.purgeGroupEntries(DEVICE, Objectives.APP);
        expectLastCall();
        replay(flows, groups, store);
        pipeliner.purgeAll(Objectives.APP);
        verify(flows, groups);
    }
}
