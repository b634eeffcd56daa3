/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */

/**
 * ONOS app for linx edge gateways: the org.linx.pipeconf pipeconf, the linx driver, and the interpreter
 * and pipeliner that turn ONOS flow rules, objectives and packets into linx P4Runtime entities.
 */
package org.linx.onos;
