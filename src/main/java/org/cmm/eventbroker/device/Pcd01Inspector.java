package org.cmm.eventbroker.device;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.List;

import ca.uhn.hl7v2.ErrorCode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.cmm.eventbroker.hl7.Hl7DateTime;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.cmm.eventbroker.hl7.Hl7RejectedException;

/**
 * Files an IHE PCD-01 device observation report (ORU^R01 from a device gateway, "DOR") under
 * {@code device.<device-type>.<data-type>}, after {@link org.cmm.eventbroker.hl7.Hl7MessageInspector} accepted it as
 * HL7. The message itself is not changed.
 *
 * <p>Mapping (docs/devices/device-ingest.md), with the {@link MeasurementCatalogue}:
 * <ul>
 *   <li><b>device type</b>: the medical device system (MDS) observation, the OBX whose OBX-3 is a {@code device.}
 *       code of the catalogue (PCD-01 puts it first, OBX-4 {@code 1.0.0.0}); else OBR-4 when it is such a code;
 *       else the device type of the first known metric;</li>
 *   <li><b>data type</b>: that of the first metric (OBX-2 {@code NM}, {@code ST}, {@code CWE}...) whose OBX-3 the
 *       catalogue knows;</li>
 *   <li><b>device id</b>: OBX-18 (equipment instance identifier, the EUI-64 in PCD-01) of the MDS observation, else of
 *       the first observation that has one, else MSH-3-2 (the gateway's EUI-64);</li>
 *   <li><b>patient</b>: PID-3 when the device is bound to a patient; then the record key.</li>
 * </ul>
 * It rejects ({@link Hl7RejectedException}: AR and a dead letter) a message that is not ORU^R01, whose device type it
 * cannot tell, with no known measurement, a numeric value outside its plausible range or in a foreign unit (OBX-6),
 * or an observation time (OBX-14, else MSH-7) outside the clock-skew bounds. Observations whose OBX-11 is X (cannot
 * be obtained) are not range-checked.
 */
public class Pcd01Inspector extends CatalogueCheckedProcessor {

    private ZoneId defaultZone = ZoneId.systemDefault();

    /** The time zone of HL7 timestamps without an offset (cmm.hl7.default-time-zone; empty: this machine's). */
    public void setDefaultZone(String zone) {
        this.defaultZone = zone == null || zone.isBlank() ? ZoneId.systemDefault() : ZoneId.of(zone);
    }

    @Override
    public void process(Exchange exchange) throws Hl7RejectedException {
        Message in = exchange.getMessage();
        Er7Message message = Er7Message.of(in);
        message.requireType("ORU^R01");
        String[] filed = file(message);
        in.setHeader(DeviceHeaders.DEVICE_TYPE, filed[0]);
        in.setHeader(DeviceHeaders.DATA_TYPE, filed[1]);
        in.setHeader(DeviceHeaders.DEVICE_ID, filed[2]);
        in.setHeader(DeviceHeaders.INGEST, "pcd-01");
        String patient = in.getHeader(Hl7Headers.PATIENT_ID, String.class);
        if (patient != null && !patient.isBlank()) {
            in.setHeader(DeviceHeaders.PATIENT_ID, patient);
        }
    }

