/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onosproject.core.ApplicationId;
import org.onosproject.core.CoreService;
import org.onosproject.net.DeviceId;
import org.onosproject.net.behaviour.NextGroup;
import org.onosproject.net.behaviour.Pipeliner;
import org.onosproject.net.behaviour.PipelinerContext;
import org.onosproject.net.driver.AbstractHandlerBehaviour;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.FlowRuleOperations;
import org.onosproject.net.flow.FlowRuleOperationsContext;
import org.onosproject.net.flow.FlowRuleService;
import org.onosproject.net.flowobjective.FilteringObjective;
import org.onosproject.net.flowobjective.FlowObjectiveStore;
import org.onosproject.net.flowobjective.ForwardingObjective;
import org.onosproject.net.flowobjective.NextObjective;
import org.onosproject.net.flowobjective.Objective;
import org.onosproject.net.flowobjective.ObjectiveError;
import org.onosproject.net.group.Group;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.group.GroupBuckets;
import org.onosproject.net.group.GroupDescription;
import org.onosproject.net.group.GroupEvent;
import org.onosproject.net.group.GroupKey;
import org.onosproject.net.group.GroupListener;
import org.onosproject.net.group.GroupService;
import org.slf4j.Logger;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.linx.onos.LinxConstants.LINX_INGRESS_LBR_SELECTOR;
import static org.slf4j.LoggerFactory.getLogger;

/**
 * Carries out flow objectives on a linx device: {@link ObjectiveTranslator} says
 * which entries and groups an objective becomes, this class installs them in the
 * right order (groups before the entries that use them, entries removed before
 * their groups) and reports the outcome to the objective's context — success only
 * once ONOS says the device took the entries.
 */
public class LinxPipeliner extends AbstractHandlerBehaviour implements Pipeliner {

    private static final Logger log = getLogger(LinxPipeliner.class);

    /** How long a HASHED next objective waits for its group to be on the device. */
    static final long GROUP_TIMEOUT_SECONDS = 30;

    private DeviceId deviceId;
    private FlowRuleService flowRuleService;
    private GroupService groupService;
    private FlowObjectiveStore store;
    private ObjectiveTranslator translator;

    /**
     * The group listener of each device's current pipeliner. ONOS creates a new
     * pipeliner every time it initialises a device's pipeline (reconnection,
     * mastership change, driver update) and {@link Pipeliner} has no teardown, so
     * each instance removes the listener of the one it replaces: at most one
     * listener per device stays registered. {@link #removeListeners()} removes the
     * rest when the app stops.
     */
    private static final Map<DeviceId, Registration> LISTENERS = new ConcurrentHashMap<>();

    /** A listener and the service it is registered with. */
    private static final class Registration {
        final GroupService service;
        final GroupListener listener;

        Registration(GroupService service, GroupListener listener) {
            this.service = service;
            this.listener = listener;
        }
    }

    private final Map<GroupKey, CompletableFuture<Boolean>> pendingGroups = new ConcurrentHashMap<>();
    /** Bucket updates of installed groups waiting for ONOS to report them done. */
    private final Map<GroupKey, CompletableFuture<Boolean>> pendingUpdates = new ConcurrentHashMap<>();
    private final GroupListener groupListener = this::groupEvent;

    @Override
    public void init(DeviceId device, PipelinerContext context) {
        this.deviceId = device;
        this.flowRuleService = context.directory().get(FlowRuleService.class);
        this.groupService = context.directory().get(GroupService.class);
        this.store = context.store();
        ApplicationId linxApp = context.directory().get(CoreService.class)
                .registerApplication(LinxPipeconfLoader.APP_NAME);
        int maxGroupSize = LinxPipeconfLoader.PIPECONF.pipelineModel()
                .actionProfiles(LINX_INGRESS_LBR_SELECTOR)
                .orElseThrow(() -> new IllegalStateException("P4Info has no lbr_selector"))
                .maxGroupSize();
        this.translator = new ObjectiveTranslator(device, linxApp, maxGroupSize);
        Registration previous = LISTENERS.put(device, new Registration(groupService, groupListener));
        if (previous != null) {
            previous.service.removeListener(previous.listener);
        }
        groupService.addListener(groupListener);
    }

    /** Removes every pipeliner's group listener (the app is stopping). */
    static void removeListeners() {
        for (DeviceId device : new ArrayList<>(LISTENERS.keySet())) {
            Registration r = LISTENERS.remove(device);
            if (r != null) {
                r.service.removeListener(r.listener);
            }
        }
    }

    @Override
    public void filter(FilteringObjective obj) {
        try {
            translator.filter(obj);
            log.debug("{} on {}: nothing to install, linx admits every frame its ports receive",
                    ObjectiveTranslator.describe(obj), deviceId);
            success(obj);
        } catch (LinxException e) {
            fail(obj, e);
        }
    }

