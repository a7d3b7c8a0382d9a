package org.cmm.eventbroker.lake;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * The columns of a lake file, one schema for the three formats (Parquet and Avro use it as is; NDJSON writes the same
 * names): the CloudEvents headers, the Kafka coordinates, every record header (domain headers such as
 * {@code hl7_control_id}, {@code lab_result_class}) as a map, the payload's raw bytes and its parsed key fields.
 */
public final class LakeColumns {

    /** CloudEvents attributes as the broker's Kafka records carry them (binary mode, {@code ce_} headers). */
    public static final List<String> CLOUD_EVENTS = List.of("ce_specversion", "ce_id", "ce_type", "ce_source",
            "ce_subject", "ce_time", "ce_datacontenttype");

    public static final Schema SCHEMA = schema();

    private LakeColumns() {
    }

    private static Schema schema() {
        Schema millis = LogicalTypes.timestampMillis().addToSchema(Schema.create(Schema.Type.LONG));
        SchemaBuilder.FieldAssembler<Schema> fields = SchemaBuilder.record("LakeRecord")
                .namespace("org.cmm.eventbroker.lake")
                .doc("One Kafka record as the CMM Event Broker's data lake keeps it")
                .fields();
        for (String ce : CLOUD_EVENTS) {
            fields = fields.optionalString(ce);
        }
        return fields
                .requiredString("kafka_topic")
                .requiredInt("kafka_partition")
                .requiredLong("kafka_offset")
                .name("kafka_timestamp").type(millis).noDefault()
                .optionalString("kafka_key")
                .name("event_time").doc("ce_time when readable, else the Kafka timestamp; the dt/hour partition")
                .type(millis).noDefault()
                .name("headers").type().map().values().stringType().noDefault()
                .requiredBytes("payload")
                .requiredString("payload_format")
                .optionalString("message_type")
                .optionalString("trigger_event")
                .optionalString("control_id")
                .optionalString("sending_facility")
                .optionalString("message_time")
                .optionalString("patient_id")
                .optionalString("resource_type")
                .optionalString("resource_id")
                .endRecord();
    }

    /** The row of a record whose payload was read; the event time is ce_time when it parses, else the Kafka time. */
    public static GenericRecord row(ConsumerRecord<String, byte[]> record, PayloadKeyFields fields) {
        Map<String, String> headers = headers(record);
        GenericRecord row = new GenericData.Record(SCHEMA);
        for (String ce : CLOUD_EVENTS) {
            row.put(ce, headers.get(ce));
        }
        row.put("kafka_topic", record.topic());
        row.put("kafka_partition", record.partition());
        row.put("kafka_offset", record.offset());
        row.put("kafka_timestamp", record.timestamp());
        row.put("kafka_key", record.key());
        row.put("event_time", eventTime(headers.get("ce_time"), record.timestamp()));
        row.put("headers", headers);
        row.put("payload", ByteBuffer.wrap(record.value()));
        row.put("payload_format", fields.payloadFormat());
        row.put("message_type", fields.messageType());
        row.put("trigger_event", fields.triggerEvent());
        row.put("control_id", fields.controlId());
        row.put("sending_facility", fields.sendingFacility());
        row.put("message_time", fields.messageTime());
        row.put("patient_id", fields.patientId());
        row.put("resource_type", fields.resourceType());
        row.put("resource_id", fields.resourceId());
        return row;
    }

    /** Every header as text (UTF-8), the last value of a repeated name. */
    static Map<String, String> headers(ConsumerRecord<String, byte[]> record) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header header : record.headers()) {
            if (header.value() != null) {
                headers.put(header.key(), new String(header.value(), StandardCharsets.UTF_8));
            }
        }
        return headers;
    }

    /** The event time in epoch milliseconds: an RFC 3339 ce_time, else the Kafka timestamp. */
    static long eventTime(String ceTime, long kafkaTimestamp) {
        if (ceTime != null) {
            try {
                return OffsetDateTime.parse(ceTime).toInstant().toEpochMilli();
            } catch (DateTimeParseException e) {
                try {
                    return Instant.parse(ceTime).toEpochMilli();
                } catch (DateTimeParseException ignored) {
                    // an unreadable ce_time is not a reason to refuse the record: Kafka's time partitions it
                }
            }
        }
        return kafkaTimestamp;
    }
}
