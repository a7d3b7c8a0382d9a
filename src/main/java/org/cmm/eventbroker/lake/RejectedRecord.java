package org.cmm.eventbroker.lake;

import java.util.Map;

/** A consumed record the lake refused (its payload could not be read), for the dead-letter topic with the reason. */
public record RejectedRecord(String topic, int partition, long offset, String key, Map<String, String> headers,
        byte[] payload, String reason) {
}
