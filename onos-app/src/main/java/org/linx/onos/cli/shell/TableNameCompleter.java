/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos.cli.shell;

import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.linx.onos.cli.LinxEntries;
import org.onosproject.cli.AbstractChoicesCompleter;

import java.util.ArrayList;
import java.util.List;

/**
 * Completes the linx pipeline's table names (pdr, far, lbr, tunnels, tunnel_term, non_ip).
 */
@Service
public class TableNameCompleter extends AbstractChoicesCompleter {
    @Override
    protected List<String> choices() {
        return new ArrayList<>(LinxEntries.TABLES.keySet());
    }
}
