package org.cmm.eventbroker.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Seeds of the fuzzing properties: the public corpus ({@code ../shared/corpus/hl7v2}, when present) and the
 * project's own sample messages, then mutated (bytes replaced, inserted, deleted, cut, delimiters and MSH-18 values
 * spliced in) by {@link #mutated}.
 */
final class FuzzSeeds {

    private static final List<byte[]> HL7 = load(List.of(Path.of("../shared/corpus/hl7v2"),
            Path.of("src/test/resources/messages/hl7v2")), ".hl7", ".txt", ".er7");
    private static final List<byte[]> JSON_XML = load(List.of(Path.of("src/test/resources/messages/fhir"),
            Path.of("src/test/resources/messages/ehr")), ".json", ".xml");

    /** MSH-18 values worth trying: every HL7 table 0211 name, Java names, and nonsense. */
    static final List<String> CHARSET_NAMES = List.of("", "ASCII", "8859/1", "8859/6", "8859/15", "UNICODE UTF-8",
            "UNICODE UTF-16", "UNICODE UTF-32", "GB 18030-2000", "CNS 11643-1992", "BIG-5", "KS X 1001", "ISO IR87",
            "ISO IR14", "ISO IR159", "UTF-8", "x-IBM930", "ISO-2022-CN", "X-UNKNOWN", "\u00ff\u00fe", "~^&");

    private FuzzSeeds() {
    }

    private static List<byte[]> load(List<Path> folders, String... suffixes) {
        List<byte[]> seeds = new ArrayList<>();
        for (Path folder : folders) {
            if (!Files.isDirectory(folder)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(folder)) {
                files.filter(Files::isRegularFile).filter(f -> Stream.of(suffixes).anyMatch(s -> f.toString().endsWith(s)))
                        .sorted().limit(500).forEach(f -> {
                            try {
                                byte[] bytes = Files.readAllBytes(f);
                                if (bytes.length > 0 && bytes.length < 256 * 1024) {
                                    seeds.add(bytes);
                                }
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return seeds;
    }

    static Arbitrary<byte[]> hl7() {
        return mutated(HL7.isEmpty() ? List.of("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\r".getBytes()) : HL7, true);
    }

    static Arbitrary<byte[]> jsonOrXml() {
        return mutated(JSON_XML.isEmpty() ? List.of("{\"resourceType\":\"Patient\",\"id\":\"1\"}".getBytes()) : JSON_XML, false);
    }

    private static Arbitrary<byte[]> mutated(List<byte[]> seeds, boolean hl7) {
        Arbitrary<byte[]> seed = Arbitraries.of(seeds);
        Arbitrary<List<Mutation>> mutations = mutation(hl7).list().ofMaxSize(6);
        Arbitrary<byte[]> fromSeeds = Combinators.combine(seed, mutations).as((s, ms) -> {
            byte[] b = s;
            for (Mutation m : ms) {
                b = m.apply(b);
            }
            return b;
        });
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(2048);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, fromSeeds),
                net.jqwik.api.Tuple.of(1, random));
    }

    interface Mutation {
        byte[] apply(byte[] in);
    }

    private static Arbitrary<Mutation> mutation(boolean hl7) {
        Arbitrary<Integer> where = Arbitraries.integers().between(0, Integer.MAX_VALUE);
        Arbitrary<Byte> interesting = hl7
                ? Arbitraries.of((byte) '|', (byte) '^', (byte) '~', (byte) '\\', (byte) '&', (byte) '\r', (byte) '\n',
                        (byte) 0x0B, (byte) 0x1C, (byte) 0, (byte) 0xFF, (byte) 0xC3, (byte) 0x80, (byte) 'M')
                : Arbitraries.of((byte) '{', (byte) '}', (byte) '"', (byte) '<', (byte) '>', (byte) '/', (byte) '&',
                        (byte) ':', (byte) ',', (byte) '[', (byte) 0, (byte) 0xFF, (byte) 0xC3, (byte) '\\');
        Arbitrary<Mutation> replace = Combinators.combine(where, interesting.injectNull(0)
                .map(b -> b == null ? (byte) 'x' : b)).as((at, b) -> in -> {
                    if (in.length == 0) {
                        return new byte[] {b};
                    }
                    byte[] out = in.clone();
                    out[at % out.length] = b;
                    return out;
                });
        Arbitrary<Mutation> insert = Combinators.combine(where, interesting, Arbitraries.integers().between(1, 64))
                .as((at, b, n) -> in -> {
                    int p = in.length == 0 ? 0 : at % in.length;
                    byte[] out = new byte[in.length + n];
                    System.arraycopy(in, 0, out, 0, p);
                    java.util.Arrays.fill(out, p, p + n, b);
                    System.arraycopy(in, p, out, p + n, in.length - p);
                    return out;
                });
        Arbitrary<Mutation> cut = where.map(at -> in -> in.length == 0 ? in : java.util.Arrays.copyOf(in, at % in.length));
        Arbitrary<Mutation> delete = Combinators.combine(where, Arbitraries.integers().between(1, 200)).as((at, n) -> in -> {
            if (in.length == 0) {
                return in;
            }
            int p = at % in.length;
            int end = Math.min(in.length, p + n);
            byte[] out = new byte[in.length - (end - p)];
            System.arraycopy(in, 0, out, 0, p);
            System.arraycopy(in, end, out, p, in.length - end);
            return out;
        });
        if (!hl7) {
            return Arbitraries.oneOf(replace, insert, cut, delete);
        }
        Arbitrary<Mutation> charset = Arbitraries.of(CHARSET_NAMES).map(name -> in -> withMsh18(in, name));
        return Arbitraries.oneOf(replace, insert, cut, delete, charset);
    }

    /** The message with MSH-18 set to the name (fields added as needed). */
    static byte[] withMsh18(byte[] in, String name) {
        String text = new String(in, java.nio.charset.StandardCharsets.ISO_8859_1);
        int end = text.indexOf('\r');
        if (!text.startsWith("MSH") || text.length() < 4) {
            return in;
        }
        String msh = end < 0 ? text : text.substring(0, end);
        if (msh.length() < 4) {
            return in;
        }
        String rest = end < 0 ? "" : text.substring(end);
        String sep = String.valueOf(msh.charAt(3));
        String[] fields = msh.split(java.util.regex.Pattern.quote(sep), -1);
        List<String> f = new ArrayList<>(List.of(fields));
        while (f.size() < 18) {
            f.add("");
        }
        f.set(17, name);
        return (String.join(sep, f) + rest).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    }
}
