package org.cmm.eventbroker.runtime;

import java.util.ArrayList;
import java.util.List;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.Processor;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.component.platform.http.spi.PlatformHttpConsumer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpEngine;
import org.cmm.eventbroker.platform.security.http.HttpAccess;

/**
 * Puts the platform-http routes (the EHR API webhooks) on the platform HTTP server ({@code camel.server.port}), not on
 * the management server, and puts the access check in front of every one of them when access control is on.
 *
 * <p>Why: with the management server on its own port there are two Vert.x HTTP servers, and Camel 4.17's engine then
 * cannot tell which one its consumers belong to ({@code getServerPort()} finds no single server and falls back to
 * 8080): a route lands on the management server when that listens on 8080, and fails to start ("No PlatformHttpEngine
 * created and setup in registry with name: platform-http-router-8080") when neither does. Registered in the registry
 * as {@code platform-http-engine}, which the platform-http component looks up first.
 *
 * <p>Access control ({@link HttpAccess}, {@code config/access.properties}): the intake guard is the first handler of
 * every platform-http route, so no route is ever served unguarded and no YAML route has to ask for it; the management
 * server's guard is put in front of all its routes when the first intake starts (before any route runs).
 */
public class MainServerPlatformHttpEngine extends VertxPlatformHttpEngine {

    private int port;

    /** The port of the platform HTTP server, {@code camel.server.port}. */
    public void setPort(int port) {
        this.port = port;
    }

    @Override
    public int getServerPort() {
        return port > 0 ? port : super.getServerPort();
    }

    @Override
    public PlatformHttpConsumer createConsumer(PlatformHttpEndpoint endpoint, Processor processor) {
        HttpAccess access = HttpAccess.of(endpoint.getCamelContext());
        if (access.enabled()) {
            synchronized (this) {
                List<Handler<RoutingContext>> handlers = getHandlers() == null ? List.of() : getHandlers();
                if (!handlers.contains(access.intakeGuard())) {
                    List<Handler<RoutingContext>> guarded = new ArrayList<>();
                    guarded.add(access.intakeGuard());
                    guarded.addAll(handlers);
                    setHandlers(guarded);
                }
            }
            access.guardManagementServer(endpoint.getCamelContext());
        }
        return super.createConsumer(endpoint, processor);
    }
}
