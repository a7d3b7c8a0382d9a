package org.cmm.eventbroker.pharmacy;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import ca.uhn.hl7v2.ErrorCode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Er7Message;
import org.cmm.eventbroker.platform.mllp.Er7Segment;
import org.cmm.eventbroker.hl7.Hl7RejectedException;

/**
 * Tells a first dispense from a refill and from a return in a pharmacy dispense message (RDS^O13, any version), so
 * stock, billing and adherence consumers can each follow the events they care about.
 *
 * <p>HL7 has no trigger event or order control code for a return (table 0119 has none; "RT" is not in it), and
 * pharmacy systems report a return as a dispense of a negative amount. The rule, over every order of the message,
 * first match wins:
 * <ol>
 * <li><b>return</b> when any RXD-4 (actual dispense amount) is negative, or any ORC-1 is one of
 * {@link #setReturnOrderControls returnOrderControls} (empty by default: for a site's local code);</li>
 * <li><b>refill</b> when any ORC-1 is one of {@link #setRefillOrderControls refillOrderControls} (default
 * {@code RF,OF,FU}: table 0119's refill request, refilled as requested, refilled unsolicited), or any RXD-1 (dispense
 * sub-ID counter, which counts the dispenses of one order) is greater than 1;</li>
 * <li><b>new</b> otherwise.</li>
 * </ol>
 *
 * <p>Sets the header {@value #DISPENSING_CLASS}. Rejected ({@link Hl7RejectedException}, answered AR and
 * dead-lettered): anything but RDS^O13, a message without RXD (nothing was dispensed), an RXD-4 or RXD-1 that is not a
 * number. Reasons name the field, never its value.
 */
public class DispensingClassifier implements Processor {

    /** The header this processor sets: new, refill or return. */
    public static final String DISPENSING_CLASS = "pharmacy_dispensing_class";

    private Set<String> returnOrderControls = Set.of();
    private Set<String> refillOrderControls = codes("RF,OF,FU");

    /** ORC-1 order control codes that mean a return (comma separated, case-insensitive). Default: none. */
    public void setReturnOrderControls(String codes) {
        this.returnOrderControls = codes(codes);
    }

    /** ORC-1 order control codes that mean a refill. Default {@code RF,OF,FU}. */
    public void setRefillOrderControls(String codes) {
        this.refillOrderControls = codes(codes);
    }

    @Override
    public void process(Exchange exchange) throws Hl7RejectedException {
        Er7Message message = Er7Message.of(exchange.getMessage());
        message.requireType("RDS^O13");
        exchange.getMessage().setHeader(DISPENSING_CLASS, classify(message).headerValue());
    }

    /** The class of a message already known to be a dispense. */
    public DispensingClass classify(Er7Message message) throws Hl7RejectedException {
        var dispenses = message.segments("RXD");
        if (dispenses.isEmpty()) {
            throw new Hl7RejectedException("RDS^O13 without an RXD segment (nothing dispensed)",
                    ErrorCode.SEGMENT_SEQUENCE_ERROR);
        }
        boolean refill = false;
        for (Er7Segment orc : message.segments("ORC")) {
            String control = orc.component(1, 1).trim().toUpperCase(Locale.ROOT);
            if (returnOrderControls.contains(control)) {
                return DispensingClass.RETURN;
            }
            refill |= refillOrderControls.contains(control);
        }
        for (Er7Segment rxd : dispenses) {
            BigDecimal amount = number(rxd.component(4, 1), "RXD-4 (actual dispense amount)");
            if (amount != null && amount.signum() < 0) {
                return DispensingClass.RETURN;
            }
            BigDecimal counter = number(rxd.component(1, 1), "RXD-1 (dispense sub-ID counter)");
            refill |= counter != null && counter.compareTo(BigDecimal.ONE) > 0;
        }
        return refill ? DispensingClass.REFILL : DispensingClass.NEW;
    }

    private static BigDecimal number(String value, String field) throws Hl7RejectedException {
        String v = value.trim();
        if (v.isEmpty()) {
            return null;
        }
        try {
            return new BigDecimal(v.startsWith("+") ? v.substring(1) : v);
        } catch (NumberFormatException e) {
            throw new Hl7RejectedException(field + " is not a number", ErrorCode.DATA_TYPE_ERROR);
        }
    }

    private static Set<String> codes(String commaSeparated) {
        if (commaSeparated == null) {
            return Set.of();
        }
        return Arrays.stream(commaSeparated.split(","))
                .map(s -> s.trim().toUpperCase(Locale.ROOT))
                .filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }
}
