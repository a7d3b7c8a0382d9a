package org.cmm.eventbroker.bench;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;

/**
 * Device gateways as hospitals have them: a few MQTT connections, each publishing for many devices (a central station
 * or device gateway aggregates its bed-side monitors). {@code devices} patient monitors are spread over
 * {@code gateways} connections; each reading is published at QoS 1 on
 * {@code <prefix>/patient-monitor/PM-<n>/vitals} with SpO2 and heart rate, a run-unique id and the time it was due
 * ({@code dueNanos}, System.nanoTime of this JVM), which the Kafka side turns into a latency. Alerts go the same
 * way on {@code <alertsPrefix>/patient-monitor/PM-<n>/alerts}: canonical alert JSON (README, Device alerts), kind
 * physiological, the run, a sequence number and the due time in the alert id (the runtime keeps no other field).
 */
final class SimulatedGateways implements AutoCloseable {

    /** QoS 1 publishes a connection may have unacknowledged (below mosquitto's receive maximum). */
    private static final int IN_FLIGHT_PER_GATEWAY = 500;

    private final List<MqttAsyncClient> clients = new ArrayList<>();
    private final List<Semaphore> inFlight = new ArrayList<>();
    private final String prefix;
    private final String alertsPrefix;
    private final int devices;
    final AtomicLong failed = new AtomicLong();

    SimulatedGateways(String brokerUrl, String prefix, String alertsPrefix, int gateways, int devices)
            throws Exception {
        this.prefix = prefix;
        this.alertsPrefix = alertsPrefix;
        this.devices = devices;
        for (int g = 0; g < gateways; g++) {
            MqttAsyncClient c = new MqttAsyncClient(brokerUrl, prefix + "-gw-" + g + "-" + System.nanoTime(),
                    new MemoryPersistence());
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setCleanStart(true);
            c.connect(o).waitForCompletion(10_000);
            clients.add(c);
            inFlight.add(new Semaphore(IN_FLIGHT_PER_GATEWAY));
        }
    }

    int gateways() {
        return clients.size();
    }

    /** Publishes reading {@code seq} of device {@code device} through the gateway that device belongs to. */
    void publish(String run, int device, long seq, long dueNanos) throws Exception {
        String body = "{\"timestamp\":\"" + Instant.now() + "\",\"bench\":\"" + run + ":" + device + ":" + seq
                + "\",\"dueNanos\":" + dueNanos + ",\"readings\":[{\"code\":\"MDC_PULS_OXIM_SAT_O2\",\"value\":"
                + (90 + seq % 10) + ",\"unit\":\"%\"},{\"code\":\"MDC_ECG_HEART_RATE\",\"value\":" + (60 + seq % 40)
                + ",\"unit\":\"/min\"}]}";
        send(device, prefix + "/patient-monitor/PM-" + device + "/vitals", body);
    }

    /**
     * Publishes alert {@code seq} of device {@code device} (QoS 1): an active physiological alert whose alert id is
     * {@code bench:<run>:<seq>:<dueNanos>}, priorities and codes varying.
     */
    void publishAlert(String run, int device, long seq, long dueNanos) throws Exception {
        String priority = switch ((int) (seq % 3)) {
            case 0 -> "high";
            case 1 -> "medium";
            default -> "low";
        };
        String code = seq % 2 == 0 ? "MDC_EVT_LO" : "MDC_EVT_HI";
        String body = "{\"alertId\":\"bench:" + run + ":" + seq + ":" + dueNanos + "\",\"deviceId\":\"PM-" + device
                + "\",\"deviceType\":\"patient-monitor\",\"patientId\":\"P-" + device
                + "\",\"kind\":\"physiological\",\"priority\":\"" + priority + "\",\"code\":\"" + code
                + "\",\"state\":\"active\",\"timestamp\":\"" + Instant.now() + "\",\"text\":\"SpO2 "
                + (80 + seq % 5) + " %\"}";
        send(device, alertsPrefix + "/patient-monitor/PM-" + device + "/alerts", body);
    }

    private void send(int device, String topic, String body) throws Exception {
        int g = device % clients.size();
        MqttMessage m = new MqttMessage(body.getBytes(StandardCharsets.UTF_8));
        m.setQos(1);
        Semaphore permits = inFlight.get(g);
        permits.acquire();
        clients.get(g).publish(topic, m, null, new MqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                permits.release();
            }

            @Override
            public void onFailure(IMqttToken token, Throwable e) {
                failed.incrementAndGet();
                permits.release();
            }
        });
    }

    /** {@code count} readings as fast as the gateways can publish them, one thread per gateway. */
    void flatOut(String run, long count) throws Exception {
        List<Thread> threads = new ArrayList<>();
        int gateways = clients.size();
        Exception[] error = new Exception[1];
        for (int g = 0; g < gateways; g++) {
            int gateway = g;
            Thread t = new Thread(() -> {
                try {
                    // gateway g owns devices g, g + gateways, ...; reading i goes to device i % devices
                    for (long i = gateway; i < count; i += gateways) {
                        publish(run, (int) (i % devices), i, System.nanoTime());
                    }
                } catch (Exception e) {
                    error[0] = e;
                }
            }, "gateway-" + g);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        if (error[0] != null) {
            throw error[0];
        }
    }

    /** {@code count} alerts of run {@code run} one after the other, as fast as one thread publishes them. */
    void alertsFlatOut(String run, long count) throws Exception {
        for (long j = 0; j < count; j++) {
            publishAlert(run, (int) ((j * 37) % devices), j, System.nanoTime());
        }
    }

    /**
     * Every device reports at {@code hz} for {@code seconds}, readings evenly spaced; the due time, not the time the
     * publish call happened, is what latency is measured from (no coordinated omission). With
     * {@code alertsPerSecond} above 0, alerts of run {@code alertRun} are published over the same seconds, evenly
     * spaced, on a thread of their own, spread over the devices.
     */
    void paced(String run, double hz, int seconds, String alertRun, double alertsPerSecond) throws Exception {
        long start = System.nanoTime() + 1_000_000;
        Exception[] alertError = new Exception[1];
        Thread alerts = null;
        if (alertsPerSecond > 0) {
            long alertCount = (long) (alertsPerSecond * seconds);
            double alertInterval = 1e9 / alertsPerSecond;
            alerts = new Thread(() -> {
                try {
                    for (long j = 0; j < alertCount; j++) {
                        long due = start + (long) (j * alertInterval);
                        awaitDue(due);
                        publishAlert(alertRun, (int) ((j * 37) % devices), j, due);
                    }
                } catch (Exception e) {
                    alertError[0] = e;
                }
            }, "alerts-" + alertRun);
            alerts.start();
        }
        long count = (long) (devices * hz * seconds);
        double intervalNanos = 1e9 / (devices * hz);
        for (long i = 0; i < count; i++) {
            long due = start + (long) (i * intervalNanos);
            awaitDue(due);
            publish(run, (int) (i % devices), i, due);
        }
        if (alerts != null) {
            alerts.join();
            if (alertError[0] != null) {
                throw alertError[0];
            }
        }
    }

    private static void awaitDue(long due) {
        long wait = due - System.nanoTime();
        if (wait > 0) {
            LockSupport.parkNanos(wait);
        }
    }

    @Override
    public void close() {
        for (MqttAsyncClient c : clients) {
            try {
                c.disconnect().waitForCompletion(5000);
                c.close();
            } catch (Exception ignored) {
                // the benchmark is over
            }
        }
    }
}
