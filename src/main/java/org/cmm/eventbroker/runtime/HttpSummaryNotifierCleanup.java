package org.cmm.eventbroker.runtime;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.apache.camel.CamelContext;
import org.apache.camel.Ordered;
import org.apache.camel.StartupListener;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.EventNotifier;
import org.apache.camel.spi.ManagementStrategy;
import org.apache.camel.support.service.ServiceHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Works around a leak in Camel 4.17's {@code camel-platform-http-main}: each HTTP server (the platform one and the
 * management one) adds an event notifier, for its endpoint summary in the log, every time Camel tells the startup
 * listeners that routes started. With the supervising route controller that is once per route, so the runtime with
 * every flow carried some 400 of them. Camel walks every started notifier at each step of every exchange, in every
 * flow: that walk was 40 % of the runtime's CPU per device reading and the reason device ingest fell to half the
 * plain bridge (issue 17, docs/reliability.md).
 *
 * <p>After each round (this listener is ordered last, and Camel sorts its startup listeners before each round), only
 * the first of those notifiers of each class is kept, so the summary is still logged when a route file is reloaded.
 */
public final class HttpSummaryNotifierCleanup extends MainListenerSupport {

    /** The class whose anonymous inner classes leak (they are the notifiers and their startup listeners). */
    static final String LEAKING_OWNER = "org.apache.camel.component.platform.http.main.MainHttpServerUtil$";

    private static final Logger LOG = LoggerFactory.getLogger(HttpSummaryNotifierCleanup.class);

    @Override
    public void afterConfigure(BaseMainSupport main) {
        try {
            main.getCamelContext().addStartupListener(new Cleanup());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Removes every leaked notifier after the first of its class; returns how many it removed. */
    static int removeDuplicates(CamelContext context) {
        ManagementStrategy management = context.getManagementStrategy();
        Set<Class<?>> kept = new HashSet<>();
        int removed = 0;
        for (EventNotifier notifier : List.copyOf(management.getEventNotifiers())) {
            if (notifier.getClass().getName().startsWith(LEAKING_OWNER) && !kept.add(notifier.getClass())) {
                management.removeEventNotifier(notifier);
                ServiceHelper.stopAndShutdownService(notifier);
                removed++;
            }
        }
        return removed;
    }

    private static final class Cleanup implements StartupListener, Ordered {

        @Override
        public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
            int removed = removeDuplicates(context);
            if (removed > 0) {
                LOG.debug("Removed {} duplicate HTTP summary event notifiers", removed);
            }
        }

        @Override
        public int getOrder() {
            return Ordered.LOWEST;
        }
    }
}
