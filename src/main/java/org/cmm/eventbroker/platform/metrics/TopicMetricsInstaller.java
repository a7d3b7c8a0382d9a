package org.cmm.eventbroker.platform.metrics;

import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;

/**
 * Adds {@link TopicMetrics} to the runtime when Camel's metrics are on ({@code camel.metrics.enabled}), before the
 * routes start, so the first record is counted.
 */
public final class TopicMetricsInstaller extends MainListenerSupport {

    @Override
    public void afterConfigure(BaseMainSupport main) {
        CamelContext context = main.getCamelContext();
        String enabled = context.getPropertiesComponent().resolveProperty("camel.metrics.enabled").orElse("false");
        if (Boolean.parseBoolean(enabled)) {
            TopicMetrics metrics = new TopicMetrics(context);
            context.getRegistry().bind(TopicMetrics.BEAN_NAME, metrics);
            context.getManagementStrategy().addEventNotifier(metrics);
        }
    }
}
