package org.cmm.eventbroker.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;

/**
 * Seeds of the fuzz tests (issue 17): the HL7 v2 messages of the public corpus ({@code ../shared/corpus/hl7v2}, see its
 * SOURCES.md; read in place, never copied into the project) and the project's own samples, and the structure-aware
 * mutations a fuzz target applies to a seed it picks with the fuzzer's bytes. Picking a seed from the input (rather
 * than only mutating raw bytes) lets the fuzzer start from realistic messages without a seed directory in the project.
 */
public final class FuzzSeeds {

    /** The public corpus beside the project. */
    public static final Path CORPUS = Path.of("..", "shared", "corpus", "hl7v2");

    private static final String[] SAMPLES = {"adt-a01.hl7", "adt-a08.hl7", "oru-r01.hl7", "orm-o01.hl7", "mdm-t02.hl7",
        "rds-o13-new.hl7", "siu-s12.hl7", "pcd-01-patient-monitor-vitals.hl7"};

    /** Every MSH-18 name of HL7 table 0211, and a few that senders write instead. */
    public static final String[] CHARSET_NAMES = {"", "ASCII", "8859/1", "8859/2", "8859/3", "8859/4", "8859/5", "8859/6",
        "8859/7", "8859/8", "8859/9", "8859/15", "ISO IR6", "ISO IR14", "ISO IR87", "ISO IR159", "GB 18030-2000",
        "KS X 1001", "CNS 11643-1992", "BIG-5", "UNICODE", "UNICODE UTF-8", "UNICODE UTF-16", "UNICODE UTF-32",
        "UTF-8", "utf8", "x-unknown", "ISO-2022-CN", "\u0000", "8859/", "UNICODE^UTF-8"};

    private static volatile List<byte[]> hl7;

    private FuzzSeeds() {
    }

    /** True when the public corpus is beside the project. */
    public static boolean corpusPresent() {
        return Files.isDirectory(CORPUS);
    }

    /** The corpus's HL7 messages (bytes as stored), in a stable order; empty when the corpus is absent. */
    public static List<Path> corpusFiles() {
        if (!corpusPresent()) {
            return List.of();
        }
        try (Stream<Path> paths = Files.walk(CORPUS)) {
            return paths.filter(p -> p.toString().endsWith(".hl7")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The corpus's messages then the project's samples, as bytes. */
    public static List<byte[]> hl7Messages() {
        List<byte[]> seeds = hl7;
        if (seeds == null) {
            List<byte[]> list = new ArrayList<>();
            for (Path file : corpusFiles()) {
                try {
                    list.add(Files.readAllBytes(file));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            for (String sample : SAMPLES) {
                list.add(Hl7Samples.load(sample, "FZ1").getBytes(StandardCharsets.ISO_8859_1));
            }
            seeds = List.copyOf(list);
            hl7 = seeds;
        }
        return seeds;
    }

    /**
     * One HL7 input derived from the fuzzer's bytes: a seed (corpus or sample) with a few structure-aware mutations
     * (an MSH-18 name spliced in, a cut, line breaks changed, MLLP block bytes or random bytes inserted, bytes
     * replaced or removed), or, when the input says so, the raw remaining bytes.
     */
    public static byte[] hl7Input(FuzzedDataProvider data) {
        if (data.consumeBoolean()) {
            return data.consumeRemainingAsBytes();
        }
        List<byte[]> seeds = hl7Messages();
        byte[] seed = seeds.get(data.consumeInt(0, seeds.size() - 1));
        StringBuilder text = new StringBuilder(new String(seed, StandardCharsets.ISO_8859_1));
        int mutations = data.consumeInt(0, 4);
        for (int i = 0; i < mutations && text.length() > 0; i++) {
            int at = data.consumeInt(0, text.length());
            switch (data.consumeInt(0, 7)) {
                case 0 -> spliceCharset(text, data.pickValue(CHARSET_NAMES));
                case 1 -> text.setLength(at);
                case 2 -> text.insert(at, (char) data.pickValue(new int[] {0x0B, 0x1C, 0x0D, 0x0A, 0x00, '|', '^', '~', '\\', '&'}));
                case 3 -> {
                    int end = Math.min(text.length(), at + data.consumeInt(0, 16));
                    text.delete(at, end);
                }
                case 4 -> text.insert(at, new String(data.consumeBytes(data.consumeInt(0, 32)), StandardCharsets.ISO_8859_1));
                case 5 -> {
                    String s = text.toString();
                    text.setLength(0);
                    text.append(data.consumeBoolean() ? s.replace('\r', '\n') : s.replace("\r", "\r\n"));
                }
                case 6 -> {
                    if (at < text.length()) {
                        text.setCharAt(at, (char) (data.consumeByte() & 0xFF));
                    }
                }
                default -> text.insert(at, "MSH");
            }
        }
        return text.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Puts the name in MSH-18 (adding empty fields up to it when the header is shorter). */
    public static void spliceCharset(StringBuilder text, String name) {
        int end = 0;
        while (end < text.length() && text.charAt(end) != '\r' && text.charAt(end) != '\n') {
            end++;
        }
        String msh = text.substring(0, end);
        if (msh.length() < 4 || !msh.startsWith("MSH")) {
            return;
        }
        char sep = msh.charAt(3);
        List<String> fields = new ArrayList<>(List.of(msh.split(java.util.regex.Pattern.quote(String.valueOf(sep)), -1)));
        while (fields.size() < 18) {
            fields.add("");
        }
        fields.set(17, name);
        text.replace(0, end, String.join(String.valueOf(sep), fields));
    }
}
