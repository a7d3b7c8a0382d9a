package org.cmm.eventbroker.eventapi;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * The record formats of the Kafka REST Proxy v3: a produce request
 * ({@code {"partition_id":..,"headers":[{"name":..,"value":<base64>}],"key":{"type":..,"data":..},
 * "value":{"type":"JSON|STRING|BINARY","data":..}}}) turned into a Kafka record, and a Kafka record turned into the
 * same shape for readers (REST cursor, SSE, WebSocket). Everything is checked before anything is sent: a body of
 * several records with one bad record publishes none.
 */
final class RecordCodec {

    static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** A checked produce request: the record and the sizes the answer reports. */
    record Produce(ProducerRecord<String, byte[]> record, String keyType, int keySize, String valueType,
            int valueSize) {
    }

    private RecordCodec() {
    }

    /**
     * The records of a produce body: one JSON object, or several concatenated (the proxy's streaming mode).
     *
     * @throws ApiException 400 for anything malformed, 413 for a value over {@code maxRecordBytes}
     */
    static List<Produce> parse(String topic, byte[] body, int partitions, int maxRecordBytes, int maxRecords) {
        if (body == null || body.length == 0) {
            throw new ApiException(400, "The request body is empty: expected a JSON produce request.");
        }
        List<Produce> records = new ArrayList<>();
        try (MappingIterator<JsonNode> it = JSON.readerFor(JsonNode.class).readValues(body)) {
            while (it.hasNextValue()) {
                JsonNode node = it.nextValue();
                if (records.size() >= maxRecords) {
                    throw new ApiException(413, "Too many records in one request (at most " + maxRecords + ").");
                }
                records.add(one(topic, node, partitions, maxRecordBytes));
            }
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "Malformed JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new ApiException(400, "Malformed JSON.");
        } catch (RuntimeException e) {
            if (e instanceof ApiException a) {
                throw a;
            }
            Throwable cause = e.getCause();
            throw new ApiException(400, "Malformed JSON" + (cause instanceof JsonProcessingException j
                    ? ": " + j.getOriginalMessage() : "."));
        }
        if (records.isEmpty()) {
            throw new ApiException(400, "The request body holds no produce request.");
        }
        return records;
    }

