package org.cmm.eventbroker.hl7;

import java.nio.charset.Charset;
import java.util.Locale;
import java.util.Map;

import org.apache.camel.component.hl7.HL7Charset;

/**
 * MSH-18 (HL7 table 0211) to a Java charset that can both read the message and write its ACK.
 *
 * <p>Camel's {@link HL7Charset} table is not usable as it stands (camel-hl7 4.17): {@code GB 18030-2000} maps to an
 * empty Java name ({@code IllegalCharsetNameException}), {@code 8859/6} to {@code 8859/9} are listed under the name
 * {@code 8859/1}, {@code 8859/15} is missing, and {@code CNS 11643-1992} maps to ISO-2022-CN, which Java can decode
 * but not encode, so no ACK could be written in it. The table here fixes the names and refuses a charset that cannot
 * be written: such a message is answered AR with the reason instead of being published and left without an ACK.
 */
public final class Hl7Charsets {

    private static final Map<String, String> TABLE_0211 = Map.ofEntries(
            Map.entry("ASCII", "US-ASCII"),
            Map.entry("8859/1", "ISO-8859-1"), Map.entry("8859/2", "ISO-8859-2"), Map.entry("8859/3", "ISO-8859-3"),
            Map.entry("8859/4", "ISO-8859-4"), Map.entry("8859/5", "ISO-8859-5"), Map.entry("8859/6", "ISO-8859-6"),
            Map.entry("8859/7", "ISO-8859-7"), Map.entry("8859/8", "ISO-8859-8"), Map.entry("8859/9", "ISO-8859-9"),
            Map.entry("8859/15", "ISO-8859-15"),
            Map.entry("ISO IR14", "ISO-2022-JP"), Map.entry("ISO IR87", "EUC-JP"), Map.entry("ISO IR159", "EUC-JP"),
            Map.entry("GB 18030-2000", "GB18030"), Map.entry("KS X 1001", "EUC-KR"), Map.entry("BIG-5", "Big5"),
            Map.entry("UNICODE", "UTF-8"), Map.entry("UNICODE UTF-8", "UTF-8"), Map.entry("UNICODE UTF-16", "UTF-16"),
            Map.entry("UNICODE UTF-32", "UTF-32"));

    private Hl7Charsets() {
    }

    /**
     * The charset MSH-18's first repetition declares: an HL7 table 0211 name, or (as some senders write it) a
     * Java/IANA name such as UTF-8.
     *
     * @param declared MSH-18-1, trimmed; blank means the default
     * @throws Hl7RejectedException (DATA_TYPE_ERROR, answered AR) when it names nothing Java can read and write
     */
    public static Charset of(String declared, Charset defaultCharset) throws Hl7RejectedException {
        if (declared == null || declared.isBlank()) {
            return defaultCharset;
        }
        String name = TABLE_0211.getOrDefault(declared.trim().toUpperCase(Locale.ROOT), declared.trim());
        Charset charset;
        try {
            charset = Charset.forName(name);
        } catch (RuntimeException e) {
            throw unsupported(declared, "unknown");
        }
        if (!charset.canEncode()) {
            throw unsupported(declared, "Java can read " + charset.name() + " but not write the ACK in it");
        }
        return charset;
    }

    /** Like {@link #of}, but the default instead of a rejection (for readers of messages already accepted). */
    public static Charset orDefault(String declared, Charset defaultCharset) {
        try {
            return of(declared, defaultCharset);
        } catch (Hl7RejectedException e) {
            return defaultCharset;
        }
    }

    private static Hl7RejectedException unsupported(String declared, String why) {
        String shown = declared.length() > 20 ? declared.substring(0, 20) + "..." : declared;
        return new Hl7RejectedException("MSH-18 character set '" + shown.replaceAll("[^\\x20-\\x7E]", "?")
                + "' is not supported (" + why + ")", ca.uhn.hl7v2.ErrorCode.DATA_TYPE_ERROR);
    }
}
