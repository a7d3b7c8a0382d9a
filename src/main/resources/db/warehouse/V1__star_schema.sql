-- The CMM Event Broker's data warehouse: a star schema loaded continuously from the Kafka topics
-- (org.cmm.eventbroker.warehouse.WarehouseLoader; docs/data-platform.md).
-- Facts carry the durable natural keys (patient_id, ward, code) and their event time; dimensions keep history
-- (dim_patient, type 2), so a fact meets the dimension row in effect at its event time, also when events arrive late.

-- Date and time of day
CREATE TABLE dim_date (
    date_key     integer PRIMARY KEY,          -- yyyymmdd
    full_date    date NOT NULL UNIQUE,
    year         smallint NOT NULL,
    quarter      smallint NOT NULL,
    month        smallint NOT NULL,
    day          smallint NOT NULL,
    iso_dow      smallint NOT NULL             -- 1 = Monday
);
INSERT INTO dim_date
SELECT to_char(d, 'YYYYMMDD')::integer, d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d),
       extract(day FROM d), extract(isodow FROM d)
FROM generate_series(date '2000-01-01', date '2060-12-31', interval '1 day') AS g(d);

CREATE TABLE dim_time (
    time_key     smallint PRIMARY KEY,         -- hour * 60 + minute
    hour         smallint NOT NULL,
    minute       smallint NOT NULL
);
INSERT INTO dim_time SELECT h * 60 + m, h, m FROM generate_series(0, 23) h, generate_series(0, 59) m;

-- Patient demographics, type 2: one row per version, from ADT A01/A04/A08/A28/A31 (PID), valid_from = event time.
-- valid_to and is_current are recomputed from the versions' event times after each load, so a late A08 takes its
-- place in the history instead of becoming current.
CREATE TABLE dim_patient (
    patient_sk       bigserial PRIMARY KEY,
    patient_id       text NOT NULL,            -- PID-3, first identifier (the durable key)
    family_name      text,
    given_name       text,
    birth_date       date,
    sex              text,
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    is_current       boolean NOT NULL DEFAULT true,
    source_event_id  text NOT NULL UNIQUE
);
CREATE INDEX dim_patient_by_id ON dim_patient (patient_id, valid_from);

-- Location (PV1-3: point of care = ward, room, bed, facility)
CREATE TABLE dim_location (
    location_sk  serial PRIMARY KEY,
    facility     text NOT NULL DEFAULT '',
    ward         text NOT NULL,
    room         text NOT NULL DEFAULT '',
    bed          text NOT NULL DEFAULT '',
    UNIQUE (facility, ward, room, bed)
);

-- Codes (LOINC of lab results, NDC/RxNorm of dispensed medication)
CREATE TABLE dim_code (
    code_sk      serial PRIMARY KEY,
    system       text NOT NULL,
    code         text NOT NULL,
    display      text,
    UNIQUE (system, code)
);

-- Encounter events from ADT (A01 admit, A02 transfer, A03 discharge, A04 register, A08 update, ...), one row per event
CREATE TABLE fact_encounter_event (
    event_id       text PRIMARY KEY,           -- ce_id of the Kafka record (MSH-10 when absent)
    trigger_event  text NOT NULL,
    patient_id     text NOT NULL,
    visit_number   text,
    location_sk    integer REFERENCES dim_location,
    event_time     timestamptz NOT NULL,       -- EVN-6, else EVN-2, else MSH-7
    date_key       integer NOT NULL REFERENCES dim_date,
    time_key       smallint NOT NULL REFERENCES dim_time,
    kafka_topic    text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset   bigint NOT NULL
);
CREATE INDEX fact_encounter_by_visit ON fact_encounter_event (visit_number, event_time);

-- Lab results (ORU^R01), one row per OBX
CREATE TABLE fact_lab_result (
    event_id         text NOT NULL,
    observation_seq  integer NOT NULL,         -- position of the OBX in the message
    patient_id       text NOT NULL,
    code_sk          integer NOT NULL REFERENCES dim_code,
    value            text,
    numeric_value    numeric,
    unit             text,
    abnormal_flags   text,
    result_status    text,
    collected_at     timestamptz,              -- OBR-7
    resulted_at      timestamptz NOT NULL,     -- OBR-22, else MSH-7
    turnaround_minutes numeric,
    date_key         integer NOT NULL REFERENCES dim_date,
    time_key         smallint NOT NULL REFERENCES dim_time,
    kafka_topic      text NOT NULL,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    PRIMARY KEY (event_id, observation_seq)
);

-- Medication dispensing (RDS^O13), one row per RXD
CREATE TABLE fact_medication_dispense (
    event_id         text NOT NULL,
    dispense_seq     integer NOT NULL,
    patient_id       text NOT NULL,
    order_id         text,
    code_sk          integer NOT NULL REFERENCES dim_code,
    quantity         numeric,
    unit             text,
    dispensed_at     timestamptz NOT NULL,     -- RXD-3, else MSH-7
    date_key         integer NOT NULL REFERENCES dim_date,
    time_key         smallint NOT NULL REFERENCES dim_time,
    kafka_topic      text NOT NULL,
    kafka_partition  integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    PRIMARY KEY (event_id, dispense_seq)
);

-- The loader's position: the next offset per topic partition, written in the same transaction as the rows
CREATE TABLE etl_kafka_offset (
    loader          text NOT NULL,
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    next_offset     bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (loader, kafka_topic, kafka_partition)
);

-- Records the loader could not read, with the reason (the record itself stays on Kafka)
CREATE TABLE etl_rejected_record (
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    reason          text NOT NULL,
    rejected_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kafka_topic, kafka_partition, kafka_offset)
);

-- Stays derived from the encounter events in event-time order (so late and out-of-order events land where they
-- belong): each admit or transfer starts a stay in its ward that ends at the visit's next admit, transfer or discharge.
CREATE VIEW encounter_stay AS
SELECT e.visit_number, e.patient_id, l.facility, l.ward, e.event_time AS started_at, e.ended_at
FROM (SELECT f.*, lead(f.event_time) OVER (PARTITION BY f.visit_number ORDER BY f.event_time, f.event_id) AS ended_at
      FROM fact_encounter_event f
      WHERE f.trigger_event IN ('A01', 'A02', 'A03') AND f.visit_number IS NOT NULL) e
JOIN dim_location l ON l.location_sk = e.location_sk
WHERE e.trigger_event IN ('A01', 'A02');

-- Census: distinct patients present in a ward at any time of a day (UTC days)
CREATE VIEW ward_census_daily AS
SELECT d.full_date, s.facility, s.ward, count(DISTINCT s.patient_id) AS patients
FROM encounter_stay s
JOIN dim_date d ON d.full_date >= (s.started_at AT TIME ZONE 'UTC')::date
               AND d.full_date <= (coalesce(s.ended_at, now()) AT TIME ZONE 'UTC')::date
GROUP BY d.full_date, s.facility, s.ward;
