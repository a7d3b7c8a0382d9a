package org.cmm.eventbroker.platform.health;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.cmm.eventbroker.platform.delivery.KafkaDeliveryConsumer;
import org.cmm.eventbroker.platform.kafka.KafkaClients;

/**
 * Readiness: can the runtime reach its Kafka cluster right now? Every ACK promises a durable write, so a runtime that
 * cannot reach Kafka answers AE to everything and should not receive traffic from a load balancer. Also DOWN when a
 * {@code kafka-delivery} consumer's poll thread ended on an error Kafka calls fatal: that flow no longer delivers.
 */
public class KafkaReadinessCheck extends AbstractHealthCheck {

    private int timeoutMs = 2000;
    private volatile Admin admin;

    public KafkaReadinessCheck() {
        super("cmm", "kafka");
    }

    /** How long one check waits for the cluster to answer. */
    public void setTimeoutMs(int timeoutMs) {
        this.timeoutMs = timeoutMs;
    }

    @Override
    public boolean isLiveness() {
        return false; // Kafka being away does not mean this process must be restarted
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        for (org.apache.camel.Route route : getCamelContext().getRoutes()) {
            if (route.getConsumer() instanceof KafkaDeliveryConsumer delivery && delivery.failure() != null) {
                // the flow no longer delivers: a commit or poll failure Kafka calls fatal ended its poll thread
                builder.detail("stopped.route", route.getRouteId());
                builder.message("delivery consumer of route " + route.getRouteId() + " stopped polling: "
                        + delivery.failure().getClass().getSimpleName());
                builder.down();
                return;
            }
        }
        try {
            builder.detail("bootstrap.servers", KafkaClients.of(getCamelContext()).bootstrapServers());
            int nodes = admin().describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs))
                    .nodes().get(timeoutMs + 500L, TimeUnit.MILLISECONDS).size();
            builder.detail("nodes", nodes);
            builder.up();
        } catch (Exception e) {
            builder.message("Kafka cluster not reachable: " + e.getClass().getSimpleName());
            builder.down();
        }
    }

    private Admin admin() {
        if (admin == null) {
            synchronized (this) {
                if (admin == null) {
                    admin = KafkaClients.of(getCamelContext()).admin("cmm-health", Map.of(
                            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs),
                            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs)));
                }
            }
        }
        return admin;
    }
}
