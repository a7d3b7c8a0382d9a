package org.cmm.eventbroker.bench;

import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.HL7Service;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.protocol.ReceivingApplication;
import ca.uhn.hl7v2.protocol.ReceivingApplicationException;
import ca.uhn.hl7v2.util.Terser;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The baseline "what an engineer writes without Camel": HAPI's own MLLP server whose application publishes each
 * message to hl7.&lt;type&gt;.&lt;trigger&gt; with a plain KafkaProducer and returns the ACK after the write.
 * Validation is off (faster than HAPI's default) so the baseline is a strong one. Runs in its own JVM.
 * Arguments: port bootstrapServers topicPrefix.
 */
public final class HandWrittenHapiKafkaServer {

    private HandWrittenHapiKafkaServer() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String bootstrap = args[1];
        String prefix = args[2];
        KafkaProducer<String, byte[]> producer = RawKafkaLoad.baselineProducer(bootstrap);

        HapiContext context = new DefaultHapiContext();
        context.setExecutorService(Executors.newCachedThreadPool());
        context.setValidationContext(ValidationContextFactory.noValidation());
        HL7Service server = context.newServer(port, false);
        server.registerApplication("*", "*", new ReceivingApplication<Message>() {
            @Override
            public Message processMessage(Message message, Map<String, Object> metadata)
                    throws ReceivingApplicationException, HL7Exception {
                Terser terser = new Terser(message);
                String topic = prefix + "." + terser.get("/MSH-9-1").toLowerCase() + "." + terser.get("/MSH-9-2").toLowerCase();
                String key = terser.get("/.PID-3-1");
                String controlId = terser.get("/MSH-10");
                try {
                    ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, key != null ? key : controlId,
                            ((String) metadata.get(ca.uhn.hl7v2.protocol.MetadataKeys.IN_RAW_MESSAGE)).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                    record.headers().add("hl7_control_id", controlId.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    producer.send(record).get();
                    return message.generateACK();
                } catch (InterruptedException | ExecutionException e) {
                    throw new ReceivingApplicationException(e);
                } catch (java.io.IOException e) {
                    throw new HL7Exception(e);
                }
            }

            @Override
            public boolean canProcess(Message message) {
                return true;
            }
        });
        server.startAndWait();
        System.out.println("READY " + port);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stopAndWait();
            producer.close();
        }));
        Thread.currentThread().join();
    }
}
