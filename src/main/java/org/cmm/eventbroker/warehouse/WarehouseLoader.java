package org.cmm.eventbroker.warehouse;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the warehouse's star schema (db/warehouse, Flyway) continuously from the ADT, lab result and dispensing
 * topics. Exactly once without Kafka commits: each poll's rows and the next offsets of its partitions are written in
 * one database transaction, and at start (and after each rebalance or failure) the consumer seeks to the offsets the
 * database holds. Rows are keyed by the source event id ({@code ce_id}), so an event sent twice is loaded once.
 * Late and out-of-order events: facts carry their own event time and the durable keys; the patient's type-2 history
 * is re-ordered by event time after each load, and stays are derived in event-time order by the views.
 *
 * <p>Records that cannot be loaded are kept in {@code etl_rejected_record} with the reason, in the same transaction,
 * and go untouched (value, key, headers) to the dead-letter topic with {@code dlq_reason} before that transaction
 * commits: at least once (a poll rolled back after its dead letters were written writes them again), and once per
 * record otherwise, since a record already in the table is not dead-lettered again.
 * A failure (database away, Kafka away) rolls back, seeks back and retries after a growing back-off; the health check
 * {@code cmm:warehouse-loader-<name>} is DOWN meanwhile. Logs name topics, partitions, offsets and counts only.
 */
public class WarehouseLoader extends ServiceSupport implements CamelContextAware {

    private static final Logger LOG = LoggerFactory.getLogger(WarehouseLoader.class);
    private static final Set<String> DEMOGRAPHIC_TRIGGERS = Set.of("A01", "A04", "A08", "A28", "A31");

    private CamelContext camelContext;
    private String loaderName = "warehouse";
    private String jdbcUrl;
    private String user;
    private String password;
    private boolean migrate = true;
    /** The topic families, set by the route from cmm.warehouse.*-topic-prefix (config/warehouse.properties). */
    private String adtTopicPrefix;
    private String labResultsTopicPrefix;
    private String dispensingTopicPrefix;
    private String ordersTopicPrefix;
    /** Device readings: topics {@code <deviceTopicPrefix><device-type>.<data type>} for each of deviceDataTypes. */
    private String deviceTopicPrefix;
    private String deviceDataTypes = "vitals";
    private long pollTimeoutMs = 500;
    private int maxPollRecords = 1000;
    private long topicDiscoveryMs = 30_000;
    private long initialBackoffMs = 1000;
    private long maxBackoffMs = 60_000;

    private KafkaConsumer<String, byte[]> consumer;
    private Connection connection;
    private long backoffUntil;
    private long backoffMs;
    private volatile int failuresInARow;
    private volatile String lastFailure;
    private volatile long recordsLoaded;
    private volatile long recordsRejected;
    private WarehouseHealthCheck healthCheck;
    private boolean migrated;

    record Status(long recordsLoaded, long recordsRejected, int failuresInARow, String lastFailure) {
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** Names the loader's offsets in etl_kafka_offset and its consumer group (cmm-warehouse-<name>). */
    public void setLoaderName(String loaderName) {
        this.loaderName = loaderName;
    }

    public String getLoaderName() {
        return loaderName;
    }

    public void setJdbcUrl(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl;
    }

    public void setUser(String user) {
        this.user = user;
    }

    public void setPassword(String password) {
        this.password = password;
    }

    /** Apply the Flyway migrations at start (off where a DBA applies them). */
    public void setMigrate(boolean migrate) {
        this.migrate = migrate;
    }

    public void setAdtTopicPrefix(String adtTopicPrefix) {
        this.adtTopicPrefix = adtTopicPrefix;
    }

    public void setLabResultsTopicPrefix(String labResultsTopicPrefix) {
        this.labResultsTopicPrefix = labResultsTopicPrefix;
    }

    public void setDispensingTopicPrefix(String dispensingTopicPrefix) {
        this.dispensingTopicPrefix = dispensingTopicPrefix;
    }

    public void setOrdersTopicPrefix(String ordersTopicPrefix) {
        this.ordersTopicPrefix = ordersTopicPrefix;
    }

    public void setDeviceTopicPrefix(String deviceTopicPrefix) {
        this.deviceTopicPrefix = deviceTopicPrefix;
    }

    public void setDeviceDataTypes(String deviceDataTypes) {
        this.deviceDataTypes = deviceDataTypes;
    }

    public void setPollTimeoutMs(long pollTimeoutMs) {
        this.pollTimeoutMs = pollTimeoutMs;
    }

    /** The most records one poll, and so one database transaction, holds. */
    public void setMaxPollRecords(int maxPollRecords) {
        this.maxPollRecords = maxPollRecords;
    }

