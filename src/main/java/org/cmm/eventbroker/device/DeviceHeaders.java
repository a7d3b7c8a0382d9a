package org.cmm.eventbroker.device;

/** Header names of device records (on Kafka) and of the device flows' exchanges. */
public final class DeviceHeaders {

    /** The device: the gateway's device id (MQTT topic, HTTP path) or OBX-18 / MSH-3 of a PCD-01 message. */
    public static final String DEVICE_ID = "device_id";
    /** The device type of the topic name, e.g. patient-monitor. */
    public static final String DEVICE_TYPE = "device_type";
    /** The data type of the topic name, e.g. vitals. */
    public static final String DATA_TYPE = "device_data_type";
    /** The patient the device is bound to, when the gateway says so; it is then the record key. */
    public static final String PATIENT_ID = "device_patient_id";
    /** How the reading came in: mqtt, http or pcd-01. */
    public static final String INGEST = "device_ingest";
    /** The MQTT topic a rejected reading was published on (dead letters only). */
    public static final String MQTT_TOPIC = "device_mqtt_topic";

    private DeviceHeaders() {
    }
}
