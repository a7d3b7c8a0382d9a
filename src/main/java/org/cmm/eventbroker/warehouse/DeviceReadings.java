package org.cmm.eventbroker.warehouse;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Device readings ({@code device.<device-type>.vitals}: the canonical JSON of docs/devices.md, or a PCD-01 ORU^R01 as
 * the PCD flow publishes it) into {@code fact_device_vital_reading}, one row per reading keyed by the source event id
 * and the reading's position, and into the hourly aggregate {@code fact_device_vital_hourly}, which grows only when a
 * reading row is new (in the loader's transaction): a replay or a reading sent twice adds nothing, a late reading
 * lands in its own hour.
 */
final class DeviceReadings {

    private static final ObjectMapper JSON = new ObjectMapper();

    private record Reading(String code, String system, String display, String value, String unit, OffsetDateTime at) {
    }

    private DeviceReadings() {
    }

    static void load(Connection c, ConsumerRecord<String, byte[]> record) throws SQLException, WarehouseRejectException {
        byte[] payload = record.value();
        if (payload == null || payload.length == 0) {
            throw new WarehouseRejectException("empty payload");
        }
        String eventId = WarehouseLoader.header(record, "ce_id");
        String deviceId = WarehouseLoader.header(record, "device_id");
        String deviceType = WarehouseLoader.header(record, "device_type");
        String patient = WarehouseLoader.header(record, "device_patient_id");
        List<Reading> readings = new ArrayList<>();
        if (payload[0] == '{') {
            JsonNode body;
            try {
                body = JSON.readTree(payload);
            } catch (java.io.IOException e) {
                throw new WarehouseRejectException("device reading: unreadable JSON (" + e.getClass().getSimpleName() + ")");
            }
            deviceId = WarehouseLoader.firstNonNull(text(body, "deviceId"), deviceId);
            deviceType = WarehouseLoader.firstNonNull(text(body, "deviceType"), deviceType);
            patient = WarehouseLoader.firstNonNull(text(body, "patientId"), patient);
            OffsetDateTime at = instant(text(body, "timestamp"));
            JsonNode list = body.path("readings");
            if (!list.isArray() || list.isEmpty()) {
                throw new WarehouseRejectException("device reading without readings");
            }
            for (JsonNode r : list) {
                OffsetDateTime readingAt = WarehouseLoader.firstNonNull(instant(text(r, "timestamp")), at);
                readings.add(new Reading(text(r, "code"), "MDC", null, text(r, "value"), text(r, "unit"), readingAt));
            }
        } else {
            Er7Message m = Er7Message.parse(payload);
            if (eventId == null && m.get("MSH", 10, 1) != null) {
                eventId = WarehouseLoader.orEmpty(m.get("MSH", 4, 1)) + "/" + m.get("MSH", 10, 1);
            }
            patient = WarehouseLoader.firstNonNull(m.get("PID", 3, 1), patient);
            OffsetDateTime messageTime = Er7Message.time(m.get("MSH", 7, 1));
            for (String[] obx : m.all("OBX")) {
                if (m.get(obx, 5, 1) == null || m.get(obx, 3, 1) == null) {
                    continue; // the MDS/VMD/channel rows of the containment tree carry no value
                }
                deviceId = WarehouseLoader.firstNonNull(deviceId, m.get(obx, 18, 1));
                readings.add(new Reading(m.get(obx, 3, 1), WarehouseLoader.firstNonNull(m.get(obx, 3, 3), "MDC"),
                        m.get(obx, 3, 2), m.get(obx, 5, 1), m.get(obx, 6, 1),
                        WarehouseLoader.firstNonNull(Er7Message.time(m.get(obx, 14, 1)), messageTime)));
            }
            if (readings.isEmpty()) {
                throw new WarehouseRejectException("device message without observation values (OBX-5)");
            }
        }
        if (eventId == null) {
            throw new WarehouseRejectException("device reading without an event id (ce_id)");
        }
        if (deviceId == null) {
            throw new WarehouseRejectException("device reading without a device id (deviceId, device_id)");
        }
        insert(c, record, eventId, deviceId, deviceType, patient == null ? "" : patient, readings);
    }

    private static void insert(Connection c, ConsumerRecord<String, byte[]> record, String eventId, String deviceId,
            String deviceType, String patient, List<Reading> readings) throws SQLException, WarehouseRejectException {
        try (PreparedStatement reading = c.prepareStatement("INSERT INTO fact_device_vital_reading (event_id,"
                + " reading_seq, device_id, device_type, patient_id, code_sk, value, numeric_value, unit, observed_at,"
                + " date_key, time_key, kafka_topic, kafka_partition, kafka_offset)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
                PreparedStatement hourly = c.prepareStatement("INSERT INTO fact_device_vital_hourly (device_id,"
                        + " patient_id, code_sk, unit, hour_start, date_key, time_key, readings, value_sum, value_min,"
                        + " value_max) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (device_id, patient_id,"
                        + " code_sk, unit, hour_start) DO UPDATE SET readings = fact_device_vital_hourly.readings + 1,"
                        + " value_sum = fact_device_vital_hourly.value_sum + EXCLUDED.value_sum,"
                        + " value_min = least(fact_device_vital_hourly.value_min, EXCLUDED.value_min),"
                        + " value_max = greatest(fact_device_vital_hourly.value_max, EXCLUDED.value_max)")) {
            int seq = 0;
            for (Reading r : readings) {
                seq++;
                if (r.code() == null) {
                    throw new WarehouseRejectException("device reading " + seq + " without a code");
                }
                if (r.at() == null) {
                    throw new WarehouseRejectException("device reading " + seq + " without a time");
                }
                int codeSk = WarehouseLoader.code(c, r.system(), r.code(), r.display());
                BigDecimal number = WarehouseLoader.number(r.value());
                String unit = r.unit() == null ? "" : r.unit();
                int dateKey = WarehouseLoader.dateKey(r.at());
                reading.setString(1, eventId);
                reading.setInt(2, seq);
                reading.setString(3, deviceId);
                reading.setString(4, deviceType);
                reading.setString(5, patient);
                reading.setInt(6, codeSk);
                reading.setString(7, r.value());
                reading.setBigDecimal(8, number);
                reading.setString(9, unit);
                WarehouseLoader.setTime(reading, 10, r.at());
                reading.setInt(11, dateKey);
                reading.setInt(12, WarehouseLoader.timeKey(r.at()));
                reading.setString(13, record.topic());
                reading.setInt(14, record.partition());
                reading.setLong(15, record.offset());
                boolean isNew = reading.executeUpdate() == 1;
                if (isNew && number != null) {
                    OffsetDateTime hour = r.at().withOffsetSameInstant(ZoneOffset.UTC).truncatedTo(ChronoUnit.HOURS);
                    hourly.setString(1, deviceId);
                    hourly.setString(2, patient);
                    hourly.setInt(3, codeSk);
                    hourly.setString(4, unit);
                    WarehouseLoader.setTime(hourly, 5, hour);
                    hourly.setInt(6, dateKey);
                    hourly.setInt(7, WarehouseLoader.timeKey(hour));
                    hourly.setBigDecimal(8, number);
                    hourly.setBigDecimal(9, number);
                    hourly.setBigDecimal(10, number);
                    hourly.executeUpdate();
                }
            }
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static OffsetDateTime instant(String rfc3339) throws WarehouseRejectException {
        if (rfc3339 == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(rfc3339);
        } catch (DateTimeParseException e) {
            throw new WarehouseRejectException("device reading: unreadable timestamp (not RFC 3339)");
        }
    }
}
