-- Issue 14: the star's remaining parts. Practitioners (PV1-7/8, ORC-12, OBR-16), the location of lab results and
-- dispenses, the HL7 coding system of each code, medication orders (RDE^O11), device vital readings and their hourly
-- aggregates. Every fact is still keyed by its source event id; the aggregate grows only when a reading row is new, in
-- the same transaction, so a replay or an event sent twice never counts twice (docs/data-platform.md).

-- Practitioners (XCN: id, family, given ... assigning authority in XCN-9). Type 1: the names of the latest event by
-- event time win (name_as_of), so a late event carrying an older spelling does not overwrite a newer one.
CREATE TABLE dim_practitioner (
    practitioner_sk      serial PRIMARY KEY,
    practitioner_id      text NOT NULL,              -- XCN-1
    assigning_authority  text NOT NULL DEFAULT '',   -- XCN-9
    family_name          text,
    given_name           text,
    name_as_of           timestamptz,
    UNIQUE (practitioner_id, assigning_authority)
);

ALTER TABLE fact_encounter_event
    ADD COLUMN attending_practitioner_sk integer REFERENCES dim_practitioner,   -- PV1-7
    ADD COLUMN referring_practitioner_sk integer REFERENCES dim_practitioner;   -- PV1-8

ALTER TABLE fact_lab_result
    ADD COLUMN order_id                 text,                                 -- OBR-2, else ORC-2
    ADD COLUMN ordering_practitioner_sk integer REFERENCES dim_practitioner,  -- OBR-16, else ORC-12
    ADD COLUMN location_sk              integer REFERENCES dim_location;      -- PV1-3 when the message has one

ALTER TABLE fact_medication_dispense
    ADD COLUMN ordering_practitioner_sk integer REFERENCES dim_practitioner,  -- ORC-12
    ADD COLUMN location_sk              integer REFERENCES dim_location;      -- PV1-3 when the message has one

-- The coding system as the message named it (CE-3/CWE-3, HL7 table 0396: LN, RXNORM, NDC, SCT, MDC, ...); dim_code.system
-- holds its canonical URI (http://loinc.org, http://www.nlm.nih.gov/research/umls/rxnorm, ...).
ALTER TABLE dim_code ADD COLUMN hl7_coding_system text;
UPDATE dim_code SET hl7_coding_system = CASE system
    WHEN 'http://loinc.org' THEN 'LN'
    WHEN 'http://www.nlm.nih.gov/research/umls/rxnorm' THEN 'RXNORM'
    WHEN 'http://hl7.org/fhir/sid/ndc' THEN 'NDC'
    ELSE system END;

-- Medication orders (RDE^O11, one row per RXE with the ORC before it)
CREATE TABLE fact_medication_order (
    event_id                 text NOT NULL,
    order_seq                integer NOT NULL,        -- position of the RXE in the message
    patient_id               text NOT NULL,
    order_id                 text,                    -- ORC-2, else ORC-3
    order_control            text,                    -- ORC-1 (NW new, XO change, CA cancel, ...)
    code_sk                  integer NOT NULL REFERENCES dim_code,   -- RXE-2 give code (RxNorm, NDC, ...)
    give_amount              numeric,                 -- RXE-3
    give_units               text,                    -- RXE-5
    dispense_amount          numeric,                 -- RXE-10
    ordering_practitioner_sk integer REFERENCES dim_practitioner,   -- ORC-12, else RXE-13
    location_sk              integer REFERENCES dim_location,       -- PV1-3
    ordered_at               timestamptz NOT NULL,    -- ORC-9, else MSH-7
    date_key                 integer NOT NULL REFERENCES dim_date,
    time_key                 smallint NOT NULL REFERENCES dim_time,
    kafka_topic              text NOT NULL,
    kafka_partition          integer NOT NULL,
    kafka_offset             bigint NOT NULL,
    PRIMARY KEY (event_id, order_seq)
);
CREATE INDEX fact_medication_order_by_order ON fact_medication_order (order_id);
CREATE INDEX fact_medication_dispense_by_order ON fact_medication_dispense (order_id);

-- Device readings (device.<type>.vitals: canonical JSON or PCD-01), one row per reading: the idempotency key of the
-- aggregate below
CREATE TABLE fact_device_vital_reading (
    event_id        text NOT NULL,
    reading_seq     integer NOT NULL,
    device_id       text NOT NULL,
    device_type     text,
    patient_id      text NOT NULL DEFAULT '',          -- '' for a device bound to no patient
    code_sk         integer NOT NULL REFERENCES dim_code,
    value           text,
    numeric_value   numeric,
    unit            text NOT NULL DEFAULT '',
    observed_at     timestamptz NOT NULL,
    date_key        integer NOT NULL REFERENCES dim_date,
    time_key        smallint NOT NULL REFERENCES dim_time,
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    PRIMARY KEY (event_id, reading_seq)
);

-- Hourly aggregate per device, patient, measurement and unit (numeric readings only), grown in the transaction that
-- inserts a new reading row: late readings land in their own hour, readings seen again add nothing
CREATE TABLE fact_device_vital_hourly (
    device_id       text NOT NULL,
    patient_id      text NOT NULL DEFAULT '',
    code_sk         integer NOT NULL REFERENCES dim_code,
    unit            text NOT NULL DEFAULT '',
    hour_start      timestamptz NOT NULL,
    date_key        integer NOT NULL REFERENCES dim_date,
    time_key        smallint NOT NULL REFERENCES dim_time,
    readings        bigint NOT NULL,
    value_sum       numeric NOT NULL,
    value_min       numeric NOT NULL,
    value_max       numeric NOT NULL,
    PRIMARY KEY (device_id, patient_id, code_sk, unit, hour_start)
);
