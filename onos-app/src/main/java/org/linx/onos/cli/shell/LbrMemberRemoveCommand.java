/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.EntryView;
import org.linx.onos.cli.LinxEntries;
import org.linx.onos.cli.LinxValues;
import org.onosproject.cli.net.DeviceIdCompleter;
import org.onosproject.net.DeviceId;
import org.onosproject.net.flow.FlowEntry;
import org.onosproject.net.flow.FlowRuleOperations;
import org.onosproject.net.group.Group;
import org.onosproject.net.group.GroupBucket;
import org.onosproject.net.group.GroupBuckets;
import org.onosproject.net.group.GroupService;
import org.onosproject.net.pi.runtime.PiGroupKey;

import java.util.List;
import java.util.Optional;

/**
 * linx:lbr-member-remove DEVICE LBR TUNNEL.
 */
@Service
@Command(scope = "linx", name = "lbr-member-remove",
        description = "Removes overlay TUNNEL from load-balancing rule LBR; removing the last member removes the "
                + "lbr entry and the group")
public class LbrMemberRemoveCommand extends LinxShellCommand {

    @Argument(index = 0, name = "device", description = "Device ID", required = true)
    @Completion(DeviceIdCompleter.class)
    String device = null;

    @Argument(index = 1, name = "lbr", description = "LBR id", required = true)
    String lbr = null;

    @Argument(index = 2, name = "tunnel", description = "Tunnel id", required = true)
    @Completion(TunnelIdCompleter.class)
    String tunnel = null;

    @Override
    protected void run() {
        DeviceId d = device(device);
        int id = LinxEntries.lbrId(lbr);
        long t = LinxValues.tunnelId("tunnel", tunnel);
        GroupService groups = service(GroupService.class);
        PiGroupKey key = LinxEntries.lbrGroupKey(id);
        Group group = LbrGroups.checkedGroup(groups, d, id, cliApp());
        if (group == null) {
            throw new IllegalArgumentException("no lbr_selector group " + id + " on " + d);
        }
        GroupBucket member = null;
        for (GroupBucket b : group.buckets().buckets()) {
            if (EntryView.memberTunnel(b) == t) {
                member = b;
            }
        }
        if (member == null) {
            throw new IllegalArgumentException("tunnel " + t + " is not a member of lbr " + id);
        }
        int size = group.buckets().buckets().size();
        if (size > 1) {
            groups.removeBucketsFromGroup(d, key, new GroupBuckets(List.of(member)), key, group.appId());
            LbrGroups.await(this, groups, d, key, size - 1, "remove member " + t + " from lbr_selector group " + id);
            return;
        }
        // the last member: the lbr entry goes first (it refers to the group), then the group
        Optional<FlowEntry> entry = find(LinxEntries.lbrEntry(d, cliApp(), id));
        if (entry.isPresent() && !submit(FlowRuleOperations.builder().remove(entry.get()), "remove lbr " + id)) {
            return;
        }
        groups.removeGroup(d, key, group.appId());
        LbrGroups.await(this, groups, d, key, 0, "remove lbr_selector group " + id + " (its last member was "
                + t + ")");
    }
}
