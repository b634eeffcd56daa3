/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.linx.onos.cli.LinxEntries;
import org.onosproject.core.ApplicationId;
import org.onosproject.net.DeviceId;
import org.onosproject.net.group.Group;
import org.onosproject.net.group.GroupService;
import org.onosproject.net.pi.runtime.PiGroupKey;

/**
 * The lbr_selector groups of the LBR commands: finding them and waiting for ONOS to
 * report the device took a change (GroupService has no completion callback).
 */
final class LbrGroups {

    private LbrGroups() {
    }

    /**
     * The group of LBR id, or null. Refuses a group id another app uses: a HASHED next
     * objective's group has the same id and key (its next id), and changing it behind
     * the flow objective store would leave the store wrong.
     */
    static Group checkedGroup(GroupService groups, DeviceId d, int id, ApplicationId app) {
        PiGroupKey key = LinxEntries.lbrGroupKey(id);
        Group group = groups.getGroup(d, key);
        for (Group g : groups.getGroups(d)) {
            if (g.id().id() == id && (!g.appId().equals(app) || !g.appCookie().equals(key))) {
                throw new IllegalArgumentException("group id " + id + " on " + d + " belongs to app "
                        + g.appId().name() + " (a HASHED next objective uses its next id): use another LBR id");
            }
        }
        if (group != null && !group.appId().equals(app)) {
            throw new IllegalArgumentException("lbr_selector group " + id + " on " + d + " belongs to app "
                    + group.appId().name() + " (a HASHED next objective uses its next id): use another LBR id");
        }
        return group;
    }

    /**
     * Waits until group key has size buckets and is ADDED (or is gone for size 0).
     */
    static boolean await(LinxShellCommand cmd, GroupService groups, DeviceId d, PiGroupKey key, int size,
                         String what) {
        long deadline = System.currentTimeMillis() + LinxShellCommand.WAIT_SECONDS * 1000;
        Group g = null;
        while (System.currentTimeMillis() < deadline) {
            g = groups.getGroup(d, key);
            if (size == 0 && g == null) {
                cmd.print("%s: OK", what);
                return true;
            }
            if (g != null && g.state() == Group.GroupState.ADDED && g.buckets().buckets().size() == size) {
                cmd.print("%s: OK", what);
                return true;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        cmd.error("%s: %s after %d s (groups shows it; the ONOS log has the device's error)", what,
                g == null ? "no group" : g.state().toString(), LinxShellCommand.WAIT_SECONDS);
        return false;
    }
}
