package org.cmm.eventbroker.platform.kafka;

import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.cmm.eventbroker.testsupport.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaWindowedIdempotentRepositoryIT {

    @TempDir
    Path dataDir;

    private static KafkaWindowedIdempotentRepository repository(String bootstrap, long windowMs) throws Exception {
        KafkaWindowedIdempotentRepository r = new KafkaWindowedIdempotentRepository();
        r.setKafkaClients(KafkaClients.forBootstrap(bootstrap));
        r.setTopic("test.dedup");
        r.setWindowMs(windowMs);
        r.start();
        return r;
    }

    @Test
    void keysAreRememberedAcrossARestartOnlyWhileInsideTheWindow() throws Exception {
        try (EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(),
                dataDir, Map.of())) {
            broker.start();
            KafkaWindowedIdempotentRepository first = repository(broker.bootstrapServers(), 60_000);
            assertTrue(first.add("EPIC|GENHOSP|MSG1|abc"));
            assertFalse(first.add("EPIC|GENHOSP|MSG1|abc"), "a second add of the same key is a duplicate");
            assertTrue(first.add("EPIC|GENHOSP|MSG2|def"));
            assertTrue(first.remove("EPIC|GENHOSP|MSG2|def"));
            first.stop(); // writes what is pending

            KafkaWindowedIdempotentRepository second = repository(broker.bootstrapServers(), 60_000);
            assertTrue(second.contains("EPIC|GENHOSP|MSG1|abc"), "remembered after a restart");
            assertFalse(second.contains("EPIC|GENHOSP|MSG2|def"), "a removed key stays removed");
            second.stop();

            KafkaWindowedIdempotentRepository shortWindow = repository(broker.bootstrapServers(), 500);
            assertTrue(shortWindow.add("EPIC|GENHOSP|MSG3|ghi"));
            assertTrue(shortWindow.contains("EPIC|GENHOSP|MSG3|ghi"));
            await().atMost(Duration.ofSeconds(5)).until(() -> !shortWindow.contains("EPIC|GENHOSP|MSG3|ghi"));
            assertTrue(shortWindow.add("EPIC|GENHOSP|MSG3|ghi"), "after the window a resend is new again");
            assertFalse(shortWindow.contains("EPIC|GENHOSP|MSG1|abc"), "loaded keys older than the window are gone");
            shortWindow.stop();
        }
    }
}
