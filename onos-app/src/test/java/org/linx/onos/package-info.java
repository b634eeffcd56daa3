/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */

/**
 * Tests of the linx ONOS app, and the contract (contract.txt) the agent replays.
 */
package org.linx.onos;
