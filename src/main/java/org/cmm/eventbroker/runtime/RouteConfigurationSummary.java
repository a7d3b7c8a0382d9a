package org.cmm.eventbroker.runtime;

import org.apache.camel.CamelContext;
import org.apache.camel.ExtendedStartupListener;
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
    public void afterConfigure(BaseMainSupport main) {
        // once every route has started (Main.start() and Main.run() alike)
        try {
            main.getCamelContext().addStartupListener(new ExtendedStartupListener() {
                @Override
                public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
                }

                @Override
                public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
                    log(context);
                }
            });
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
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
