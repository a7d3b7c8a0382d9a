package org.cmm.eventbroker.tools;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import ca.uhn.hl7v2.DefaultHapiContext;
import ca.uhn.hl7v2.HapiContext;
import ca.uhn.hl7v2.app.Connection;
import ca.uhn.hl7v2.model.Message;
import ca.uhn.hl7v2.validation.impl.ValidationContextFactory;

/**
 * A command-line HL7 v2 sender (HAPI's MLLP client) for trying the runtime:
 * {@code java -cp target/cmm-event-broker.jar org.cmm.eventbroker.tools.SendHl7 [--host H] [--port P] [file.hl7 ...]}.
 * Without files it sends one synthetic ADT^A01 with a fresh control id. Prints each ACK.
 */
public final class SendHl7 {

    private SendHl7() {
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 2575;
        List<String> messages = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                default -> messages.add(Files.readString(Path.of(args[i]), StandardCharsets.ISO_8859_1));
            }
        }
        if (messages.isEmpty()) {
            messages.add(sampleAdmission());
        }
        ExecutorService executor = Executors.newCachedThreadPool();
        int failures = 0;
        try (HapiContext hapi = new DefaultHapiContext()) {
            hapi.setExecutorService(executor);
            hapi.setValidationContext(ValidationContextFactory.noValidation());
            Connection connection = hapi.newClient(host, port, false);
            for (String text : messages) {
                Message message = hapi.getPipeParser().parse(text.replace("\r\n", "\r").replace('\n', '\r'));
                Message ack = connection.getInitiator().sendAndReceive(message);
                String encoded = ack.encode();
                System.out.println(encoded.replace('\r', '\n'));
                if (!encoded.contains("MSA|AA")) {
                    failures++;
                }
            }
        } finally {
            executor.shutdownNow();
        }
        System.exit(failures == 0 ? 0 : 1);
    }

    private static String sampleAdmission() {
        String now = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss"));
        String controlId = "DEMO" + System.currentTimeMillis();
        return "MSH|^~\\&|DEMO_EHR|DEMO_HOSP|CMM_BROKER|CMM|" + now + "||ADT^A01^ADT_A01|" + controlId + "|P|2.5.1\r"
                + "EVN|A01|" + now + "\r"
                + "PID|1||DEMO0001^^^DEMO_HOSP^MR||TESTPATIENT^DEMO||19700101|U\r"
                + "PV1|1|I|WARD1^101^A^DEMO_HOSP\r";
    }
}
