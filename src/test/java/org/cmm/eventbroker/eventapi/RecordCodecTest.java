package org.cmm.eventbroker.eventapi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class RecordCodecTest {

    private static List<RecordCodec.Produce> parse(String body) {
        return RecordCodec.parse("t", body.getBytes(StandardCharsets.UTF_8), 3, 100, 10);
    }

    @Test
    void jsonStringAndBinaryValuesBecomeTheRecordsBytes() {
        List<RecordCodec.Produce> records = parse("{\"key\":{\"type\":\"STRING\",\"data\":\"p1\"},\"value\":{\"type\":\"JSON\","
                + "\"data\":{\"a\":1}}}{\"partition_id\":2,\"value\":{\"type\":\"STRING\",\"data\":\"hi\"}}"
                + "{\"headers\":[{\"name\":\"h\",\"value\":\"AQI=\"}],\"value\":{\"type\":\"BINARY\",\"data\":\"AAH/\"}}");
        assertEquals(3, records.size());
        assertEquals("p1", records.get(0).record().key());
        assertArrayEquals("{\"a\":1}".getBytes(StandardCharsets.UTF_8), records.get(0).record().value());
        assertEquals(2, records.get(1).record().partition());
        assertArrayEquals(new byte[] {0, 1, (byte) 0xff}, records.get(2).record().value());
        assertArrayEquals(new byte[] {1, 2}, records.get(2).record().headers().lastHeader("h").value());
        assertNull(records.get(2).record().key());
    }

    @Test
    void badInputIsRefusedBeforeAnythingIsSent() {
        assertEquals(400, assertThrows(ApiException.class, () -> parse("{\"value\":")).status());
        assertEquals(400, assertThrows(ApiException.class, () -> parse("[1,2]")).status());
        assertEquals(400, assertThrows(ApiException.class, () -> parse("{\"partition_id\":3}")).status());
        assertEquals(400, assertThrows(ApiException.class, () -> parse("{\"value\":{\"type\":\"AVRO\",\"data\":1}}"))
                .status());
        assertEquals(400, assertThrows(ApiException.class, () -> parse("{\"value\":{\"type\":\"STRING\",\"data\":1}}"))
                .status());
        assertEquals(400, assertThrows(ApiException.class, () -> parse("{\"key\":{\"type\":\"BINARY\",\"data\":\"/w==\"}}"))
                .status(), "a key that is not UTF-8");
        assertEquals(413, assertThrows(ApiException.class, () -> parse("{}{\"value\":{\"type\":\"STRING\",\"data\":\""
                + "x".repeat(101) + "\"}}")).status(), "one oversized record refuses the whole body");
        assertEquals(400, assertThrows(ApiException.class, () -> parse("")).status());
    }

    @Test
    void readersGetJsonStringOrBinaryAsTheBytesAre() {
        assertEquals("JSON", RecordCodec.render(record("{\"a\":1}".getBytes(StandardCharsets.UTF_8))).path("value")
                .path("type").asText());
        assertEquals("STRING", RecordCodec.render(record("MSH|^~\\&|".getBytes(StandardCharsets.UTF_8))).path("value")
                .path("type").asText());
        assertEquals("AAH/", RecordCodec.render(record(new byte[] {0, 1, (byte) 0xff})).path("value").path("data")
                .asText());
    }

    private static ConsumerRecord<String, byte[]> record(byte[] value) {
        return new ConsumerRecord<>("t", 0, 5, "k", value);
    }
}
