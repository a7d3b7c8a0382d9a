package org.cmm.eventbroker.bench;

import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

/**
 * The baseline of the device benchmark: the least a correct MQTT-to-Kafka bridge does, by hand. Paho subscriber on
 * the same persistent-session settings as the runtime (QoS 1, clean start off, receive maximum 1000, manual acks),
 * one KafkaProducer with the runtime's settings (acks=all, idempotent, linger 1 ms), topic and key from the MQTT
 * topic, the JSON parsed once (well-formed or not sent), PUBACK in the send callback. No catalogue checks, no
 * CloudEvents headers, no Camel: the gap to the runtime is what those cost.
 *
 * <p>Alerts the same way: {@code <alertsTopicPrefix>/<device-type>/<device-id>/alerts} to
 * {@code <kafkaTopicPrefix>.device.alerts.<kind>} ({@code kind} read from the parsed JSON, key the device id), on an
 * MQTT connection of its own (as the runtime's alert route has) but through the same producer (linger 1 ms; the
 * runtime's alert sink uses linger 0); no validation of the alert's fields, the payload forwarded as it came.
 *
 * <p>Arguments: mqttUrl clientId mqttTopicPrefix bootstrapServers kafkaTopicPrefix [alertsTopicPrefix]
 */
public final class PlainMqttKafkaBridge {

    private PlainMqttKafkaBridge() {
    }

    public static void main(String[] args) throws Exception {
        String mqttUrl = args[0];
        String clientId = args[1];
        String mqttPrefix = args[2];
        String bootstrap = args[3];
        String kafkaPrefix = args[4];
        String alertsPrefix = args.length > 5 ? args[5] : null;
        // deliberately a plain KafkaProducer, not one from KafkaClients: the baseline is the least a bridge does by hand
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
        KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        ObjectMapper json = new ObjectMapper();
        connect(mqttUrl, clientId, mqttPrefix + "/+/+/+", producer, json, kafkaPrefix, null);
        if (alertsPrefix != null) {
            // a connection of its own, as the runtime's alert route has (its own client id and callback thread)
            connect(mqttUrl, clientId + "-alerts", alertsPrefix + "/+/+/alerts", producer, json, kafkaPrefix,
                    alertsPrefix);
        }
        new CountDownLatch(1).await();
    }

    /**
     * One MQTT connection subscribed to {@code filter}: each message's JSON parsed once, sent, PUBACK in the send
     * callback. {@code alertsPrefix} non-null: alerts, to {@code <kafkaPrefix>.device.alerts.<kind>}.
     */
    private static void connect(String mqttUrl, String clientId, String filter, KafkaProducer<String, byte[]> producer,
                                ObjectMapper json, String kafkaPrefix, String alertsPrefix) throws MqttException {
        MqttClient client = new MqttClient(mqttUrl, clientId, new MemoryPersistence());
        client.setManualAcks(true);
        client.setCallback(new MqttCallback() {
            @Override
            public void messageArrived(String topic, MqttMessage message) {
                // <prefix>/<device-type>/<device-id>/<data-type>, or <alerts-prefix>/<device-type>/<device-id>/alerts
                String[] levels = topic.split("/");
                byte[] body = message.getPayload();
                JsonNode tree;
                try {
                    tree = json.readTree(body);
                } catch (Exception malformed) {
                    ack(message);
                    return;
                }
                String kafkaTopic = alertsPrefix != null
                        ? kafkaPrefix + ".device.alerts." + tree.path("kind").asText("unclassified")
                        : kafkaPrefix + "." + levels[1] + "." + levels[3];
                producer.send(new ProducerRecord<>(kafkaTopic, levels[2], body), (md, e) -> {
                    if (e == null) {
                        ack(message);
                    }
                });
            }

            private void ack(MqttMessage message) {
                try {
                    client.messageArrivedComplete(message.getId(), message.getQos());
                } catch (MqttException e) {
                    System.err.println("ack failed: " + e.getMessage());
                }
            }

            @Override
            public void disconnected(MqttDisconnectResponse response) {
                System.err.println("disconnected: " + response.getReasonString());
            }

            @Override
            public void mqttErrorOccurred(MqttException exception) {
                System.err.println("MQTT error: " + exception.getMessage());
            }

            @Override
            public void deliveryComplete(IMqttToken token) {
            }

            @Override
            public void connectComplete(boolean reconnect, String serverUri) {
            }

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {
            }
        });
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(false);
        options.setSessionExpiryInterval(86_400L);
        options.setReceiveMaximum(1000);
        client.connect(options);
        client.subscribe(filter, 1);
        System.out.println("bridge subscribed to " + filter);
    }
}
