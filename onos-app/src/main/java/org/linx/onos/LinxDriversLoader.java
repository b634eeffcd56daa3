/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onosproject.net.driver.AbstractDriverLoader;
import org.osgi.service.component.annotations.Component;

/**
 * Registers the {@code linx} driver (linx-drivers.xml): the stratum driver family
 * (P4Runtime, gNMI ports and port statistics, gNOI probe) plus a pipeline
 * programmer, without which ONOS never marks a P4Runtime device available.
 */
@Component(immediate = true)
public class LinxDriversLoader extends AbstractDriverLoader {

    public LinxDriversLoader() {
        super("/linx-drivers.xml");
    }
}
