package org.cmm.eventbroker.analytics;

/**
 * What one patient's replay contributes to an aggregate, as a token ({@code census|ward|bed},
 * {@code flow|unit|hourStart|kind}, {@code los|unit|hourStart|minutes}, {@code wait|department|endTime|waitMs}); the
 * patient stage sends "+token" or "-token" keyed by the aggregate it belongs to ({@link #aggregateKey}). HL7 field
 * values never contain '|', the ER7 field separator.
 */
public final class Contribution {

    public static final String ADMISSION = "admission";
    public static final String DISCHARGE = "discharge";
    public static final String TRANSFER_IN = "transfer-in";
    public static final String TRANSFER_OUT = "transfer-out";

    private static final long HOUR = 3_600_000L;

    private Contribution() {
    }

    public static long hour(long epochMs) {
        return Math.floorDiv(epochMs, HOUR) * HOUR;
    }

    public static String census(String ward, String bed) {
        return "census|" + ward + "|" + bed;
    }

    public static String flow(String unit, long hourStart, String kind) {
        return "flow|" + unit + "|" + hourStart + "|" + kind;
    }

    public static String lengthOfStay(String unit, long hourStart, long minutes) {
        return "los|" + unit + "|" + hourStart + "|" + minutes;
    }

    public static String wait(String department, long endTime, long waitMs) {
        return "wait|" + department + "|" + endTime + "|" + waitMs;
    }

    /** The record key of the aggregate a token changes: census|ward, flow|unit (also for los), wait|department. */
    public static String aggregateKey(String token) {
        String[] p = token.split("\\|", -1);
        String family = p[0].equals("los") ? "flow" : p[0];
        return family + "|" + p[1];
    }
}