    public void setTopicDiscoveryMs(long topicDiscoveryMs) {
        this.topicDiscoveryMs = topicDiscoveryMs;
    }

    public void setInitialBackoffMs(long initialBackoffMs) {
        this.initialBackoffMs = initialBackoffMs;
    }

    public void setMaxBackoffMs(long maxBackoffMs) {
        this.maxBackoffMs = maxBackoffMs;
    }

    @Override
    protected void doStart() throws Exception {
        if (jdbcUrl == null || jdbcUrl.isBlank()) {
            throw new IllegalArgumentException("Warehouse loader: no database (cmm.warehouse.jdbc-url)");
        }
    }

    /**
     * At the first load, not at start: a runtime whose warehouse-loader route is off (the precondition) never touches
     * a database. Migrations fail the load (and are retried) rather than the runtime's start.
     */
    private void prepare() {
        if (healthCheck != null) {
            if (!migrated && migrate) {
                migrateSchema();
            }
            return;
        }
        healthCheck = new WarehouseHealthCheck(this);
        healthCheck.setCamelContext(camelContext);
        HealthCheckRegistry registry = HealthCheckHelper.getHealthCheckRegistry(camelContext);
        if (registry != null) {
            registry.register(healthCheck);
        }
        if (migrate) {
            migrateSchema();
        }
    }

    private void migrateSchema() {
        Flyway.configure().dataSource(jdbcUrl, user, password).locations("classpath:db/warehouse").load().migrate();
        migrated = true;
    }

    @Override
    protected void doStop() throws Exception {
        if (consumer != null) {
            consumer.close(Duration.ofSeconds(5));
            consumer = null;
        }
        closeConnection();
        HealthCheckRegistry registry = HealthCheckHelper.getHealthCheckRegistry(camelContext);
        if (registry != null && healthCheck != null) {
            registry.unregister(healthCheck);
        }
    }

    Status status() {
        return new Status(recordsLoaded, recordsRejected, failuresInARow, lastFailure);
    }

    Pattern subscription() {
        String families = Arrays.stream(new String[] {adtTopicPrefix, labResultsTopicPrefix, dispensingTopicPrefix,
                ordersTopicPrefix}).filter(WarehouseLoader::isSet).map(p -> Pattern.quote(p) + "(?!.*[.](dlq|dedup)$).*")
                .collect(Collectors.joining("|"));
        if (isSet(deviceTopicPrefix) && isSet(deviceDataTypes)) {
            String types = Arrays.stream(deviceDataTypes.split(",")).map(String::trim).filter(t -> !t.isEmpty())
                    .map(Pattern::quote).collect(Collectors.joining("|"));
            families += (families.isEmpty() ? "" : "|") + Pattern.quote(deviceTopicPrefix) + "[^.]+[.](" + types + ")";
        }
        return Pattern.compile(families);
    }

    private static boolean isSet(String s) {
        return s != null && !s.isBlank();
    }

    private Connection connection() throws SQLException {
        if (connection == null || connection.isClosed()) {
            Properties p = new Properties();
            if (user != null && !user.isBlank()) {
                p.setProperty("user", user);
            }
            if (password != null && !password.isBlank()) {
                p.setProperty("password", password);
            }
            connection = DriverManager.getConnection(jdbcUrl, p);
            connection.setAutoCommit(false);
        }
        return connection;
    }

