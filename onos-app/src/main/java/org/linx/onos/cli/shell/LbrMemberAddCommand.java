/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.EntryView;
import org.linx.onos.cli.KeyValues;
import org.linx.onos.cli.LinxEntries;
import org.linx.onos.cli.LinxValues;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.core.ApplicationId;
import org.onosproject.net.DeviceId;
import org.onosproject.net.group.Group;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.group.GroupBuckets;
import org.onosproject.net.group.GroupService;
import org.onosproject.net.pi.runtime.PiGroupKey;

import java.util.List;

/**
 * linx:lbr-member-add DEVICE LBR TUNNEL [weight=W].
 */
@Service
@Command(scope = "linx", name = "lbr-member-add",
        description = "Adds overlay TUNNEL with weight W (default 1) to load-balancing rule LBR: the first member "
                + "creates the lbr_selector group LBR and the lbr entry pointing to it")
public class LbrMemberAddCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "lbr", description = "LBR id (also the group id), 1..2147483647", required = true)
    String lbr = null;

    @Argument(index = 2, name = "tunnel", description = "Tunnel id", required = true)
    @Completion(TunnelIdCompleter.class)
    String tunnel = null;

    @Argument(index = 3, name = "params", description = "[weight=W]", multiValued = true)
    List<String> params = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        int id = LinxEntries.lbrId(lbr);
        long t = LinxValues.tunnelId("tunnel", tunnel);
        short weight = LinxEntries.weight(new KeyValues("lbr member", params, "weight").get("weight").orElse("1"));
        ApplicationId app = cliApp();
        GroupService groups = service(GroupService.class);
        PiGroupKey key = LinxEntries.lbrGroupKey(id);
        Group group = LbrGroups.checkedGroup(groups, d, id, cliApp());
        GroupBucket member = LinxEntries.lbrMember(t, weight);
        if (group == null) {
            groups.addGroup(LinxEntries.lbrGroup(d, app, id, List.of(member)));
            if (!LbrGroups.await(this, groups, d, key, 1, "add lbr_selector group " + id + ": member " + t + ":"
                    + weight)) {
                return;
            }
        } else {
            for (GroupBucket b : group.buckets().buckets()) {
                if (EntryView.memberTunnel(b) == t) {
                    throw new IllegalArgumentException("tunnel " + t + " is already a member of lbr " + id
                            + " (weight " + b.weight() + "): remove it first to change its weight");
                }
            }
            int size = group.buckets().buckets().size();
            if (size >= LinxEntries.MAX_GROUP_SIZE) {
                throw new IllegalArgumentException("lbr " + id + " has " + size + " members, the most an "
                        + "lbr_selector group takes (max_group_size)");
            }
            groups.addBucketsToGroup(d, key, new GroupBuckets(List.of(member)), key, app);
            if (!LbrGroups.await(this, groups, d, key, size + 1, "add member " + t + ":" + weight
                    + " to lbr_selector group " + id)) {
                return;
            }
        }
        if (find(LinxEntries.lbrEntry(d, app, id)).isEmpty() && !add(LinxEntries.lbrEntry(d, app, id), "lbr " + id,
                false)) {
            return;
        }
        warnIfMissing(LinxEntries.tunnelKey(d, app, Long.toString(t)), "tunnel " + t);
    }
}
