/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onosproject.net.flowobjective.ObjectiveError;

/**
 * An objective or treatment linx cannot carry out, with the ObjectiveError ONOS
 * reports to the application and a message saying why.
 */
final class LinxException extends Exception {

    private static final long serialVersionUID = 1L;

    private final ObjectiveError error;

    LinxException(ObjectiveError error, String message) {
        super(message);
        this.error = error;
    }

    ObjectiveError error() {
        return error;
    }
}