    @Override
    public void forward(ForwardingObjective obj) {
        ObjectiveTranslator.Translation t;
        try {
            t = translator.forward(obj);
        } catch (LinxException e) {
            fail(obj, e);
            return;
        }
        FlowRuleOperations.Builder ops = FlowRuleOperations.builder();
        switch (obj.op()) {
            case ADD:
                if (obj.nextId() != null && store.getNextGroup(obj.nextId()) == null) {
                    fail(obj, new LinxException(ObjectiveError.GROUPMISSING,
                            "next objective " + obj.nextId() + " is not installed"));
                    return;
                }
                t.sharedFlowRules.forEach(ops::add);
                t.flowRules.forEach(ops::add);
                break;
            case REMOVE:
                // Shared FARs stay: other objectives may point to them.
                t.flowRules.forEach(ops::remove);
                break;
            default:
                fail(obj, new LinxException(ObjectiveError.UNSUPPORTED,
                        "forwarding objective operation " + obj.op() + " is not supported"));
                return;
        }
        applyFlows(obj, ops, () -> success(obj));
    }

    @Override
    public void next(NextObjective obj) {
        ObjectiveTranslator.Translation t;
        try {
            t = translator.next(obj);
        } catch (LinxException e) {
            fail(obj, e);
            return;
        }
        switch (obj.op()) {
            case ADD:
                installGroups(t.groups).whenComplete((ok, err) -> {
                    if (ok == null || !ok) {
                        fail(obj, new LinxException(ObjectiveError.GROUPINSTALLATIONFAILED,
                                "lbr_selector group " + obj.id() + " was not installed"
                                        + (err != null ? ": " + err : "")));
                        return;
                    }
                    FlowRuleOperations.Builder ops = FlowRuleOperations.builder();
                    t.flowRules.forEach(ops::add);
                    applyFlows(obj, ops, () -> {
                        store.putNextGroup(obj.id(), new LinxNextGroup(obj.type(), obj.id()));
                        success(obj);
                    });
                });
                break;
            case REMOVE:
                FlowRuleOperations.Builder ops = FlowRuleOperations.builder();
                t.flowRules.forEach(ops::remove);
                applyFlows(obj, ops, () -> {
                    for (GroupDescription g : t.groups) {
                        groupService.removeGroup(deviceId, g.appCookie(), g.appId());
                    }
                    store.removeNextGroup(obj.id());
                    success(obj);
                });
                break;
            case ADD_TO_EXISTING:
            case REMOVE_FROM_EXISTING:
                updateMembers(obj, t);
                break;
            default:
                fail(obj, new LinxException(ObjectiveError.UNSUPPORTED, "next objective operation " + obj.op()
                        + " is not supported: remove the next objective and add it again"));
        }
    }

    /**
     * Adds or removes the overlays of a HASHED next objective's lbr_selector group:
     * the group's buckets change, which ONOS writes as P4Runtime member inserts and
     * a group MODIFY (the lbr and far entries stay), so the data path's Maglev table
     * moves only the flows it must, unlike removing and adding the objective.
     * Succeeds once ONOS reports the group updated.
     */
    private void updateMembers(NextObjective obj, ObjectiveTranslator.Translation t) {
        LinxNextGroup installed = LinxNextGroup.decode(store.getNextGroup(obj.id()));
        if (installed == null) {
            fail(obj, new LinxException(ObjectiveError.GROUPMISSING,
                    "next objective " + obj.id() + " is not installed: add it before adding or removing overlays"));
            return;
        }
        if (installed.type != NextObjective.Type.HASHED || obj.type() != NextObjective.Type.HASHED) {
            fail(obj, new LinxException(ObjectiveError.UNSUPPORTED, "only HASHED next objectives have overlays to "
                    + (obj.op() == Objective.Operation.ADD_TO_EXISTING ? "add" : "remove")
                    + "; next objective " + obj.id() + " is " + installed.type));
            return;
        }
        GroupDescription desc = t.groups.get(0);
        GroupKey key = desc.appCookie();
        Group group = groupService.getGroup(deviceId, key);
        if (group == null) {
            fail(obj, new LinxException(ObjectiveError.GROUPMISSING,
                    "lbr_selector group " + obj.id() + " of next objective " + obj.id() + " is not on the device"));
            return;
        }
        List<GroupBucket> buckets = desc.buckets().buckets();
        List<GroupBucket> current = group.buckets().buckets();
        if (obj.op() == Objective.Operation.ADD_TO_EXISTING) {
            long added = buckets.stream().filter(b -> !current.contains(b)).count();
            if (current.size() + added > translator.maxGroupSize()) {
                fail(obj, new LinxException(ObjectiveError.BADPARAMS, "next objective " + obj.id() + " would have "
                        + (current.size() + added) + " overlays, lbr_selector takes at most "
                        + translator.maxGroupSize()));
                return;
            }
        }
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        pendingUpdates.put(key, done);
        done.orTimeout(GROUP_TIMEOUT_SECONDS, TimeUnit.SECONDS).whenComplete((ok, err) -> {
            pendingUpdates.remove(key, done);
            if (ok == null || !ok) {
                fail(obj, new LinxException(ObjectiveError.GROUPINSTALLATIONFAILED,
                        "lbr_selector group " + obj.id() + " was not updated" + (err != null ? ": " + err : "")));
                return;
            }
            success(obj);
        });
        GroupBuckets change = new GroupBuckets(buckets);
        if (obj.op() == Objective.Operation.ADD_TO_EXISTING) {
            groupService.addBucketsToGroup(deviceId, key, change, key, obj.appId());
        } else {
            groupService.removeBucketsFromGroup(deviceId, key, change, key, obj.appId());
        }
    }

