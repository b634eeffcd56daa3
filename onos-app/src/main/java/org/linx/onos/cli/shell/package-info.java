/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */

/**
 * The linx:* Karaf shell commands and their completers: thin wrappers that parse arguments
 * with {@link org.linx.onos.cli.LinxEntries}, look entries up and submit flow rules and
 * groups through ONOS's FlowRuleService and GroupService.
 */
package org.linx.onos.cli.shell;
