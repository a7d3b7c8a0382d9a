package org.cmm.eventbroker.workflow;

/** Synthetic HL7 v2.5.1 clinical events for the workflow tests (no real patient data). */
public final class WorkflowMessages {

    private WorkflowMessages() {
    }

    /** An ADT message of the given trigger event (A01, A03, A08, A11, A13...) for a patient and a visit. */
    public static String adt(String event, String controlId, String patientId, String visitNumber) {
        return "MSH|^~\\&|EPIC|HOSP|CMM|CMM|20261126120000||ADT^" + event + "^ADT_A01|" + controlId + "|P|2.5.1\r"
                + "EVN|" + event + "|20261126120000\r"
                + "PID|1||" + patientId + "^^^HOSP^MR~SSN-1^^^SSA^SS||TESTPATIENT^ALICE||19800101|F\r"
                + "PV1|1|I|W3^301^1" + "|".repeat(16) + (visitNumber == null ? "" : visitNumber + "^^^HOSP^VN") + "\r";
    }

    /** A REF patient referral message (I12 new, I13 modify, I14 cancel) with RF1-6 the referral id. */
    public static String referral(String event, String controlId, String patientId, String referralId) {
        return "MSH|^~\\&|GP|CLINIC|CMM|CMM|20261126120000||REF^" + event + "^REF_I12|" + controlId + "|P|2.5.1\r"
                + "RF1|A^Accepted||||N^New|" + referralId + "\r"
                + "PID|1||" + patientId + "^^^HOSP^MR||TESTPATIENT^BOB||19700101|M\r";
    }
}