    private static Produce one(String topic, JsonNode node, int partitions, int maxRecordBytes) {
        if (!node.isObject()) {
            throw new ApiException(400, "A produce request is a JSON object.");
        }
        Integer partition = null;
        JsonNode p = node.get("partition_id");
        if (p != null && !p.isNull()) {
            if (!p.canConvertToInt() || !p.isIntegralNumber() || p.asInt() < 0 || p.asInt() >= partitions) {
                throw new ApiException(400, "partition_id must be a partition of the topic (0.." + (partitions - 1) + ").");
            }
            partition = p.asInt();
        }
        Long timestamp = null;
        JsonNode t = node.get("timestamp");
        if (t != null && !t.isNull()) {
            try {
                timestamp = Instant.parse(t.asText()).toEpochMilli();
            } catch (RuntimeException e) {
                throw new ApiException(400, "timestamp must be an ISO-8601 instant.");
            }
        }
        List<Header> headers = new ArrayList<>();
        JsonNode h = node.get("headers");
        if (h != null && !h.isNull()) {
            if (!h.isArray()) {
                throw new ApiException(400, "headers must be an array of {name, value}.");
            }
            for (JsonNode header : h) {
                JsonNode name = header.get("name");
                if (name == null || !name.isTextual() || name.asText().isEmpty()) {
                    throw new ApiException(400, "Every header needs a name.");
                }
                JsonNode value = header.get("value");
                byte[] bytes = null;
                if (value != null && !value.isNull()) {
                    bytes = base64(value, "header '" + name.asText() + "'");
                }
                headers.add(new RecordHeader(name.asText(), bytes));
            }
        }
        Data key = data(node.get("key"), "key");
        Data value = data(node.get("value"), "value");
        if (value.bytes != null && value.bytes.length > maxRecordBytes) {
            throw new ApiException(413, "The record's value is " + value.bytes.length + " bytes, over the limit of "
                    + maxRecordBytes + ".");
        }
        String keyText = null;
        if (key.bytes != null) {
            keyText = utf8(key.bytes);
            if (keyText == null) {
                throw new ApiException(400, "Keys are UTF-8 text on this platform (e.g. a patient id); this key is not.");
            }
        }
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, partition, timestamp, keyText, value.bytes,
                headers);
        return new Produce(record, key.type, key.bytes == null ? 0 : key.bytes.length, value.type,
                value.bytes == null ? 0 : value.bytes.length);
    }

    private record Data(String type, byte[] bytes) {
    }

    private static Data data(JsonNode node, String what) {
        if (node == null || node.isNull()) {
            return new Data(null, null);
        }
        if (!node.isObject()) {
            throw new ApiException(400, what + " must be an object {\"type\": ..., \"data\": ...}.");
        }
        JsonNode typeNode = node.get("type");
        String type = typeNode == null || typeNode.isNull() ? "JSON" : typeNode.asText().toUpperCase(Locale.ROOT);
        JsonNode data = node.get("data");
        if (node.has("schema") || node.has("schema_id") || node.has("schema_version") || node.has("subject")) {
            throw new ApiException(400, what + ": schema-based formats (AVRO, PROTOBUF, JSONSCHEMA) are not served here; "
                    + "use JSON, STRING or BINARY.");
        }
        if (data == null || data.isNull()) {
            return new Data(type, null);
        }
        return switch (type) {
            case "JSON" -> {
                try {
                    yield new Data(type, JSON.writeValueAsBytes(data));
                } catch (JsonProcessingException e) {
                    throw new ApiException(400, what + ": not JSON.");
                }
            }
            case "STRING" -> {
                if (!data.isTextual()) {
                    throw new ApiException(400, what + ": STRING data must be a JSON string.");
                }
                yield new Data(type, data.asText().getBytes(StandardCharsets.UTF_8));
            }
            case "BINARY" -> new Data(type, base64(data, what));
            default -> throw new ApiException(400, what + ": unsupported type '" + type + "' (JSON, STRING or BINARY).");
        };
    }

    private static byte[] base64(JsonNode node, String what) {
        if (!node.isTextual()) {
            throw new ApiException(400, what + ": expected base64 text.");
        }
        try {
            return Base64.getDecoder().decode(node.asText());
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, what + ": not valid base64.");
        }
    }

    /** The bytes as text when they are valid UTF-8, else null. */
    static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** The v3 produce answer of one acknowledged record. */
    static ObjectNode produced(String clusterId, Produce p, int partition, long offset, long timestamp) {
        ObjectNode answer = JSON.createObjectNode();
        answer.put("error_code", 200);
        answer.put("cluster_id", clusterId);
        answer.put("topic_name", p.record().topic());
        answer.put("partition_id", partition);
        answer.put("offset", offset);
        answer.put("timestamp", Instant.ofEpochMilli(timestamp).toString());
        if (p.keyType() != null) {
            answer.putObject("key").put("type", p.keyType()).put("size", p.keySize());
        } else {
            answer.putNull("key");
        }
        if (p.valueType() != null) {
            answer.putObject("value").put("type", p.valueType()).put("size", p.valueSize());
        } else {
            answer.putNull("value");
        }
        return answer;
    }

    /**
     * A record as readers get it: topic, partition, offset, timestamp, key (text), headers (base64, as the produce
     * format), and the value typed as JSON (a JSON document), STRING (other UTF-8 text) or BINARY (base64).
     */
    static ObjectNode render(ConsumerRecord<String, byte[]> r) {
        ObjectNode node = JSON.createObjectNode();
        node.put("topic_name", r.topic());
        node.put("partition_id", r.partition());
        node.put("offset", r.offset());
        node.put("timestamp", Instant.ofEpochMilli(r.timestamp()).toString());
        if (r.key() == null) {
            node.putNull("key");
        } else {
            node.putObject("key").put("type", "STRING").put("data", r.key());
        }
        ArrayNode headers = node.putArray("headers");
        Iterator<Header> it = r.headers().iterator();
        while (it.hasNext()) {
            Header header = it.next();
            ObjectNode h = headers.addObject().put("name", header.key());
            if (header.value() == null) {
                h.putNull("value");
            } else {
                h.put("value", Base64.getEncoder().encodeToString(header.value()));
            }
        }
        node.set("value", value(r.value()));
        return node;
    }

    private static JsonNode value(byte[] bytes) {
        if (bytes == null) {
            return JSON.nullNode();
        }
        ObjectNode v = JSON.createObjectNode();
        String text = utf8(bytes);
        if (text != null) {
            String trimmed = text.strip();
            if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
                try {
                    v.put("type", "JSON").set("data", JSON.readTree(bytes));
                    return v;
                } catch (java.io.IOException e) {
                    // not JSON after all: text
                }
            }
            return v.put("type", "STRING").put("data", text);
        }
        return v.put("type", "BINARY").put("data", Base64.getEncoder().encodeToString(bytes));
    }
}
