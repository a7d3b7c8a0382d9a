package org.cmm.eventbroker.runtime;

import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpEngine;

/**
 * Puts the platform-http routes (the EHR API webhooks) on the platform HTTP server ({@code camel.server.port}), not on
 * the management server.
 *
 * <p>Why: with the management server on its own port there are two Vert.x HTTP servers, and Camel 4.17's engine then
 * cannot tell which one its consumers belong to ({@code getServerPort()} finds no single server and falls back to
 * 8080): a route lands on the management server when that listens on 8080, and fails to start ("No PlatformHttpEngine
 * created and setup in registry with name: platform-http-router-8080") when neither does. Registered in the registry
 * as {@code platform-http-engine}, which the platform-http component looks up first.
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
}
