package org.cmm.eventbroker.device;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The measurements and device kinds the device flows know, read from one file (by default
 * {@code classpath:device/measurements.properties}; documented in docs/devices/device-ingest.md), so a site adds a
 * code or changes a plausibility range without a rebuild.
 *
 * <p>Two kinds of line. {@code device.<MDC reference id> = <numeric code or -> | <device-type>} names the device type
 * of an IEEE 11073 medical device system (MDS) code, as a PCD-01 message's MDS observation or OBR-4 carries it.
 * {@code measurement.<MDC reference id> = <numeric code or -> | <device-type> | <data-type> | <units> | <min> | <max>}
 * says which topic a measurement belongs to, which unit spellings mean its unit (comma separated: UCUM, MDC name,
 * MDC numeric code) and the plausible range, inclusive; an empty min or max is an open bound, and empty units with
 * empty bounds make a text-valued measurement that is not range-checked. Codes are matched by reference id or numeric
 * code, case-insensitively. The known device types and data types are those the file names.
 */
public final class MeasurementCatalogue {

    private static final Pattern TOPIC_PART = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");

    /** One measurement: where it goes and what is plausible. */
    public record Measurement(String referenceId, String numericCode, String deviceType, String dataType,
                              Set<String> units, Double min, Double max) {

        public boolean isNumeric() {
            return !units.isEmpty() || min != null || max != null;
        }

        /** Whether a unit as written by a device (any listed spelling, case-insensitive) is this measurement's unit. */
        public boolean acceptsUnit(String unit) {
            return units.contains(unit.trim().toLowerCase(Locale.ROOT));
        }

        public boolean isPlausible(double value) {
            return !Double.isNaN(value) && !Double.isInfinite(value)
                    && (min == null || value >= min) && (max == null || value <= max);
        }

        /** The range as the documentation writes it, e.g. "0..100 %". */
        public String range() {
            return (min == null ? "" : format(min)) + ".." + (max == null ? "" : format(max))
                    + (units.isEmpty() ? "" : " " + units.iterator().next());
        }

        private static String format(double v) {
            return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
        }
    }

    private final Map<String, Measurement> measurements = new LinkedHashMap<>();
    private final Map<String, String> deviceKinds = new LinkedHashMap<>();
    private final Set<String> deviceTypes = new TreeSet<>();
    private final Set<String> dataTypes = new TreeSet<>();

    private MeasurementCatalogue() {
    }

    /** Reads {@code classpath:...}, {@code file:...} or a plain path. */
    public static MeasurementCatalogue load(String location) {
        try (InputStream in = open(location)) {
            if (in == null) {
                throw new IllegalArgumentException("device measurement catalogue not found: " + location
                        + " (cmm.device.catalogue)");
            }
            Properties p = new Properties();
            p.load(new InputStreamReader(in, StandardCharsets.UTF_8));
            return parse(p, location);
        } catch (IOException e) {
            throw new IllegalArgumentException("device measurement catalogue unreadable: " + location, e);
        }
    }

    static MeasurementCatalogue parse(Properties p, String location) {
        MeasurementCatalogue c = new MeasurementCatalogue();
        for (String key : new TreeSet<>(p.stringPropertyNames())) {
            String[] cols = Arrays.stream(p.getProperty(key).split("\\|", -1)).map(String::trim).toArray(String[]::new);
            String where = location + ", " + key + ": ";
            if (key.startsWith("device.")) {
                String refId = key.substring("device.".length());
                if (cols.length != 2) {
                    throw new IllegalArgumentException(where + "expected <numeric code or -> | <device-type>");
                }
                String type = topicPart(cols[1], where + "device type");
                c.deviceKinds.put(normal(refId), type);
                if (!cols[0].equals("-") && !cols[0].isEmpty()) {
                    c.deviceKinds.put(normal(cols[0]), type);
                }
                c.deviceTypes.add(type);
            } else if (key.startsWith("measurement.")) {
                String refId = key.substring("measurement.".length());
                if (cols.length != 6) {
                    throw new IllegalArgumentException(where
                            + "expected <numeric code or -> | <device-type> | <data-type> | <units> | <min> | <max>");
                }
                // the first spelling first: messages name it
                Set<String> ordered = new java.util.LinkedHashSet<>();
                for (String u : cols[3].split(",")) {
                    if (!u.isBlank()) {
                        ordered.add(u.trim().toLowerCase(Locale.ROOT));
                    }
                }
                String code = cols[0].equals("-") ? null : cols[0];
                Measurement m = new Measurement(refId, code, topicPart(cols[1], where + "device type"),
                        topicPart(cols[2], where + "data type"), Collections.unmodifiableSet(ordered),
                        bound(cols[4], where), bound(cols[5], where));
                c.measurements.put(normal(refId), m);
                if (code != null && !code.isEmpty()) {
                    c.measurements.put(normal(code), m);
                }
                c.deviceTypes.add(m.deviceType());
                c.dataTypes.add(m.dataType());
            } else {
                throw new IllegalArgumentException(where + "keys start with device. or measurement.");
            }
        }
        return c;
    }

    private static InputStream open(String location) throws IOException {
        if (location.startsWith("classpath:")) {
            String path = location.substring("classpath:".length());
            return MeasurementCatalogue.class.getClassLoader().getResourceAsStream(path.startsWith("/") ? path.substring(1) : path);
        }
        Path file = Path.of(location.startsWith("file:") ? location.substring("file:".length()) : location);
        return Files.isReadable(file) ? Files.newInputStream(file) : null;
    }

    private static String topicPart(String value, String what) {
        if (!TOPIC_PART.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " '" + value + "' must be lower-case letters, digits and hyphens");
        }
        return value;
    }

    private static Double bound(String value, String where) {
        if (value.isEmpty()) {
            return null;
        }
        try {
            return Double.valueOf(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + "bound '" + value + "' is not a number");
        }
    }

    private static String normal(String code) {
        return code.trim().toUpperCase(Locale.ROOT);
    }

    /** The measurement of a code (MDC reference id such as MDC_PULS_OXIM_SAT_O2, or its numeric code), if known. */
    public Measurement measurement(String code) {
        return code == null ? null : measurements.get(normal(code));
    }

    /** The device type of a medical device system code (e.g. MDC_DEV_PUMP_INFUS_MDS), if known. */
    public String deviceTypeOfSystem(String code) {
        return code == null ? null : deviceKinds.get(normal(code));
    }

    public boolean isDeviceType(String type) {
        return deviceTypes.contains(type);
    }

    public boolean isDataType(String type) {
        return dataTypes.contains(type);
    }

    public Set<String> deviceTypes() {
        return Collections.unmodifiableSet(deviceTypes);
    }

    public Set<String> dataTypes() {
        return Collections.unmodifiableSet(dataTypes);
    }

    /** Every measurement once (for documentation and tests). */
    public List<Measurement> measurements() {
        return measurements.values().stream().distinct().toList();
    }
}
