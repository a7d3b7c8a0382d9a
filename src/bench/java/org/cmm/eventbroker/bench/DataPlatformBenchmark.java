package org.cmm.eventbroker.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import org.apache.avro.generic.GenericRecord;
import org.apache.hadoop.conf.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.lake.LakeColumns;
import org.cmm.eventbroker.lake.PayloadKeyFields;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.cmm.eventbroker.stack.S3Store;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.cmm.eventbroker.testsupport.PostgresServer;
import org.cmm.eventbroker.testsupport.RuntimeUnderTest;

/**
 * Data platform benchmark (issue 14; not a timed test): the lake sink's records/s into Parquet on the S3 store
 * (s3proxy) against writing the same rows into Parquet files directly with parquet-avro from a plain consumer, and the
 * warehouse loader's records/s into PostgreSQL. Each measured from the first record produced after the flow is up to
 * the moment the last one is committed (the lake's group offsets, the warehouse's etl_kafka_offset).
 *
 * <pre>mvn -B -o -Pbench verify -Dbench.suite=data-platform [-Dbench.dataplatform.records=100000]</pre>
 *
 * Writes target/bench/data-platform-latest.txt. Needs Debian's postgresql (as WarehouseLoaderIT).
 */
public final class DataPlatformBenchmark {

    private static final int RECORDS = Integer.getInteger("bench.dataplatform.records", 100_000);
    private static final int FILE_RECORDS = Integer.getInteger("bench.dataplatform.fileRecords", 10_000);
    private static final String ACCESS = "cmm-local";
    private static final String SECRET = "cmm-local-secret";

