/*
 * Copyright 2026 the linx authors. Licensed under the Apache License, Version 2.0.
 */
package org.linx.onos;

import org.onosproject.core.CoreService;
import org.onosproject.net.behaviour.Pipeliner;
import org.onosproject.net.driver.DriverAdminService;
import org.onosproject.net.driver.DriverProvider;
import org.onosproject.net.pi.model.DefaultPiPipeconf;
import org.onosproject.net.pi.model.PiPipeconf;
import org.onosproject.net.pi.model.PiPipeconfId;
import org.onosproject.net.pi.model.PiPipelineInterpreter;
import org.onosproject.net.pi.service.PiPipeconfService;
import org.onosproject.p4runtime.model.P4InfoParser;
import org.onosproject.p4runtime.model.P4InfoParserException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.slf4j.Logger;

import java.net.URL;
import java.util.List;
import java.util.stream.Collectors;

import static org.onosproject.net.pi.model.PiPipeconf.ExtensionType.P4_INFO_TEXT;
import static org.slf4j.LoggerFactory.getLogger;

/**
 * Registers the linx pipeconf with ONOS when the app starts. The pipeline model is
 * parsed from {@code p4info.txt}, which `make generate` copies from the agent's
 * committed P4Info: ONOS pushes exactly the P4Info the agent accepts.
 */
@Component(immediate = true)
public final class LinxPipeconfLoader {

    private static final Logger log = getLogger(LinxPipeconfLoader.class);

    /** ONOS application name (also owner of the pipeliner's shared FARs). */
    public static final String APP_NAME = "org.linx.onos";
    /** Pipeconf id to put in a device's netcfg {@code basic.pipeconf}. */
    public static final PiPipeconfId PIPECONF_ID = new PiPipeconfId("org.linx.pipeconf");

    static final String P4INFO_RESOURCE = "/p4info.txt";

    /** The pipeconf; built once, when the class loads, so a broken P4Info fails the app's start. */
    public static final PiPipeconf PIPECONF = buildPipeconf();

    @Reference(cardinality = ReferenceCardinality.MANDATORY)
    private PiPipeconfService pipeconfService;

    @Reference(cardinality = ReferenceCardinality.MANDATORY)
    private CoreService coreService;

    @Reference(cardinality = ReferenceCardinality.MANDATORY)
    private DriverAdminService driverAdminService;

    @Activate
    public void activate() {
        coreService.registerApplication(APP_NAME);
        // ONOS caches drivers merged with a pipeconf ("linx:org.linx.pipeconf"); after an
        // upgrade of this app they would keep the old interpreter and pipeliner.
        removeMergedDrivers();
        pipeconfService.register(PIPECONF);
        log.info("Registered pipeconf {} (fingerprint 0x{})", PIPECONF_ID, Long.toHexString(PIPECONF.fingerprint()));
    }

    @Deactivate
    public void deactivate() {
        pipeconfService.unregister(PIPECONF_ID);
        removeMergedDrivers();
        LinxPipeliner.removeListeners();
        log.info("Unregistered pipeconf {}", PIPECONF_ID);
    }

    private void removeMergedDrivers() {
        List<DriverProvider> stale = driverAdminService.getProviders().stream()
                .filter(p -> p.getDrivers().stream().anyMatch(d -> d.name().endsWith(":" + PIPECONF_ID.id())))
                .collect(Collectors.toList());
        stale.forEach(driverAdminService::unregisterProvider);
    }

    static PiPipeconf buildPipeconf() {
        URL p4info = LinxPipeconfLoader.class.getResource(P4INFO_RESOURCE);
        if (p4info == null) {
            throw new IllegalStateException("resource " + P4INFO_RESOURCE + " is missing from the app");
        }
        try {
            return DefaultPiPipeconf.builder()
                    .withId(PIPECONF_ID)
                    .withPipelineModel(P4InfoParser.parse(p4info))
                    .addBehaviour(PiPipelineInterpreter.class, LinxInterpreter.class)
                    .addBehaviour(Pipeliner.class, LinxPipeliner.class)
                    .addExtension(P4_INFO_TEXT, p4info)
                    .build();
        } catch (P4InfoParserException e) {
            throw new IllegalStateException("cannot parse " + P4INFO_RESOURCE + ": " + e.getMessage(), e);
        }
    }
}
