package org.cmm.eventbroker.testsupport;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;

/** Reads a Server-Sent Events stream the way a browser does, for the tests of the event API and the patient streams. */
public final class SseEvents {

    private SseEvents() {
    }

    /**
     * Reads the stream on a daemon thread until it ends, adding each event as {id, data} (id null when the event has
     * none; comments and heartbeats are skipped). Returns the thread.
     */
    public static Thread readInto(InputStream body, BlockingQueue<String[]> events) {
        Thread t = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
                String id = null;
                StringBuilder data = new StringBuilder();
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.isEmpty()) {
                        if (data.length() > 0) {
                            events.add(new String[] {id, data.toString()});
                        }
                        id = null;
                        data.setLength(0);
                    } else if (line.startsWith("id: ")) {
                        id = line.substring(4);
                    } else if (line.startsWith("data: ")) {
                        data.append(line.substring(6));
                    }
                }
            } catch (IOException e) {
                // closed by the test
            }
        }, "sse-reader");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
