package org.cmm.eventbroker.platform.mllp;

import java.util.ArrayList;
import java.util.List;

/**
 * Fields of one ER7 (pipe-delimited) segment, as the sender wrote them (no unescaping).
 *
 * <p>The broker routes on a dozen header fields and forwards the message untouched, so it reads just those from the
 * MSH and PID lines instead of running a general parser over the message (HAPI's pre-parser over the whole message
 * was a tenth of the runtime's CPU per message in the ingest benchmark's profile). HAPI still builds the ACKs.
 * It lives with the MLLP components, which read the header to acknowledge ({@link AckBuilder}, {@link Acknowledgement});
 * the domains (the hl7 package's Er7Message, the lab and pharmacy classifiers) read their fields the same way.
 */
public final class Er7Segment {

    private final String[] fields;
    private final char fieldSeparator;
    private final char componentSeparator;
    private final char repetitionSeparator;
    private final boolean msh;

    private Er7Segment(String[] fields, char fieldSeparator, char componentSeparator, char repetitionSeparator,
                       boolean msh) {
        this.fields = fields;
        this.fieldSeparator = fieldSeparator;
        this.componentSeparator = componentSeparator;
        this.repetitionSeparator = repetitionSeparator;
        this.msh = msh;
    }

    /** Reads an MSH segment; its own MSH-1 and MSH-2 give the delimiters. */
    public static Er7Segment header(String segment) {
        char field = segment.charAt(3);
        String[] f = split(segment, field);
        String encoding = f.length > 1 ? f[1] : "";
        return new Er7Segment(f, field, encoding.length() > 0 ? encoding.charAt(0) : '^',
                encoding.length() > 1 ? encoding.charAt(1) : '~', true);
    }

    /** Reads another segment with the delimiters of its message's header. */
    public static Er7Segment of(String segment, Er7Segment header) {
        return new Er7Segment(split(segment, header.fieldSeparator), header.fieldSeparator, header.componentSeparator,
                header.repetitionSeparator, false);
    }

    /** Field n (MSH-1 is the field separator itself, so MSH-n is the n-th field as HL7 counts), "" when absent. */
    public String field(int n) {
        int index = msh ? n - 1 : n;
        if (msh && n == 1) {
            return String.valueOf(fieldSeparator);
        }
        return index >= 1 && index < fields.length ? fields[index] : "";
    }

    /** Component c of the first repetition of field n, "" when absent. */
    public String component(int n, int c) {
        String value = field(n);
        int cut = value.indexOf(repetitionSeparator);
        if (cut >= 0 && !(msh && n == 2)) {
            value = value.substring(0, cut);
        }
        return componentOf(value, c);
    }

    /** Component c of every repetition of field n, in order; empty when the field is absent. */
    public List<String> components(int n, int c) {
        String value = field(n);
        List<String> result = new ArrayList<>(2);
        if (value.isEmpty()) {
            return result;
        }
        for (String repetition : split(value, repetitionSeparator)) {
            result.add(componentOf(repetition, c));
        }
        return result;
    }

    private String componentOf(String value, int c) {
        int start = 0;
        for (int i = 1; i < c; i++) {
            start = value.indexOf(componentSeparator, start);
            if (start < 0) {
                return "";
            }
            start++;
        }
        int end = value.indexOf(componentSeparator, start);
        return value.substring(start, end < 0 ? value.length() : end);
    }

    private static String[] split(String segment, char separator) {
        List<String> parts = new ArrayList<>(24);
        int start = 0;
        int end;
        while ((end = segment.indexOf(separator, start)) >= 0) {
            parts.add(segment.substring(start, end));
            start = end + 1;
        }
        parts.add(segment.substring(start));
        return parts.toArray(new String[0]);
    }
}
