package org.cmm.eventbroker.runtime;

import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Once the routes have started, one INFO line per route that uses a routeConfiguration (its error handling, under
 * {@code routes/error-handling/}), naming both and the file the route comes from, so the log says which flow is
 * handled by which configuration ({@code camel.main.startup-summary-level = verbose} lists the routes, not their
 * configurations).
 */
public final class RouteConfigurationSummary extends MainListenerSupport {

    private static final Logger LOG = LoggerFactory.getLogger("org.cmm.eventbroker.routes");

    @Override
    public void afterStart(BaseMainSupport main) {
        log(main.getCamelContext());
    }

    static void log(CamelContext context) {
        for (Route route : context.getRoutes()) {
            if (route.getConfigurationId() != null) {
                LOG.info("Route {} ({}) uses routeConfiguration {}", route.getRouteId(), route.getSourceLocationShort(),
                        route.getConfigurationId());
            }
        }
    }
}