    private KafkaConsumer<String, byte[]> consumer() {
        if (consumer == null) {
            consumer = KafkaClients.of(camelContext).consumer("warehouse-" + loaderName, "cmm-warehouse-" + loaderName,
                    Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                            ConsumerConfig.METADATA_MAX_AGE_CONFIG, String.valueOf(topicDiscoveryMs),
                            ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(maxPollRecords)));
            consumer.subscribe(subscription(), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    // nothing buffered: every poll is loaded and its offsets stored before the next
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    seekToStoredOffsets(partitions);
                }
            });
        }
        return consumer;
    }

    /** The consumer starts where the database says, never where Kafka's group offsets say. */
    private void seekToStoredOffsets(Collection<TopicPartition> partitions) {
        try {
            Map<TopicPartition, Long> stored = storedOffsets();
            for (TopicPartition tp : partitions) {
                Long next = stored.get(tp);
                if (next != null) {
                    consumer.seek(tp, next);
                } else {
                    consumer.seekToBeginning(List.of(tp));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Warehouse offsets unreadable: " + e.getClass().getSimpleName(), e);
        }
    }

    private Map<TopicPartition, Long> storedOffsets() throws SQLException {
        Map<TopicPartition, Long> stored = new HashMap<>();
        Connection c = connection();
        try (PreparedStatement st = c.prepareStatement(
                "SELECT kafka_topic, kafka_partition, next_offset FROM etl_kafka_offset WHERE loader = ?")) {
            st.setString(1, loaderName);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    stored.put(new TopicPartition(rs.getString(1), rs.getInt(2)), rs.getLong(3));
                }
            }
        }
        c.commit();
        return stored;
    }

    /**
     * One poll, loaded in one transaction with its offsets, left open: returns the records newly rejected in it, which
     * the route sends to the dead-letter topic before it calls {@link #commit()}. A failure rolls back and is reported
     * through {@link #loadFailed(Exchange)}.
     */
    public List<WarehouseReject> load() throws Exception {
        if (System.currentTimeMillis() < backoffUntil) {
            return List.of();
        }
        prepare();
        if (failuresInARow > 0) {
            // recovered only when the database answers: a poll that happens to return nothing proves nothing
            storedOffsets();
        }
        ConsumerRecords<String, byte[]> records = consumer().poll(Duration.ofMillis(pollTimeoutMs));
        if (records.isEmpty()) {
            return List.of();
        }
        return loadInOneTransaction(records);
    }

    /**
     * The dead-letter message of a rejected record: its value, key and headers as consumed (header values as their
     * bytes), the reason ({@code dlq_reason}) and where it came from ({@code dlq_original_topic}, partition, offset).
     */
    public void describeRejected(Exchange exchange) {
        WarehouseReject rejected = exchange.getMessage().getBody(WarehouseReject.class);
        Message message = exchange.getMessage();
        message.removeHeaders("*");
        message.setBody(rejected.payload());
        rejected.headers().forEach(h -> message.setHeader(h.getKey(), h.getValue()));
        if (rejected.key() != null) {
            message.setHeader("kafka.KEY", rejected.key());
        }
        message.setHeader("kafka.TOPIC", rejected.topic());
        message.setHeader("dlq_original_partition", String.valueOf(rejected.partition()));
        message.setHeader("dlq_original_offset", String.valueOf(rejected.offset()));
        message.setHeader("dlq_reason", "warehouse: " + rejected.reason());
        message.setHeader("dlq_source", "warehouse-loader-" + loaderName);
    }

    /** Commits the poll's rows, rejections and offsets (after its rejects are on the dead-letter topic). */
    public void commit() throws SQLException {
        if (pending != null) {
            connection.commit();
            recordsLoaded += pending.loaded();
            recordsRejected += pending.rejected().size();
            LOG.debug("Warehouse loader {}: {} records loaded, {} rejected, offsets {}", loaderName, pending.loaded(),
                    pending.rejected().size(), pending.offsets());
            pending = null;
        }
        if (failuresInARow > 0) {
            LOG.info("Warehouse loader {} loads again after {} failed attempts", loaderName, failuresInARow);
        }
        failuresInARow = 0;
        lastFailure = null;
        backoffMs = 0;
    }

    /** A failed poll (database, Kafka or the dead-letter topic away): rolled back, retried from the stored offsets. */
    public void loadFailed(Exchange exchange) {
        Exception cause = exchange == null ? null : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        rollbackQuietly();
        failed(cause == null ? new IllegalStateException("unknown") : cause);
    }

    private void rollbackQuietly() {
        pending = null;
        if (connection != null) {
            try {
                connection.rollback();
            } catch (SQLException ignored) {
                // the connection is gone: reconnected at the next attempt
            }
        }
    }

    /** The poll whose transaction is open: what it loaded and rejected, and its partitions' next offsets. */
    private record Pending(int loaded, List<WarehouseReject> rejected, Map<TopicPartition, Long> offsets) {
    }

    private Pending pending;

    private List<WarehouseReject> loadInOneTransaction(ConsumerRecords<String, byte[]> records) throws SQLException {
        Connection c = connection();
        Map<TopicPartition, Long> next = new HashMap<>();
        Set<String> patients = new HashSet<>();
        int loaded = 0;
        List<WarehouseReject> rejected = new ArrayList<>();
        try {
            for (ConsumerRecord<String, byte[]> record : records) {
                next.put(new TopicPartition(record.topic(), record.partition()), record.offset() + 1);
                // a record the database refuses (a value out of a column's range, a byte text cannot hold) is rejected
                // on its own instead of failing every retry of the poll for ever
                Savepoint beforeRecord = c.setSavepoint();
                String reason = null;
                try {
                    String patient = loadRecord(c, record);
                    c.releaseSavepoint(beforeRecord);
                    if (patient != null) {
                        patients.add(patient);
                    }
                    loaded++;
                } catch (WarehouseRejectException e) {
                    c.rollback(beforeRecord);
                    reason = e.getMessage();
                } catch (SQLException e) {
                    if (!refusedData(e)) {
                        throw e;
                    }
                    c.rollback(beforeRecord);
                    reason = "the database refused its rows (SQLState " + e.getSQLState() + ")";
                }
                if (reason != null && reject(c, record, reason)) {
                    rejected.add(rejectOf(record, reason));
                }
            }
            for (String patient : patients) {
                reorderPatientHistory(c, patient);
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO etl_kafka_offset (loader, kafka_topic,"
                    + " kafka_partition, next_offset, updated_at) VALUES (?, ?, ?, ?, now()) ON CONFLICT (loader,"
                    + " kafka_topic, kafka_partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()")) {
                for (Map.Entry<TopicPartition, Long> e : next.entrySet()) {
                    st.setString(1, loaderName);
                    st.setString(2, e.getKey().topic());
                    st.setInt(3, e.getKey().partition());
                    st.setLong(4, e.getValue());
                    st.addBatch();
                }
                st.executeBatch();
            }
            pending = new Pending(loaded, rejected, next);
            return rejected;
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly();
            throw e;
        }
    }

    private static WarehouseReject rejectOf(ConsumerRecord<String, byte[]> record, String reason) {
        List<Map.Entry<String, byte[]>> headers = new ArrayList<>();
        for (Header h : record.headers()) {
            headers.add(Map.entry(h.key(), h.value() == null ? new byte[0] : h.value()));
        }
        return new WarehouseReject(record.topic(), record.partition(), record.offset(), record.key(), headers,
                record.value() == null ? new byte[0] : record.value(), reason);
    }

    /** SQLState classes 22 (data exception) and 23 (integrity constraint): this record's data, not the database. */
    private static boolean refusedData(SQLException e) {
        String state = e.getSQLState();
        return state != null && (state.startsWith("22") || state.startsWith("23"));
    }

    private void failed(Exception e) {
        failuresInARow++;
        lastFailure = e.getClass().getSimpleName()
                + (e.getCause() == null ? "" : " caused by " + e.getCause().getClass().getSimpleName());
        backoffMs = backoffMs == 0 ? initialBackoffMs : Math.min(maxBackoffMs, backoffMs * 2);
        backoffUntil = System.currentTimeMillis() + backoffMs;
        LOG.warn("Warehouse loader {} could not load ({}, attempt {}); retrying from the stored offsets in {} ms",
                loaderName, lastFailure, failuresInARow, backoffMs);
        closeConnection();
        if (consumer != null) {
            // back to the stored offsets: a new consumer seeks there when its partitions are assigned
            consumer.close(Duration.ofSeconds(1));
            consumer = null;
        }
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // already gone
            }
            connection = null;
        }
    }

    /** Loads one record's rows; returns the patient whose history changed, if any. */
    private String loadRecord(Connection c, ConsumerRecord<String, byte[]> record)
            throws SQLException, WarehouseRejectException {
        if (isSet(deviceTopicPrefix) && record.topic().startsWith(deviceTopicPrefix)) {
            DeviceReadings.load(c, record);
            return null;
        }
        Er7Message m = Er7Message.parse(record.value());
        String type = m.get("MSH", 9, 1);
        String eventId = header(record, "ce_id");
        if (eventId == null) {
            String control = m.get("MSH", 10, 1);
            if (control == null) {
                throw new WarehouseRejectException("no ce_id header and no control id (MSH-10)");
            }
            eventId = (m.get("MSH", 4, 1) == null ? "" : m.get("MSH", 4, 1)) + "/" + control;
        }
        String patient = m.get("PID", 3, 1);
        if (patient == null) {
            throw new WarehouseRejectException("no patient identifier (PID-3)");
        }
        OffsetDateTime messageTime = Er7Message.time(m.get("MSH", 7, 1));
        if (record.topic().startsWith(adtTopicPrefix)) {
            requireType(type, "ADT");
            return loadAdt(c, record, m, eventId, patient, messageTime);
        } else if (record.topic().startsWith(labResultsTopicPrefix)) {
            requireType(type, "ORU");
            loadLabResult(c, record, m, eventId, patient, messageTime);
        } else if (record.topic().startsWith(dispensingTopicPrefix)) {
            requireType(type, "RDS");
            loadDispense(c, record, m, eventId, patient, messageTime);
        } else if (isSet(ordersTopicPrefix) && record.topic().startsWith(ordersTopicPrefix)) {
            requireType(type, "RDE");
            loadOrder(c, record, m, eventId, patient, messageTime);
        } else {
            throw new WarehouseRejectException("topic of no warehouse family");
        }
        return null;
    }

    private static void requireType(String type, String expected) throws WarehouseRejectException {
        if (!expected.equals(type)) {
            throw new WarehouseRejectException("message type " + type + " where " + expected + " was expected");
        }
    }

    private String loadAdt(Connection c, ConsumerRecord<String, byte[]> record, Er7Message m, String eventId,
            String patient, OffsetDateTime messageTime) throws SQLException, WarehouseRejectException {
        String trigger = m.get("MSH", 9, 2);
        if (trigger == null) {
            trigger = m.get("EVN", 1, 1);
        }
        if (trigger == null) {
            throw new WarehouseRejectException("ADT message without a trigger event (MSH-9.2, EVN-1)");
        }
        OffsetDateTime eventTime = firstNonNull(Er7Message.time(m.get("EVN", 6, 1)),
                Er7Message.time(m.get("EVN", 2, 1)), messageTime);
        if (eventTime == null) {
            throw new WarehouseRejectException("ADT message without an event time (EVN-6, EVN-2, MSH-7)");
        }
        Integer location = location(c, m);
        Integer attending = practitioner(c, m, m.segment("PV1"), 7, eventTime);
        Integer referring = practitioner(c, m, m.segment("PV1"), 8, eventTime);
        try (PreparedStatement st = c.prepareStatement("INSERT INTO fact_encounter_event (event_id, trigger_event,"
                + " patient_id, visit_number, location_sk, event_time, date_key, time_key, kafka_topic, kafka_partition,"
                + " kafka_offset, attending_practitioner_sk, referring_practitioner_sk)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING")) {
            st.setString(1, eventId);
            st.setString(2, trigger);
            st.setString(3, patient);
            st.setString(4, m.get("PV1", 19, 1));
            st.setObject(5, location);
            setTime(st, 6, eventTime);
            st.setInt(7, dateKey(eventTime));
            st.setInt(8, timeKey(eventTime));
            st.setString(9, record.topic());
            st.setInt(10, record.partition());
            st.setLong(11, record.offset());
            st.setObject(12, attending);
            st.setObject(13, referring);
            st.executeUpdate();
        }
        if (!DEMOGRAPHIC_TRIGGERS.contains(trigger)) {
            return null;
        }
        try (PreparedStatement st = c.prepareStatement("INSERT INTO dim_patient (patient_id, family_name, given_name,"
                + " birth_date, sex, valid_from, source_event_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT (source_event_id) DO NOTHING")) {
            st.setString(1, patient);
            st.setString(2, m.get("PID", 5, 1));
            st.setString(3, m.get("PID", 5, 2));
            java.time.LocalDate birth = Er7Message.date(m.get("PID", 7, 1));
            st.setObject(4, birth);
            st.setString(5, m.get("PID", 8, 1));
            setTime(st, 6, eventTime);
            st.setString(7, eventId);
            st.executeUpdate();
        }
        return patient;
    }

    private void loadLabResult(Connection c, ConsumerRecord<String, byte[]> record, Er7Message m, String eventId,
            String patient, OffsetDateTime messageTime) throws SQLException, WarehouseRejectException {
        String[] obr = m.segment("OBR");
        OffsetDateTime collected = Er7Message.time(m.get(obr, 7, 1));
        OffsetDateTime resulted = firstNonNull(Er7Message.time(m.get(obr, 22, 1)), messageTime);
        if (resulted == null) {
            throw new WarehouseRejectException("lab result without a result time (OBR-22, MSH-7)");
        }
        List<String[]> observations = m.all("OBX");
        if (observations.isEmpty()) {
            throw new WarehouseRejectException("lab result without OBX segments");
        }
        Integer ordering = practitioner(c, m, obr, 16, resulted);
        if (ordering == null) {
            ordering = practitioner(c, m, m.segment("ORC"), 12, resulted);
        }
        Integer location = location(c, m);
        String orderId = firstNonNull(m.get(obr, 2, 1), m.get("ORC", 2, 1));
        int dateKey = dateKey(resulted);
        try (PreparedStatement st = c.prepareStatement("INSERT INTO fact_lab_result (event_id, observation_seq,"
                + " patient_id, code_sk, value, numeric_value, unit, abnormal_flags, result_status, collected_at,"
                + " resulted_at, turnaround_minutes, date_key, time_key, kafka_topic, kafka_partition, kafka_offset,"
                + " order_id, ordering_practitioner_sk, location_sk)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            int seq = 0;
            for (String[] obx : observations) {
                seq++;
                Integer codeSk = code(c, m, obx, 3);
                if (codeSk == null) {
                    throw new WarehouseRejectException("OBX " + seq + " without an observation code (OBX-3)");
                }
                String value = m.get(obx, 5, 1);
                st.setString(1, eventId);
                st.setInt(2, seq);
                st.setString(3, patient);
                st.setInt(4, codeSk);
                st.setString(5, value);
                st.setBigDecimal(6, number(value));
                st.setString(7, m.get(obx, 6, 1));
                st.setString(8, m.get(obx, 8, 1));
                st.setString(9, m.get(obx, 11, 1));
                setTime(st, 10, collected);
                setTime(st, 11, resulted);
                st.setBigDecimal(12, collected == null ? null
                        : BigDecimal.valueOf(Duration.between(collected, resulted).getSeconds()).divide(BigDecimal.valueOf(60),
                                2, java.math.RoundingMode.HALF_UP));
                st.setInt(13, dateKey);
                st.setInt(14, timeKey(resulted));
                st.setString(15, record.topic());
                st.setInt(16, record.partition());
                st.setLong(17, record.offset());
                st.setString(18, orderId);
                st.setObject(19, ordering);
                st.setObject(20, location);
                st.addBatch();
            }
            st.executeBatch();
        }
    }

    private void loadDispense(Connection c, ConsumerRecord<String, byte[]> record, Er7Message m, String eventId,
            String patient, OffsetDateTime messageTime) throws SQLException, WarehouseRejectException {
        List<String[]> dispenses = m.all("RXD");
        if (dispenses.isEmpty()) {
            throw new WarehouseRejectException("dispensing message without RXD segments");
        }
        Integer ordering = practitioner(c, m, m.segment("ORC"), 12, messageTime);
        Integer location = location(c, m);
        try (PreparedStatement st = c.prepareStatement("INSERT INTO fact_medication_dispense (event_id, dispense_seq,"
                + " patient_id, order_id, code_sk, quantity, unit, dispensed_at, date_key, time_key, kafka_topic,"
                + " kafka_partition, kafka_offset, ordering_practitioner_sk, location_sk)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            int seq = 0;
            for (String[] rxd : dispenses) {
                seq++;
                Integer codeSk = code(c, m, rxd, 2);
                if (codeSk == null) {
                    throw new WarehouseRejectException("RXD " + seq + " without a dispense code (RXD-2)");
                }
                OffsetDateTime at = firstNonNull(Er7Message.time(m.get(rxd, 3, 1)), messageTime);
                if (at == null) {
                    throw new WarehouseRejectException("RXD " + seq + " without a dispense time (RXD-3, MSH-7)");
                }
                st.setString(1, eventId);
                st.setInt(2, seq);
                st.setString(3, patient);
                st.setString(4, firstNonNull(m.get("ORC", 2, 1), m.get("ORC", 3, 1)));
                st.setInt(5, codeSk);
                st.setBigDecimal(6, number(m.get(rxd, 4, 1)));
                st.setString(7, m.get(rxd, 5, 1));
                setTime(st, 8, at);
                st.setInt(9, dateKey(at));
                st.setInt(10, timeKey(at));
                st.setString(11, record.topic());
                st.setInt(12, record.partition());
                st.setLong(13, record.offset());
                st.setObject(14, ordering);
                st.setObject(15, location);
                st.addBatch();
            }
            st.executeBatch();
        }
    }

    /** RDE^O11: one row per RXE, with the ORC before it (its order id, control and ordering provider). */
    private void loadOrder(Connection c, ConsumerRecord<String, byte[]> record, Er7Message m, String eventId,
            String patient, OffsetDateTime messageTime) throws SQLException, WarehouseRejectException {
        Integer location = location(c, m);
        try (PreparedStatement st = c.prepareStatement("INSERT INTO fact_medication_order (event_id, order_seq,"
                + " patient_id, order_id, order_control, code_sk, give_amount, give_units, dispense_amount,"
                + " ordering_practitioner_sk, location_sk, ordered_at, date_key, time_key, kafka_topic, kafka_partition,"
                + " kafka_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            String[] orc = null;
            int seq = 0;
            for (String[] segment : m.segments()) {
                if (segment[0].equals("ORC")) {
                    orc = segment;
                    continue;
                }
                if (!segment[0].equals("RXE")) {
                    continue;
                }
                seq++;
                Integer codeSk = code(c, m, segment, 2);
                if (codeSk == null) {
                    throw new WarehouseRejectException("RXE " + seq + " without a give code (RXE-2)");
                }
                OffsetDateTime at = firstNonNull(Er7Message.time(m.get(orc, 9, 1)), messageTime);
                if (at == null) {
                    throw new WarehouseRejectException("RXE " + seq + " without an order time (ORC-9, MSH-7)");
                }
                Integer ordering = practitioner(c, m, orc, 12, at);
                if (ordering == null) {
                    ordering = practitioner(c, m, segment, 13, at);
                }
                st.setString(1, eventId);
                st.setInt(2, seq);
                st.setString(3, patient);
                st.setString(4, firstNonNull(m.get(orc, 2, 1), m.get(orc, 3, 1)));
                st.setString(5, m.get(orc, 1, 1));
                st.setInt(6, codeSk);
                st.setBigDecimal(7, number(m.get(segment, 3, 1)));
                st.setString(8, m.get(segment, 5, 1));
                st.setBigDecimal(9, number(m.get(segment, 10, 1)));
                st.setObject(10, ordering);
                st.setObject(11, location);
                setTime(st, 12, at);
                st.setInt(13, dateKey(at));
                st.setInt(14, timeKey(at));
                st.setString(15, record.topic());
                st.setInt(16, record.partition());
                st.setLong(17, record.offset());
                st.addBatch();
            }
            if (seq == 0) {
                throw new WarehouseRejectException("medication order without RXE segments");
            }
            st.executeBatch();
        }
    }

    /** PV1-3 (point of care^room^bed^facility) as a location, or null when the message has none. */
    private static Integer location(Connection c, Er7Message m) throws SQLException {
        String ward = m.get("PV1", 3, 1);
        if (ward == null) {
            return null;
        }
        return dimension(c, "INSERT INTO dim_location (facility, ward, room, bed) VALUES (?, ?, ?, ?)"
                + " ON CONFLICT (facility, ward, room, bed) DO UPDATE SET ward = EXCLUDED.ward RETURNING location_sk",
                orEmpty(m.get("PV1", 3, 4)), ward, orEmpty(m.get("PV1", 3, 2)), orEmpty(m.get("PV1", 3, 3)));
    }

    /**
     * The practitioner of an XCN field (id^family^given^...^assigning authority in component 9), or null when the
     * field has no id. Type 1, but the names of the latest event by event time win: a late event does not overwrite.
     */
    private static Integer practitioner(Connection c, Er7Message m, String[] segment, int field, OffsetDateTime asOf)
            throws SQLException {
        String id = m.get(segment, field, 1);
        if (id == null) {
            return null;
        }
        String family = m.get(segment, field, 2);
        String newer = "EXCLUDED.family_name IS NOT NULL AND (dim_practitioner.name_as_of IS NULL"
                + " OR EXCLUDED.name_as_of >= dim_practitioner.name_as_of)";
        try (PreparedStatement st = c.prepareStatement("INSERT INTO dim_practitioner (practitioner_id,"
                + " assigning_authority, family_name, given_name, name_as_of) VALUES (?, ?, ?, ?, ?)"
                + " ON CONFLICT (practitioner_id, assigning_authority) DO UPDATE SET"
                + " family_name = CASE WHEN " + newer + " THEN EXCLUDED.family_name ELSE dim_practitioner.family_name END,"
                + " given_name = CASE WHEN " + newer + " THEN EXCLUDED.given_name ELSE dim_practitioner.given_name END,"
                + " name_as_of = CASE WHEN " + newer + " THEN EXCLUDED.name_as_of ELSE dim_practitioner.name_as_of END"
                + " RETURNING practitioner_sk")) {
            st.setString(1, id);
            st.setString(2, orEmpty(m.get(segment, field, 9)));
            st.setString(3, family);
            st.setString(4, m.get(segment, field, 3));
            setTime(st, 5, family == null ? null : asOf);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /**
     * The code of a CE/CWE field: identifier^text^coding system^alternate identifier^alternate text^alternate system.
     * The alternate coding is taken when only it is in a standard system (a local code with its LOINC, say), so facts
     * meet LOINC and RxNorm where the sender gave them. Null when the field has no code.
     */
    static Integer code(Connection c, Er7Message m, String[] segment, int field) throws SQLException {
        int first = 1;
        if (!STANDARD_SYSTEMS.contains(orEmpty(m.get(segment, field, 3)))
                && STANDARD_SYSTEMS.contains(orEmpty(m.get(segment, field, 6))) && m.get(segment, field, 4) != null) {
            first = 4;
        }
        String code = m.get(segment, field, first);
        if (code == null) {
            return null;
        }
        String hl7System = m.get(segment, field, first + 2);
        return code(c, hl7System, code, m.get(segment, field, first + 1));
    }

    static int code(Connection c, String hl7System, String code, String display) throws SQLException {
        return dimension(c, "INSERT INTO dim_code (system, code, display, hl7_coding_system) VALUES (?, ?, ?, ?)"
                + " ON CONFLICT (system, code) DO UPDATE SET display = coalesce(EXCLUDED.display, dim_code.display)"
                + " RETURNING code_sk", system(hl7System), code, display, hl7System == null ? "" : hl7System);
    }

    /** Type 2: each version valid until the next version by event time; the last one current. */
    private static void reorderPatientHistory(Connection c, String patient) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("UPDATE dim_patient p SET valid_to = x.next_from,"
                + " is_current = (x.next_from IS NULL) FROM (SELECT patient_sk, lead(valid_from) OVER (ORDER BY"
                + " valid_from, source_event_id) AS next_from FROM dim_patient WHERE patient_id = ?) x"
                + " WHERE p.patient_sk = x.patient_sk")) {
            st.setString(1, patient);
            st.executeUpdate();
        }
    }

    /**
     * Keeps the record in etl_rejected_record; false when it was there already (a replay of a record rejected and
     * dead-lettered in a committed poll), so a rejected record is dead-lettered once.
     */
    private boolean reject(Connection c, ConsumerRecord<String, byte[]> record, String reason) throws SQLException {
        int inserted;
        try (PreparedStatement st = c.prepareStatement("INSERT INTO etl_rejected_record (kafka_topic, kafka_partition,"
                + " kafka_offset, reason) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
            st.setString(1, record.topic());
            st.setInt(2, record.partition());
            st.setLong(3, record.offset());
            st.setString(4, reason);
            inserted = st.executeUpdate();
        }
        LOG.warn("Warehouse loader {}: not loaded {}-{}@{}: {}", loaderName, record.topic(), record.partition(),
                record.offset(), reason);
        return inserted > 0;
    }

    static int dimension(Connection c, String upsert, String... values) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(upsert)) {
            for (int i = 0; i < values.length; i++) {
                st.setString(i + 1, values[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** HL7 table 0396 coding systems the warehouse prefers when a CE/CWE carries a local and a standard code. */
    private static final Set<String> STANDARD_SYSTEMS = Set.of("LN", "RXNORM", "NDC", "SCT", "MDC");

    /** The canonical URI of an HL7 coding system (HL7 table 0396), as FHIR names it; the name itself when unknown. */
    static String system(String hl7System) {
        if (hl7System == null) {
            return "local";
        }
        return switch (hl7System) {
            case "LN" -> "http://loinc.org";
            case "RXNORM" -> "http://www.nlm.nih.gov/research/umls/rxnorm";
            case "NDC" -> "http://hl7.org/fhir/sid/ndc";
            case "SCT" -> "http://snomed.info/sct";
            case "MDC" -> "urn:iso:std:iso:11073:10101";
            default -> hl7System;
        };
    }

    static BigDecimal number(String value) {
        if (value == null) {
            return null;
        }
        try {
            return new BigDecimal(value.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static void setTime(PreparedStatement st, int index, OffsetDateTime time) throws SQLException {
        if (time == null) {
            st.setNull(index, java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
        } else {
            st.setObject(index, time);
        }
    }

    /** The first and last year of dim_date (V1__star_schema.sql pre-fills 2000-2060). */
    private static final int FIRST_YEAR = 2000;
    private static final int LAST_YEAR = 2060;

    /**
     * The dim_date key of an instant (UTC day). A time outside dim_date is rejected with the reason: its row would
     * break the foreign key and fail every retry of the poll.
     */
    static int dateKey(OffsetDateTime t) throws WarehouseRejectException {
        OffsetDateTime utc = t.withOffsetSameInstant(ZoneOffset.UTC);
        if (utc.getYear() < FIRST_YEAR || utc.getYear() > LAST_YEAR) {
            throw new WarehouseRejectException("event time in " + utc.getYear() + ", outside the date dimension ("
                    + FIRST_YEAR + "-" + LAST_YEAR + ")");
        }
        return utc.getYear() * 10000 + utc.getMonthValue() * 100 + utc.getDayOfMonth();
    }

    static int timeKey(OffsetDateTime t) {
        OffsetDateTime utc = t.withOffsetSameInstant(ZoneOffset.UTC);
        return utc.getHour() * 60 + utc.getMinute();
    }

    static String header(ConsumerRecord<String, byte[]> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
    }

    static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    @SafeVarargs
    static <T> T firstNonNull(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }

}
