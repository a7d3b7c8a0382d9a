package org.cmm.eventbroker.platform.mllp;

/**
 * The rule for an MSH segment's delimiters (MSH-1 and MSH-2), shared by the HL7 inspector, which rejects a message
 * whose delimiters break it, and the ACK builder, which must not answer in them.
 */
public final class Hl7Delimiters {

    /** The standard encoding characters: component, repetition, escape, subcomponent. */
    public static final String STANDARD_ENCODING = "^~\\&";

    private Hl7Delimiters() {
    }

    /**
     * Why the delimiters of this MSH segment (starting with {@code MSH}) cannot be read back, or null when they can:
     * MSH-1 a field separator that is not a letter, digit or white space; MSH-2 four (from v2.7, five) encoding
     * characters, each printable, not a letter or digit, used once and not the field separator. With a letter as a
     * delimiter, even an ACK's code ({@code AR}) would be escaped.
     */
    public static String problem(String msh) {
        if (msh == null || msh.length() < 4) {
            return "MSH-1 field separator is missing (the segment ends after MSH)";
        }
        char fieldSeparator = msh.charAt(3);
        if (Character.isLetterOrDigit(fieldSeparator) || Character.isWhitespace(fieldSeparator)) {
            return "MSH-1 field separator is not a delimiter";
        }
        int end = msh.indexOf(fieldSeparator, 4);
        String encoding = end < 0 ? msh.substring(4) : msh.substring(4, end);
        if (encoding.length() < 4 || encoding.length() > 5) {
            return "MSH-2 encoding characters must be 4 (or, from v2.7, 5) delimiters, found " + encoding.length();
        }
        for (int i = 0; i < encoding.length(); i++) {
            char c = encoding.charAt(i);
            if (c < 0x21 || c > 0x7e || Character.isLetterOrDigit(c) || c == fieldSeparator
                    || encoding.indexOf(c) != i) {
                return "MSH-2 encoding character " + (i + 1) + " is not a distinct printable delimiter";
            }
        }
        return null;
    }
}