    private DataPlatformBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        Path work = Files.createTempDirectory("cmm-data-platform-bench");
        Path out = Files.createDirectories(Path.of("target", "bench"));
        List<String> lines = new ArrayList<>();
        try (EmbeddedKafkaBroker kafka = new EmbeddedKafkaBroker("127.0.0.1", FreePorts.next(), FreePorts.next(),
                work.resolve("kafka"), Map.of());
                S3Store s3 = new S3Store("127.0.0.1", FreePorts.next(), work.resolve("s3"), ACCESS, SECRET, "cmm-data-lake");
                PostgresServer postgres = PostgresServer.start()) {
            kafka.start();
            s3.start();
            KafkaClients clients = KafkaClients.forBootstrap(kafka.bootstrapServers());
            try (KafkaProducer<String, byte[]> producer = clients.producer("bench", Map.of())) {
                double raw = rawParquet(clients, producer, work.resolve("raw"));
                lines.add(String.format("raw parquet-avro (plain consumer, local files of %d rows): %,.0f records/s",
                        FILE_RECORDS, raw));
                double lake = lakeSink(kafka, clients, producer, s3, work.resolve("lake"));
                lines.add(String.format("lake sink (Parquet to s3proxy, files of %d rows): %,.0f records/s (%.2f x raw)",
                        FILE_RECORDS, lake, lake / raw));
                double warehouse = warehouse(kafka, producer, postgres);
                lines.add(String.format("warehouse loader (ADT A01 into PostgreSQL, 1000 records a transaction): %,.0f records/s",
                        warehouse));
            }
        } finally {
            EmbeddedKafkaBroker.deleteDataDir(work);
        }
        String summary = "data platform benchmark, " + RECORDS + " records each\n" + String.join("\n", lines);
        System.out.println(summary);
        Files.writeString(out.resolve("data-platform-latest.txt"), summary + "\n");
    }

    /** Produces RECORDS ADT A01 messages to a topic (4 partitions, the broker's default) and returns when all are acknowledged. */
    private static long produce(KafkaProducer<String, byte[]> producer, String topic) throws Exception {
        long start = System.nanoTime();
        List<java.util.concurrent.Future<?>> pending = new ArrayList<>();
        for (int i = 0; i < RECORDS; i++) {
            String id = topic + "-" + i;
            String message = "MSH|^~\\&|EPIC|GENHOSP|CMM|CMM|202612041300+0000||ADT^A01^ADT_A01|" + id + "|P|2.5.1\r"
                    + "EVN|A01|202612041300+0000\rPID|1||P" + (i % 5000) + "^^^GENHOSP^MR||DOE^JANE||19700101|F\r"
                    + "PV1|1|I|W" + (i % 7) + "^1^A^GENHOSP" + "|".repeat(16) + "V" + i + "\r";
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, "P" + (i % 5000),
                    message.getBytes(StandardCharsets.ISO_8859_1));
            record.headers().add(new RecordHeader("ce_id", id.getBytes(StandardCharsets.UTF_8)));
            record.headers().add(new RecordHeader("ce_time", "2026-12-04T13:00:00Z".getBytes(StandardCharsets.UTF_8)));
            pending.add(producer.send(record));
            if (pending.size() >= 10_000) {
                for (java.util.concurrent.Future<?> f : pending) {
                    f.get(60, TimeUnit.SECONDS);
                }
                pending.clear();
            }
        }
        for (java.util.concurrent.Future<?> f : pending) {
            f.get(60, TimeUnit.SECONDS);
        }
        return start;
    }

    private static double rate(long startNanos, LongSupplier done, long target, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(30);
        while (done.getAsLong() < target) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(what + " did not finish: " + done.getAsLong() + " of " + target);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
        }
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        return target / seconds;
    }

    /** The baseline: a plain consumer and parquet-avro's writer, the same columns, files cut every FILE_RECORDS rows. */
    private static double rawParquet(KafkaClients clients, KafkaProducer<String, byte[]> producer, Path dir) throws Exception {
        String topic = "raw.adt";
        produce(producer, topic);
        Files.createDirectories(dir);
        long start = System.nanoTime();
        long written = 0;
        int file = 0;
        ParquetWriter<GenericRecord> writer = null;
        try (KafkaConsumer<String, byte[]> consumer = clients.consumer("bench-raw", "bench-raw",
                Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest", ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"))) {
            consumer.subscribe(List.of(topic));
            while (written < RECORDS) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (writer == null) {
                        writer = AvroParquetWriter.<GenericRecord>builder(new LocalOutputFile(dir.resolve("f" + file++ + ".parquet")))
                                .withSchema(LakeColumns.SCHEMA).withConf(new Configuration(false))
                                .withCompressionCodec(CompressionCodecName.SNAPPY)
                                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE).build();
                    }
                    writer.write(LakeColumns.row(r, PayloadKeyFields.of(r.value())));
                    if (++written % FILE_RECORDS == 0) {
                        writer.close();
                        writer = null;
                    }
                }
            }
            if (writer != null) {
                writer.close();
            }
            consumer.commitSync();
        }
        return RECORDS / ((System.nanoTime() - start) / 1e9);
    }

    private static double lakeSink(EmbeddedKafkaBroker kafka, KafkaClients clients, KafkaProducer<String, byte[]> producer,
            S3Store s3, Path dir) throws Exception {
        String topic = "lakebench.adt";
        try (RuntimeUnderTest runtime = RuntimeUnderTest.flows("lake-sink").broker(kafka).with(Map.ofEntries(
                Map.entry("cmm.lake.enabled", "true"),
                Map.entry("cmm.lake.sink-name", "bench"),
                Map.entry("cmm.lake.topic-families", "lakebench."),
                Map.entry("cmm.lake.s3.endpoint", s3.endpoint()),
                Map.entry("cmm.lake.max-records", String.valueOf(FILE_RECORDS)),
                Map.entry("cmm.lake.idle-cut-ms", "1000"),
                Map.entry("cmm.lake.poll-interval-ms", "10"),
                Map.entry("cmm.lake.topic-discovery-ms", "500"),
                Map.entry("cmm.lake.work-dir", dir.toString()))).start();
                Admin admin = clients.admin("bench-admin", Map.of())) {
            long start = produce(producer, topic);
            return rate(start, () -> {
                try {
                    return admin.listConsumerGroupOffsets("cmm-lake-bench").partitionsToOffsetAndMetadata()
                            .get(10, TimeUnit.SECONDS).values().stream().filter(o -> o != null)
                            .mapToLong(OffsetAndMetadata::offset).sum();
                } catch (Exception e) {
                    return 0;
                }
            }, RECORDS, "lake sink");
        }
    }

    private static double warehouse(EmbeddedKafkaBroker kafka, KafkaProducer<String, byte[]> producer,
            PostgresServer postgres) throws Exception {
        try (RuntimeUnderTest runtime = RuntimeUnderTest.flows("warehouse-loader").broker(kafka).with(Map.of(
                "cmm.warehouse.enabled", "true",
                "cmm.warehouse.jdbc-url", postgres.jdbcUrl(),
                "cmm.warehouse.user", postgres.user(),
                "cmm.warehouse.adt-topic-prefix", "whbench.adt.",
                "cmm.warehouse.poll-interval-ms", "10",
                "cmm.warehouse.topic-discovery-ms", "500")).start()) {
            long start = produce(producer, "whbench.adt.a01");
            return rate(start, () -> {
                try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), "");
                        Statement st = c.createStatement();
                        ResultSet rs = st.executeQuery("SELECT coalesce(sum(next_offset), 0) FROM etl_kafka_offset")) {
                    rs.next();
                    return rs.getLong(1);
                } catch (Exception e) {
                    return 0;
                }
            }, RECORDS, "warehouse loader");
        }
    }
}
