package org.cmm.eventbroker.bench;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Realistic HL7 v2.5.1 traffic for load tests: generated patients, a mix of ADT A01/A03/A08 and ORU R01 between
 * 1 KB and 8 KB, every message with its own MSH-10. Deterministic for a given seed, so all systems compared in one
 * run get the same payloads.
 */
public final class SyntheticMessages {

    private static final String[] FAMILY = {"OKAFOR", "LINDQVIST", "MORETTI", "NAKAMURA", "HALVORSEN", "DUBOIS",
        "KOWALCZYK", "ABERNATHY", "SANTIAGO", "FITZGERALD", "VARGA", "OYELARAN", "PETROVIC", "MCALLISTER"};
    private static final String[] GIVEN = {"AMARA", "TOBIAS", "GIULIA", "KENJI", "INGRID", "MATHIS", "ZOFIA",
        "WINIFRED", "MATEO", "CIARAN", "ESZTER", "FOLAKE", "DRAGAN", "ISLA"};
    private static final String[][] LABS = {
        {"2345-7", "Glucose", "mg/dL", "70-99"}, {"2823-3", "Potassium", "mmol/L", "3.5-5.1"},
        {"2951-2", "Sodium", "mmol/L", "136-145"}, {"718-7", "Hemoglobin", "g/dL", "12.0-16.0"},
        {"6690-2", "Leukocytes", "10*3/uL", "4.5-11.0"}, {"2160-0", "Creatinine", "mg/dL", "0.6-1.3"},
        {"1742-6", "ALT", "U/L", "7-56"}, {"777-3", "Platelets", "10*3/uL", "150-400"}};

    /** One message: its bytes, and what a consumer should find on Kafka. */
    public record Sample(byte[] bytes, String controlId, String patientId, String type, String trigger) {
    }

    private final String controlIdPrefix;
    private final int patients;
    private final long seed;

    public SyntheticMessages(String controlIdPrefix, int patients, long seed) {
        this.controlIdPrefix = controlIdPrefix;
        this.patients = patients;
        this.seed = seed;
    }

    public Sample message(long sequence) {
        SplittableRandom random = new SplittableRandom(seed * 1_000_003L + sequence);
        int patient = random.nextInt(patients);
        String mrn = "MRN" + (1_000_000 + patient);
        String controlId = controlIdPrefix + sequence;
        String family = FAMILY[patient % FAMILY.length];
        String given = GIVEN[(patient / FAMILY.length) % GIVEN.length];
        String ts = String.format("2024%02d%02d%02d%02d%02d", 1 + random.nextInt(12), 1 + random.nextInt(28),
                random.nextInt(24), random.nextInt(60), random.nextInt(60));
        int kind = random.nextInt(10); // 2 A01, 1 A03, 3 A08, 4 R01
        int targetSize = 1024 + random.nextInt(7 * 1024);
        StringBuilder m = new StringBuilder(targetSize + 512);
        String type;
        String trigger;
        if (kind < 6) {
            type = "ADT";
            trigger = kind < 2 ? "A01" : kind < 3 ? "A03" : "A08";
            m.append("MSH|^~\\&|EPIC|GENHOSP|CMM_BROKER|CMM|").append(ts).append("||ADT^").append(trigger)
                    .append("^ADT_A01|").append(controlId).append("|P|2.5.1\r");
            m.append("EVN|").append(trigger).append('|').append(ts).append('\r');
            pid(m, mrn, family, given, random);
            m.append("PV1|1|I|").append(random.nextInt(9) + 1).append("WEST^").append(100 + random.nextInt(300))
                    .append("^A^GENHOSP||||").append(1000 + random.nextInt(9000)).append("^WELBY^MARCUS^^^DR|||MED||||ADM|||||V")
                    .append(sequence).append("|||||||||||||||||||||||||").append(ts).append('\r');
            int i = 1;
            while (m.length() < targetSize) {
                m.append("AL1|").append(i).append("|DA|").append(70618 + i).append("^Penicillin class ").append(i)
                        .append("^RXNORM|SV|Hives and shortness of breath reported in a prior admission|20190101\r");
                m.append("DG1|").append(i++).append("||I10^Essential hypertension^I10C||").append(ts)
                        .append("|A|||||||||1|").append(1000 + random.nextInt(9000)).append("^WELBY^MARCUS\r");
            }
        } else {
            type = "ORU";
            trigger = "R01";
            m.append("MSH|^~\\&|LAB|GENHOSP|CMM_BROKER|CMM|").append(ts).append("||ORU^R01^ORU_R01|")
                    .append(controlId).append("|P|2.5.1\r");
            pid(m, mrn, family, given, random);
            m.append("OBR|1|ORD").append(sequence).append("|LAB").append(sequence).append("|24323-8^Comprehensive metabolic panel^LN|||")
                    .append(ts).append("\r");
            int i = 1;
            while (m.length() < targetSize) {
                String[] lab = LABS[random.nextInt(LABS.length)];
                m.append("OBX|").append(i++).append("|NM|").append(lab[0]).append('^').append(lab[1]).append("^LN||")
                        .append(random.nextInt(200)).append('.').append(random.nextInt(10)).append('|').append(lab[2])
                        .append('|').append(lab[3]).append("|N|||F|||").append(ts).append("\r");
                m.append("NTE|").append(i).append("||Specimen received in good condition; result verified by laboratory staff.\r");
            }
        }
        return new Sample(m.toString().getBytes(StandardCharsets.ISO_8859_1), controlId, mrn, type, trigger);
    }

    private static void pid(StringBuilder m, String mrn, String family, String given, SplittableRandom random) {
        m.append("PID|1||").append(mrn).append("^^^GENHOSP^MR||").append(family).append('^').append(given)
                .append("||19").append(40 + random.nextInt(60)).append("0").append(1 + random.nextInt(9)).append("1")
                .append(random.nextInt(10)).append('|').append(random.nextBoolean() ? 'F' : 'M')
                .append("|||").append(1 + random.nextInt(999)).append(" MAIN STREET^^SPRINGFIELD^IL^62701||(217)555-0")
                .append(100 + random.nextInt(900)).append('\r');
    }
}
