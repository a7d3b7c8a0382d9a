package org.cmm.eventbroker.device;

/**
 * Headers of the records on {@code device.alerts.<kind>}, so that the alert-processing route (and any consumer) can
 * route and de-duplicate an alert without reading its body, whether that is canonical JSON or an HL7 ORU^R40.
 * None carries patient data except {@code ce_subject}, which every flow of the broker uses for the patient id.
 */
public final class DeviceAlertHeaders {

    public static final String ALERT_ID = "device_alert_id";
    public static final String DEVICE_ID = "device_id";
    public static final String DEVICE_TYPE = "device_type";
    /** technical, physiological or operational: the last part of the topic name. */
    public static final String KIND = "device_alert_kind";
    /** high, medium or low. */
    public static final String PRIORITY = "device_alert_priority";
    /** The MDC alert code (MDC_EVT_LO) or the device's own code. */
    public static final String CODE = "device_alert_code";
    /** active, inactive or acknowledged. */
    public static final String STATE = "device_alert_state";
    /** How the alert arrived: mqtt, http or pcd-04. */
    public static final String CHANNEL = "device_alert_channel";

    private DeviceAlertHeaders() {
    }
}
