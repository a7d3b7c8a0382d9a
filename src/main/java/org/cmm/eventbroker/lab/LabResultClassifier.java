package org.cmm.eventbroker.lab;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.cmm.eventbroker.hl7.Hl7RejectedException;

/**
 * Files a lab result message (ORU^R01, any version) as normal, abnormal or critical, so that critical results reach
 * the clinicians who must act on them through their own topic, {@code lab.results.critical}, and the rest do not
 * drown them.
 *
 * <p>The class of the message is the most severe class of its observations. An OBX is critical when any repetition of
 * OBX-8 (abnormal flags, HL7 table 0078; the first component, so a v2.7+ CWE such as {@code HH^Panic high} reads as
 * {@code HH}) is one of {@link #setCriticalFlags criticalFlags}, abnormal when one is one of
 * {@link #setAbnormalFlags abnormalFlags}, otherwise normal. Flags are compared case-insensitively; a flag in neither
 * list (N, B, S/R/I, POS, NEG, or a local code) makes the observation normal: add local codes to the lists.
 * Observations whose OBX-11 result status is one of {@link #setIgnoredStatuses ignoredStatuses} (by default D
 * deleted, W wrong/posted in error, X cannot be obtained) do not count: a deleted critical value is not critical.
 * A result without any OBX (an OBR-only report, a cancellation) is normal: nothing in it is flagged, and it is still
 * delivered.
 *
 * <p>Sets the header {@value #RESULT_CLASS}. Anything but ORU^R01 is rejected ({@link Hl7RejectedException}, answered
 * AR and dead-lettered). The message itself is not changed.
 */
public class LabResultClassifier implements Processor {

    /** The header this processor sets: normal, abnormal or critical. */
    public static final String RESULT_CLASS = "lab_result_class";

    private Set<String> criticalFlags = codes("HH,LL,AA,<,>");
    private Set<String> abnormalFlags = codes("H,L,A,HU,LU,U,D,W");
    private Set<String> ignoredStatuses = codes("D,W,X");

    /**
     * OBX-8 flags that make a result critical. Default {@code HH,LL,AA,<,>}: above/below the panic limits, very
     * abnormal, and above/below the instrument's scale (the true value is not known and lies beyond what could be
     * measured). A laboratory that flags an undetectable, harmless value with {@code <} should drop it from the list.
     */
    public void setCriticalFlags(String flags) {
        this.criticalFlags = codes(flags);
    }

    /**
     * OBX-8 flags that make a result abnormal. Default {@code H,L,A,HU,LU,U,D,W}: outside the reference range (H, L),
     * abnormal (A), very high/low but not panic (HU, LU since v2.7), and a significant change up, down or worse
     * (U, D, W), which the laboratory flags for a clinician to look at. Not included by default: B (better),
     * susceptibility (S, R, I, MS, VS: a property of the organism), qualitative interpretations (POS, NEG, DET, ND,
     * RR, NR, IND: whether positive is bad depends on the test), quality flags (QCF, TOX, AC).
     */
    public void setAbnormalFlags(String flags) {
        this.abnormalFlags = codes(flags);
    }

    /** OBX-11 result statuses whose observations do not count. Default {@code D,W,X}. */
    public void setIgnoredStatuses(String statuses) {
        this.ignoredStatuses = codes(statuses);
    }

    @Override
    public void process(Exchange exchange) throws Hl7RejectedException {
        Er7Message message = Er7Message.of(exchange.getMessage());
        message.requireType("ORU^R01");
        exchange.getMessage().setHeader(RESULT_CLASS, classify(message).topicName());
    }

    /** The class of a message already known to be a result. */
    public LabResultClass classify(Er7Message message) {
        LabResultClass result = LabResultClass.NORMAL;
        for (Er7Segment obx : message.segments("OBX")) {
            if (ignoredStatuses.contains(code(obx.component(11, 1)))) {
                continue;
            }
            for (String flag : obx.components(8, 1)) {
                String f = code(flag);
                if (criticalFlags.contains(f)) {
                    return LabResultClass.CRITICAL;
                }
                if (abnormalFlags.contains(f)) {
                    result = result.atLeast(LabResultClass.ABNORMAL);
                }
            }
        }
        return result;
    }

    private static String code(String value) {
        return value.trim().toUpperCase(Locale.ROOT);
    }

    static Set<String> codes(String commaSeparated) {
        if (commaSeparated == null) {
            return Set.of();
        }
        return Arrays.stream(commaSeparated.split(","))
                .map(LabResultClassifier::code)
                .filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }
}
