/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */

/**
 * The value vocabulary of the linx shell commands: the human values linxctl accepts (addresses,
 * prefixes, protocol and DSCP names, port ranges, directions), parsed and checked before anything is
 * written. Plain Java, no ONOS dependency.
 */
package org.linx.onos.cli;