    @Override
    public void purgeAll(ApplicationId appId) {
        flowRuleService.purgeFlowRules(deviceId, appId);
        groupService.purgeGroupEntries(deviceId, appId);
    }

    @Override
    public List<String> getNextMappings(NextGroup nextGroup) {
        LinxNextGroup g = LinxNextGroup.decode(nextGroup);
        if (g == null) {
            return List.of();
        }
        if (g.type == NextObjective.Type.HASHED) {
            return List.of(String.format("far %d -> balance over lbr %d (lbr_selector group 0x%x)",
                    g.id, g.id, g.id));
        }
        return List.of(String.format("far %d", g.id));
    }

    // ------------------------------------------------------------------ helpers

    private void applyFlows(Objective obj, FlowRuleOperations.Builder ops, Runnable onSuccess) {
        flowRuleService.apply(ops.build(new FlowRuleOperationsContext() {
            @Override
            public void onSuccess(FlowRuleOperations o) {
                onSuccess.run();
            }

            @Override
            public void onError(FlowRuleOperations o) {
                fail(obj, new LinxException(ObjectiveError.FLOWINSTALLATIONFAILED,
                        "the device did not take the entries " + describe(o)));
            }
        }));
    }

    private static String describe(FlowRuleOperations o) {
        List<String> out = new ArrayList<>();
        o.stages().forEach(stage -> stage.forEach(op -> {
            FlowRule r = op.rule();
            out.add(op.type() + " " + r.table() + " " + r.selector().criteria());
        }));
        return out.toString();
    }

    /** Adds the groups (if not already on the device) and completes when all are. */
    private CompletableFuture<Boolean> installGroups(List<GroupDescription> groups) {
        CompletableFuture<Boolean> all = CompletableFuture.completedFuture(true);
        for (GroupDescription g : groups) {
            Group existing = groupService.getGroup(deviceId, g.appCookie());
            if (existing != null && existing.state() == Group.GroupState.ADDED) {
                continue;
            }
            CompletableFuture<Boolean> done = new CompletableFuture<>();
            pendingGroups.put(g.appCookie(), done);
            CompletableFuture<Boolean> added = done.orTimeout(GROUP_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                    .whenComplete((ok, err) -> pendingGroups.remove(g.appCookie(), done));
            all = all.thenCombine(added, Boolean::logicalAnd);
            groupService.addGroup(g);
        }
        return all;
    }

    private void groupEvent(GroupEvent event) {
        Group g = event.subject();
        if (!g.deviceId().equals(deviceId)) {
            return;
        }
        CompletableFuture<Boolean> updated = pendingUpdates.get(g.appCookie());
        if (updated != null) {
            if (event.type() == GroupEvent.Type.GROUP_UPDATED) {
                updated.complete(true);
            } else if (event.type() == GroupEvent.Type.GROUP_UPDATE_FAILED) {
                updated.complete(false);
            }
        }
        CompletableFuture<Boolean> done = pendingGroups.get(g.appCookie());
        if (done == null) {
            return;
        }
        if (event.type() == GroupEvent.Type.GROUP_ADDED) {
            done.complete(true);
        } else if (event.type() == GroupEvent.Type.GROUP_ADD_FAILED) {
            done.complete(false);
        }
    }

    private void success(Objective obj) {
        obj.context().ifPresent(c -> c.onSuccess(obj));
    }

    private void fail(Objective obj, LinxException e) {
        log.warn("{} on {} failed: {}: {}", ObjectiveTranslator.describe(obj), deviceId, e.error(), e.getMessage());
        obj.context().ifPresent(c -> c.onError(obj, e.error()));
    }

    /** What the flow objective store keeps about an installed next objective. */
    static final class LinxNextGroup implements NextGroup {
        final NextObjective.Type type;
        final int id;

        LinxNextGroup(NextObjective.Type type, int id) {
            this.type = type;
            this.id = id;
        }

        @Override
        public byte[] data() {
            return (type.name() + ":" + id).getBytes(StandardCharsets.UTF_8);
        }

        static LinxNextGroup decode(NextGroup g) {
            if (g == null || g.data() == null) {
                return null;
            }
            String[] parts = new String(g.data(), StandardCharsets.UTF_8).split(":", 2);
            try {
                return new LinxNextGroup(NextObjective.Type.valueOf(parts[0]), Integer.parseInt(parts[1]));
            } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
                return null;
            }
        }
    }
}
