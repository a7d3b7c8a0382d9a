package org.cmm.eventbroker.fhir;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The MSH-10 of a message mapped from a FHIR resource: the first 20 hexadecimal characters (80 bits) of the SHA-256
 * of the record's bytes.
 *
 * <p>Kafka delivers at least once, so the same record may be mapped twice; because the id depends only on the bytes,
 * the second message carries the same control id and the peer can suppress it as a duplicate. A changed resource
 * (a new version, even one with only a new lastUpdated) gets a new id. Twenty characters is the length of MSH-10.
 */
public final class ContentControlId {

    /** Length of the id: MSH-10 is an ST of at most 20 characters in v2.5.1. */
    public static final int LENGTH = 20;

    private ContentControlId() {
    }

    /** The control id of these bytes. */
    public static String of(byte[] content) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(content);
            return HexFormat.of().formatHex(digest, 0, LENGTH / 2).toUpperCase(Locale.ROOT);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
