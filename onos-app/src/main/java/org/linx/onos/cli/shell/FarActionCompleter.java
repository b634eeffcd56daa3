/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.onosproject.cli.AbstractChoicesCompleter;

import java.util.List;

/**
 * Completes FAR actions.
 */
@Service
public class FarActionCompleter extends AbstractChoicesCompleter {
    @Override
    protected List<String> choices() {
        return List.of("drop", "pass", "punt", "forward", "encap", "balance");
    }
}
