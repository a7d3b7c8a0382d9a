package org.cmm.eventbroker.lake;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.cmm.eventbroker.testsupport.Hl7Samples;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three file formats of a lake sink hold the records' columns, each read back by a reader that is not the writer:
 * Parquet by DuckDB, Avro by Avro's generic reader (schema from the file), NDJSON by Jackson.
 */
class LakeFileFormatTest {

    @TempDir
    Path dir;

    private static List<ConsumerRecord<String, byte[]>> records() {
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            RecordHeaders headers = new RecordHeaders();
            headers.add(new RecordHeader("ce_id", ("ce-" + i).getBytes(StandardCharsets.UTF_8)));
            headers.add(new RecordHeader("ce_time", ("2026-12-04T13:0" + i + ":00Z").getBytes(StandardCharsets.UTF_8)));
            headers.add(new RecordHeader("hl7_control_id", ("C" + i).getBytes(StandardCharsets.UTF_8)));
            byte[] value = (i % 2 == 0 ? Hl7Samples.load("adt-a01.hl7", "C" + i)
                    : "{\"resourceType\":\"Observation\",\"id\":\"o" + i + "\",\"subject\":{\"reference\":\"Patient/p" + i + "\"}}")
                    .getBytes(StandardCharsets.ISO_8859_1);
            records.add(new ConsumerRecord<>("hl7.adt.a01", 2, 100 + i, 1_700_000_000_000L + i, TimestampType.CREATE_TIME,
                    -1, -1, "key" + i, value, headers, java.util.Optional.empty()));
        }
        return records;
    }

    private Path write(LakeFileFormat format) throws Exception {
        Path file = dir.resolve("f." + format.extension());
        try (LakeFileFormat.RowWriter writer = format.open(file)) {
            for (ConsumerRecord<String, byte[]> r : records()) {
                writer.write(LakeColumns.row(r, PayloadKeyFields.of(r.value())));
            }
        }
        return file;
    }

    @Test
    void parquetReadByDuckDbHoldsEveryColumnOfEveryRecord() throws Exception {
        Path file = write(LakeFileFormat.PARQUET);
        List<ConsumerRecord<String, byte[]>> expected = records();
        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:"); Statement st = duck.createStatement();
                ResultSet rs = st.executeQuery("SELECT kafka_offset, ce_id, control_id, patient_id, resource_type,"
                        + " payload, kafka_key, headers['hl7_control_id'], epoch_ms(kafka_timestamp) FROM read_parquet('"
                        + file + "') ORDER BY kafka_offset")) {
            int i = 0;
            while (rs.next()) {
                ConsumerRecord<String, byte[]> r = expected.get(i);
                assertEquals(r.offset(), rs.getLong(1));
                assertEquals("ce-" + i, rs.getString(2));
                assertEquals(i % 2 == 0 ? "C" + i : null, rs.getString(3));
                assertEquals(i % 2 == 0 ? "MRN100001" : "p" + i, rs.getString(4));
                assertEquals(i % 2 == 0 ? null : "Observation", rs.getString(5));
                assertArrayEquals(r.value(), rs.getBytes(6));
                assertEquals(r.key(), rs.getString(7));
                assertEquals("C" + i, rs.getString(8));
                assertEquals(r.timestamp(), rs.getLong(9));
                i++;
            }
            assertEquals(expected.size(), i);
        }
    }

    @Test
    void avroReadWithTheFilesOwnSchemaHoldsEveryRecord() throws Exception {
        Path file = write(LakeFileFormat.AVRO);
        List<ConsumerRecord<String, byte[]>> expected = records();
        try (DataFileReader<GenericRecord> reader = new DataFileReader<>(file.toFile(), new GenericDatumReader<>())) {
            int i = 0;
            for (GenericRecord row : reader) {
                assertEquals(expected.get(i).offset(), row.get("kafka_offset"));
                assertEquals("ce-" + i, String.valueOf(row.get("ce_id")));
                java.nio.ByteBuffer payload = (java.nio.ByteBuffer) row.get("payload");
                byte[] bytes = new byte[payload.remaining()];
                payload.get(bytes);
                assertArrayEquals(expected.get(i).value(), bytes);
                i++;
            }
            assertEquals(expected.size(), i);
        }
    }

    @Test
    void ndjsonHasOneObjectPerLineWithThePayloadInBase64() throws Exception {
        Path file = write(LakeFileFormat.JSON);
        List<ConsumerRecord<String, byte[]>> expected = records();
        List<String> lines = Files.readAllLines(file);
        assertEquals(expected.size(), lines.size());
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < lines.size(); i++) {
            JsonNode row = json.readTree(lines.get(i));
            assertEquals(expected.get(i).offset(), row.get("kafka_offset").asLong());
            assertEquals("ce-" + i, row.get("ce_id").asText());
            assertEquals("C" + i, row.get("headers").get("hl7_control_id").asText());
            assertArrayEquals(expected.get(i).value(), Base64.getDecoder().decode(row.get("payload").asText()));
        }
    }

    @Test
    void aFormatNameThatIsNotKnownIsRefusedWithTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LakeFileFormat.of("orc"));
        assertTrue(e.getMessage().contains("parquet, avro or json"));
        assertEquals(LakeFileFormat.JSON, LakeFileFormat.of("ndjson"));
    }
}
