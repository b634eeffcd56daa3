/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.linx.onos.cli.EntryView;
import org.linx.onos.cli.LinxEntries;
import org.onosproject.cli.AbstractShellCommand;
import org.onosproject.core.ApplicationId;
import org.onosproject.core.CoreService;
import org.onosproject.net.Device;
import org.onosproject.net.DeviceId;
import org.onosproject.net.device.DeviceService;
import org.onosproject.net.flow.FlowEntry;
import org.onosproject.net.flow.FlowRule;
import org.onosproject.net.flow.FlowRuleOperations;
import org.onosproject.net.flow.FlowRuleOperationsContext;
import org.onosproject.net.flow.FlowRuleService;
import org.onosproject.net.pi.model.PiTableId;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the linx commands share: the device argument, the app id they write with,
 * looking entries up by key, and submitting flow rule operations through ONOS's
 * FlowRuleService, waiting for the device's answer. Bad values
 * (IllegalArgumentException from the builders) are printed as errors before anything
 * is written.
 */
public abstract class LinxShellCommand extends AbstractShellCommand {

    /** How long a command waits for ONOS to report the device's answer. */
    static final long WAIT_SECONDS = 10;

    @Override
    protected final void doExecute() {
        try {
            run();
        } catch (IllegalArgumentException e) {
            error("%s", e.getMessage());
        }
    }

    /**
     * The command itself.
     *
     * @throws IllegalArgumentException for a bad value: printed, nothing written
     */
    protected abstract void run();

    /**
     * An ONOS service (AbstractShellCommand.get; tests override it).
     *
     * @param type the service's interface
     * @param <T>  its type
     * @return the service
     */
    protected <T> T service(Class<T> type) {
        return get(type);
    }

    /**
     * A device ONOS knows.
     *
     * @param uri the device argument
     * @return its id
     */
    protected DeviceId device(String uri) {
        DeviceId id = DeviceId.deviceId(uri);
        Device d = service(DeviceService.class).getDevice(id);
        if (d == null) {
            throw new IllegalArgumentException("no device " + uri + " in ONOS (devices lists them)");
        }
        return id;
    }

    /**
     * The application id the commands write with, org.linx.onos.cli.
     *
     * @return the id
     */
    protected ApplicationId cliApp() {
        return service(CoreService.class).registerApplication(LinxEntries.APP_NAME);
    }

    /**
     * The entries ONOS has for one table of a device, any app's.
     *
     * @param device device
     * @param table  table
     * @return its flow entries
     */
    protected List<FlowEntry> entries(DeviceId device, PiTableId table) {
        List<FlowEntry> out = new ArrayList<>();
        for (FlowEntry e : service(FlowRuleService.class).getFlowEntries(device)) {
            if (e.table().equals(table)) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * The entry with the same key as a rule, whoever wrote it.
     *
     * @param key a rule with the key
     * @return the entry ONOS has
     */
    protected Optional<FlowEntry> find(FlowRule key) {
        for (FlowEntry e : entries(key.deviceId(), (PiTableId) key.table())) {
            if (EntryView.sameKey(e, key)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /**
     * Adds a rule: refused if an entry with its key exists, unless replace (then ONOS
     * modifies the entry).
     *
     * @param rule    the rule
     * @param what    the entry in words ("tunnel 1")
     * @param replace whether an existing entry may be replaced
     * @return true once the device took it
     */
    protected boolean add(FlowRule rule, String what, boolean replace) {
        Optional<FlowEntry> old = find(rule);
        FlowRuleOperations.Builder ops = FlowRuleOperations.builder();
        if (old.isPresent()) {
            if (!replace) {
                throw new IllegalArgumentException(what + " exists on " + rule.deviceId() + " ("
                        + EntryView.actionText(old.get()) + ", " + old.get().state() + "): remove it first, "
                        + "or give -r/--replace");
            }
            if (old.get().equals(rule) && old.get().appId() == rule.appId()) {
                ops.modify(rule);
            } else {
                // another app's entry, or the same key in other byte strings: ONOS would keep both
                ops.remove(old.get()).newStage().add(rule);
            }
        } else {
            ops.add(rule);
        }
        return submit(ops, (old.isPresent() ? "replace " : "add ") + what + ": " + EntryView.actionText(rule));
    }

    /**
     * Removes the entry with a rule's key.
     *
     * @param key  a rule with the key
     * @param what the entry in words
     */
    protected void remove(FlowRule key, String what) {
        FlowEntry old = find(key).orElseThrow(() -> new IllegalArgumentException(
                "no " + what + " on " + key.deviceId()));
        submit(FlowRuleOperations.builder().remove(old), "remove " + what);
    }

    /**
     * Submits operations through the FlowRuleService and prints the outcome ONOS
     * reports: OK once the device took them, FAILED if it refused them.
     *
     * @param ops  the operations
     * @param what the change in words
     * @return true on success
     */
    protected boolean submit(FlowRuleOperations.Builder ops, String what) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        service(FlowRuleService.class).apply(ops.build(new FlowRuleOperationsContext() {
            @Override
            public void onSuccess(FlowRuleOperations o) {
                done.complete(true);
            }

            @Override
            public void onError(FlowRuleOperations o) {
                done.complete(false);
            }
        }));
        try {
            if (done.get(WAIT_SECONDS, TimeUnit.SECONDS)) {
                print("%s: OK", what);
                return true;
            }
            error("%s: FAILED: the device refused it (the ONOS log has its error)", what);
        } catch (TimeoutException e) {
            error("%s: submitted, no answer from the device within %d s (flows shows its state)", what,
                    WAIT_SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            error("%s: %s", what, e.getCause());
        }
        return false;
    }

    /**
     * Warns when an entry a write refers to does not exist (the device accepts the
     * reference; packets needing it are dropped until it is written), as linxctl does.
     *
     * @param key  the key of the entry referred to
     * @param what the entry in words
     */
    protected void warnIfMissing(FlowRule key, String what) {
        if (find(key).isEmpty()) {
            print("warning: %s, referred to by this write, does not exist on %s: packets that need it are "
                    + "dropped until it is written", what, key.deviceId());
        }
    }

    /**
     * Prints aligned rows.
     *
     * @param header header
     * @param rows   rows
     */
    protected void printTable(List<String> header, List<List<String>> rows) {
        for (String line : EntryView.table(header, rows)) {
            print("%s", line);
        }
    }
}
