package org.cmm.eventbroker.warehouse;

import java.util.List;
import java.util.Map;

/**
 * A consumed record the warehouse could not load, as it was consumed (key, headers and value byte for byte) with the
 * reason, for the dead-letter topic. Headers keep their order; their values are the raw bytes.
 */
public record WarehouseReject(String topic, int partition, long offset, String key,
        List<Map.Entry<String, byte[]>> headers, byte[] payload, String reason) {
}
