package org.cmm.eventbroker.platform.mllp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import javax.security.auth.x500.X500Principal;

/**
 * Which sending application and facility (MSH-3, MSH-4) a client certificate may send as. A certificate listed here
 * may send only as one of its pairs; a certificate not listed (or a connection without one) is not restricted by
 * this table. The file ({@code cmm.mllp.tls.sender-restrictions-file}) has one allowed pair per line:
 *
 * <pre>
 * # certificate subject           | MSH-3 | MSH-4   (* = any)
 * CN=lis.example.org,O=Hospital   | LIS   | LAB
 * CN=lis.example.org,O=Hospital   | LIS   | LAB2
 * </pre>
 *
 * Subjects are compared as X.500 names (case and spacing of attribute types do not matter); MSH values as written
 * (first component). Reasons name the subject and the MSH-3/MSH-4 values, which are routing data, never content.
 */
public final class SenderRestrictions {

    /** No certificate is restricted. */
    public static final SenderRestrictions NONE = new SenderRestrictions(Map.of());

    private final Map<String, Set<List<String>>> allowed;

    private SenderRestrictions(Map<String, Set<List<String>>> allowed) {
        this.allowed = allowed;
    }

    /** Reads the table; a blank path means no restriction. Fails naming the file and the line. */
    public static SenderRestrictions load(String file) {
        if (file == null || file.isBlank()) {
            return NONE;
        }
        Path path = Path.of(file.trim());
        List<String> lines;
        try {
            lines = Files.readAllLines(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cmm.mllp.tls.sender-restrictions-file: cannot read " + path.toAbsolutePath(), e);
        }
        Map<String, Set<List<String>>> allowed = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("\\|", -1);
            if (parts.length != 3 || parts[0].isBlank() || parts[1].isBlank() || parts[2].isBlank()) {
                throw new IllegalStateException(path + " line " + (i + 1)
                        + ": expected '<certificate subject> | <MSH-3> | <MSH-4>'");
            }
            String subject;
            try {
                subject = canonical(parts[0].trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(path + " line " + (i + 1) + ": not an X.500 subject name", e);
            }
            allowed.computeIfAbsent(subject, k -> new HashSet<>()).add(List.of(parts[1].trim(), parts[2].trim()));
        }
        return new SenderRestrictions(Map.copyOf(allowed));
    }

    /** Whether the certificate subject is restricted at all. */
    public boolean restricts(String subject) {
        return subject != null && allowed.containsKey(canonical(subject));
    }

    /**
     * Empty when the message may come from this certificate; otherwise the reason it may not. A message of a
     * restricted certificate whose MSH-3/MSH-4 cannot be read is refused too.
     */
    public Optional<String> refusal(String subject, byte[] payload) {
        if (subject == null) {
            return Optional.empty();
        }
        Set<List<String>> pairs = allowed.get(canonical(subject));
        if (pairs == null) {
            return Optional.empty();
        }
        Optional<String[]> sender = sendingApplicationAndFacility(payload);
        if (sender.isEmpty()) {
            return Optional.of("MSH-3/MSH-4 unreadable: the client certificate " + subject
                    + " may only send as listed sending applications");
        }
        String app = sender.get()[0];
        String facility = sender.get()[1];
        for (List<String> pair : pairs) {
            if (matches(pair.get(0), app) && matches(pair.get(1), facility)) {
                return Optional.empty();
            }
        }
        return Optional.of("sending application/facility " + printable(app) + "^" + printable(facility)
                + " (MSH-3^MSH-4) is not allowed for the client certificate " + subject);
    }

    private static boolean matches(String allowed, String actual) {
        return "*".equals(allowed) || allowed.equals(actual);
    }

    /** MSH-3 and MSH-4 (first components) of an ER7 message, or empty when it does not start with an MSH segment. */
    static Optional<String[]> sendingApplicationAndFacility(byte[] payload) {
        if (payload == null || payload.length < 8) {
            return Optional.empty();
        }
        String head = new String(payload, 0, Math.min(payload.length, 4096), StandardCharsets.ISO_8859_1);
        int start = 0;
        while (start < head.length() && Character.isWhitespace(head.charAt(start))) {
            start++;
        }
        if (!head.startsWith("MSH", start) || head.length() < start + 5) {
            return Optional.empty();
        }
        char fieldSeparator = head.charAt(start + 3);
        char componentSeparator = head.charAt(start + 4);
        int end = start;
        while (end < head.length() && head.charAt(end) != '\r' && head.charAt(end) != '\n') {
            end++;
        }
        String[] fields = head.substring(start, end).split(java.util.regex.Pattern.quote(String.valueOf(fieldSeparator)), -1);
        if (fields.length < 4) {
            return Optional.empty();
        }
        return Optional.of(new String[] {firstComponent(fields[2], componentSeparator),
            firstComponent(fields[3], componentSeparator)});
    }

    private static String firstComponent(String field, char separator) {
        int at = field.indexOf(separator);
        return (at >= 0 ? field.substring(0, at) : field).trim();
    }

    private static String printable(String value) {
        String cut = value.length() > 40 ? value.substring(0, 40) : value;
        return cut.replaceAll("[^\\x20-\\x7E]", "?");
    }

    static String canonical(String subject) {
        return new X500Principal(subject).getName(X500Principal.CANONICAL);
    }
}
