package org.cmm.eventbroker.cds;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import ca.uhn.hl7v2.HL7Exception;
import ca.uhn.hl7v2.model.v251.datatype.ST;
import ca.uhn.hl7v2.model.v251.message.ORU_R01;
import ca.uhn.hl7v2.model.v251.segment.MSH;
import ca.uhn.hl7v2.model.v251.segment.OBR;
import ca.uhn.hl7v2.model.v251.segment.OBX;
import ca.uhn.hl7v2.model.v251.segment.PID;
import ca.uhn.hl7v2.parser.PipeParser;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.cmm.eventbroker.platform.delivery.DeliveryRejectedException;

/**
 * Maps a CDS alert (JSON of {@code cds.<type>.<priority>}) to the HL7 v2.5.1 ORU^R01 the EHR receives. Why ORU^R01:
 * HL7 v2 has no alert message; EHRs file ORU^R01 into the clinician's results inbox and highlight it by the OBX-8
 * abnormal flag, and this EHR already takes ORU^R01 from the broker over the same link (lab results). MDM^T02 would
 * need a document, and an unsolicited ACK-less notification would lose the AA that commits the delivery.
 *
 * <pre>
 * MSH  -3/-4 sendingApplication/Facility, -5/-6 receivingApplication/Facility, -7 alert createdAt, -9 ORU^R01^ORU_R01,
 *      -10 first 20 hex digits of the alertId (the same alert always carries the same control id), -11 P, -12 2.5.1
 * PID  -3 patientId (the only patient data: the EHR files by it)
 * OBR  -1 1, -3 alertId (filler order number), -4 CDS-ALERT^Clinical decision support alert^L, -7 createdAt,
 *      -25 F
 * OBX 1 ST  CDS-&lt;alert type&gt;^&lt;alert type&gt;^L = summary, -8 AA for critical, A otherwise, -11 F, -14 createdAt
 * OBX 2 ST  CDS-PRIORITY^Alert priority^L = low|medium|high|critical
 * OBX 3 ST  CDS-RULE^Rule id^L = the rule id;  OBX 4 ST CDS-TRIGGER^Triggering record^L = topic-partition@offset
 * </pre>
 */
public class CdsAlertToOru implements Processor {

    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyyMMddHHmmssZ").withZone(ZoneOffset.UTC);

    private String sendingApplication = "CMM-EVENT-BROKER";
    private String sendingFacility = "CMM";
    private String receivingApplication = "EHR";
    private String receivingFacility = "";

    public void setSendingApplication(String v) {
        this.sendingApplication = v;
    }

    public void setSendingFacility(String v) {
        this.sendingFacility = v;
    }

    public void setReceivingApplication(String v) {
        this.receivingApplication = v;
    }

    public void setReceivingFacility(String v) {
        this.receivingFacility = v;
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        byte[] json = exchange.getMessage().getBody(byte[].class);
        CdsAlert alert;
        try {
            alert = CdsAlert.fromJson(json);
        } catch (IOException | RuntimeException e) {
            throw new DeliveryRejectedException("not a CDS alert (JSON " + CdsAlert.SCHEMA + ")");
        }
        exchange.getMessage().setBody(map(alert));
    }

    public String map(CdsAlert alert) throws DeliveryRejectedException {
        if (alert.alertId() == null || alert.patientId() == null || alert.type() == null || alert.priority() == null
                || alert.summary() == null || alert.createdAt() == null) {
            throw new DeliveryRejectedException("CDS alert lacks alertId, patientId, type, priority, summary or createdAt");
        }
        String time;
        try {
            time = TS.format(Instant.parse(alert.createdAt()));
        } catch (RuntimeException e) {
            throw new DeliveryRejectedException("CDS alert createdAt is not an ISO-8601 instant");
        }
        try {
            ORU_R01 oru = new ORU_R01();
            oru.initQuickstart("ORU", "R01", "P");
            MSH msh = oru.getMSH();
            msh.getSendingApplication().getNamespaceID().setValue(sendingApplication);
            msh.getSendingFacility().getNamespaceID().setValue(sendingFacility);
            msh.getReceivingApplication().getNamespaceID().setValue(receivingApplication);
            if (receivingFacility != null && !receivingFacility.isBlank()) {
                msh.getReceivingFacility().getNamespaceID().setValue(receivingFacility);
            }
            msh.getDateTimeOfMessage().getTime().setValue(time);
            msh.getMessageControlID().setValue(controlId(alert));
            PID pid = oru.getPATIENT_RESULT().getPATIENT().getPID();
            pid.getSetIDPID().setValue("1");
            pid.getPatientIdentifierList(0).getIDNumber().setValue(alert.patientId());
            OBR obr = oru.getPATIENT_RESULT().getORDER_OBSERVATION().getOBR();
            obr.getSetIDOBR().setValue("1");
            obr.getFillerOrderNumber().getEntityIdentifier().setValue(alert.alertId());
            obr.getUniversalServiceIdentifier().getIdentifier().setValue("CDS-ALERT");
            obr.getUniversalServiceIdentifier().getText().setValue("Clinical decision support alert");
            obr.getUniversalServiceIdentifier().getNameOfCodingSystem().setValue("L");
            obr.getObservationDateTime().getTime().setValue(time);
            obr.getResultStatus().setValue("F");
            observation(oru, 0, "CDS-" + alert.type(), alert.type(), alert.summary(), time,
                    "critical".equals(alert.priority()) ? "AA" : "A");
            observation(oru, 1, "CDS-PRIORITY", "Alert priority", alert.priority(), time, null);
            observation(oru, 2, "CDS-RULE", "Rule id", alert.ruleId(), time, null);
            if (alert.trigger() != null) {
                observation(oru, 3, "CDS-TRIGGER", "Triggering record", alert.trigger().topic() + "-"
                        + alert.trigger().partition() + "@" + alert.trigger().offset(), time, null);
            }
            return new PipeParser().encode(oru);
        } catch (HL7Exception | IOException e) {
            throw new DeliveryRejectedException("CDS alert cannot be encoded as HL7 v2.5.1 ORU^R01 (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static void observation(ORU_R01 oru, int index, String code, String text, String value, String time, String flag)
            throws HL7Exception {
        OBX obx = oru.getPATIENT_RESULT().getORDER_OBSERVATION().getOBSERVATION(index).getOBX();
        obx.getSetIDOBX().setValue(String.valueOf(index + 1));
        obx.getValueType().setValue("ST");
        obx.getObservationIdentifier().getIdentifier().setValue(code);
        obx.getObservationIdentifier().getText().setValue(text);
        obx.getObservationIdentifier().getNameOfCodingSystem().setValue("L");
        ST st = new ST(oru);
        st.setValue(value == null ? "" : value);
        obx.getObservationValue(0).setData(st);
        if (flag != null) {
            obx.getAbnormalFlags(0).setValue(flag);
        }
        obx.getObservationResultStatus().setValue("F");
        obx.getDateTimeOfTheObservation().getTime().setValue(time);
    }

    /** MSH-10: 20 characters (the v2.5.1 limit) derived from the alert id. */
    static String controlId(CdsAlert alert) {
        String hex = alert.alertId().startsWith("cds-") ? alert.alertId().substring(4) : CdsAlert.sha256Hex(alert.alertId());
        return hex.length() > 20 ? hex.substring(0, 20) : hex;
    }
}
