/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */

/**
 * What the linx shell commands write and show, as plain classes: the value vocabulary of
 * linxctl ({@link org.linx.onos.cli.LinxValues}: addresses, prefixes, protocol and DSCP
 * names, port ranges, directions, checked before anything is written; no ONOS dependency),
 * KEY=VALUE words, the flow rules and groups each command builds
 * ({@link org.linx.onos.cli.LinxEntries}) and their reading back
 * ({@link org.linx.onos.cli.EntryView}). ONOS API only, no Karaf: unit-tested.
 */
package org.linx.onos.cli;