    /** {device type, data type, device id} of a PCD-01 message, or the reason it cannot be accepted. */
    public String[] file(Er7Message message) throws Hl7RejectedException {
        ReadingChecks c = checks();
        MeasurementCatalogue cat = c.catalogue();
        List<Er7Segment> observations = message.segments("OBX");
        String deviceType = null;
        String deviceId = null;
        String dataType = null;
        String metricDeviceType = null;
        Instant messageTime = time(message.header().component(7, 1));
        for (Er7Segment obx : observations) {
            String refId = obx.component(3, 2);
            String code = obx.component(3, 1);
            String systemType = firstNonNull(cat.deviceTypeOfSystem(refId), cat.deviceTypeOfSystem(code));
            if (systemType != null) {
                if (deviceType == null) {
                    deviceType = systemType;
                    deviceId = blankToNull(obx.component(18, 1));
                }
                continue;
            }
            MeasurementCatalogue.Measurement m = firstNonNull(cat.measurement(refId), cat.measurement(code));
            if (deviceId == null) {
                deviceId = blankToNull(obx.component(18, 1));
            }
            if (m == null) {
                continue; // a VMD or channel header, or a metric the catalogue does not name: not checked
            }
            if (dataType == null) {
                dataType = m.dataType();
                metricDeviceType = m.deviceType();
            }
            check(c, m, obx, messageTime);
        }
        if (deviceType == null) {
            Er7Segment obr = message.segments("OBR").stream().findFirst().orElse(null);
            if (obr != null) {
                deviceType = firstNonNull(cat.deviceTypeOfSystem(obr.component(4, 2)),
                        cat.deviceTypeOfSystem(obr.component(4, 1)));
            }
        }
        if (deviceType == null) {
            deviceType = metricDeviceType;
        }
        if (deviceType == null) {
            throw new Hl7RejectedException("unknown device type: no MDS observation (OBX-3), OBR-4 or metric the"
                    + " device catalogue knows", ErrorCode.UNSUPPORTED_MESSAGE_TYPE);
        }
        if (dataType == null) {
            throw new Hl7RejectedException("no observation (OBX-3) the device catalogue knows, so no data type",
                    ErrorCode.DATA_TYPE_ERROR);
        }
        if (deviceId == null) {
            deviceId = blankToNull(message.header().component(3, 2));
        }
        if (deviceId == null || !DeviceReadingInspector.DEVICE_ID.matcher(deviceId).matches()) {
            throw new Hl7RejectedException("no usable device id in OBX-18 or MSH-3-2 (1 to 64 letters, digits or . _ : -)",
                    ErrorCode.REQUIRED_FIELD_MISSING);
        }
        return new String[] {deviceType, dataType, deviceId};
    }

    private void check(ReadingChecks c, MeasurementCatalogue.Measurement m, Er7Segment obx, Instant messageTime)
            throws Hl7RejectedException {
        String what = "OBX-" + obx.field(1).trim();
        String observed = obx.component(14, 1);
        Instant time = observed.isBlank() ? messageTime : time(observed);
        try {
            if (time == null) {
                throw new DeviceReadingRejectedException(what + " has no readable time (OBX-14 or MSH-7)");
            }
            c.checkTime(time, what + " observation time");
            String status = obx.component(11, 1).trim();
            String valueType = obx.component(2, 1).trim();
            if (!"NM".equalsIgnoreCase(valueType) || "X".equalsIgnoreCase(status)) {
                return;
            }
            String value = obx.component(5, 1).trim();
            if (value.isEmpty()) {
                return; // no value (the device shows "?"): nothing to judge
            }
            double number;
            try {
                number = Double.parseDouble(value);
            } catch (NumberFormatException e) {
                throw new DeviceReadingRejectedException(what + " (" + m.referenceId() + ") OBX-5 is not a number");
            }
            String unit = obx.component(6, 2).isBlank() ? obx.component(6, 1) : obx.component(6, 2);
            if (!unit.isBlank() && !m.acceptsUnit(unit) && !m.acceptsUnit(obx.component(6, 1))) {
                throw new DeviceReadingRejectedException(what + " (" + m.referenceId() + ") has unit '"
                        + ReadingChecks.printable(unit) + "', expected " + String.join(" or ", m.units()));
            }
            c.checkValue(m, number, null, what);
        } catch (DeviceReadingRejectedException e) {
            throw new Hl7RejectedException(e.getReason(), ErrorCode.DATA_TYPE_ERROR);
        }
    }

    /** An HL7 DTM as an instant; null when unreadable. */
    Instant time(String hl7) {
        OffsetDateTime time = Hl7DateTime.parseOrNull(hl7, defaultZone, 8);
        return time == null ? null : time.toInstant();
    }

    private static <T> T firstNonNull(T a, T b) {
        return a != null ? a : b;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
