package org.cmm.eventbroker.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The platform is under the flows: no class of {@code org.cmm.eventbroker.platform} refers to a domain package
 * (hl7, lab, pharmacy, fhir, device, cds, workflow, orders, ehr, and any added later), by import or by a qualified
 * name in code. Domains build on the platform, never the other way round; a platform class that needs a domain's
 * type is a sign the code belongs in the domain (or the type in the platform).
 */
class PlatformDependenciesTest {

    private static final Path SOURCES = Path.of("src/main/java/org/cmm/eventbroker");
    /** Top-level packages that are not domains: the platform itself, the launcher, tools and development parts. */
    private static final Set<String> NOT_DOMAINS = Set.of("platform", "runtime", "tools", "dev");
    private static final Pattern REFERENCE = Pattern.compile("\\borg\\.cmm\\.eventbroker\\.([a-z0-9_]+)\\b");

    /** The domain packages: every top-level package of the sources but the platform, runtime, tools and dev. */
    private static Set<String> domains() throws IOException {
        Set<String> domains = new TreeSet<>();
        try (Stream<Path> children = Files.list(SOURCES)) {
            children.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(name -> !NOT_DOMAINS.contains(name)).forEach(domains::add);
        }
        return domains;
    }

    /** "file:line: text" of every reference from a platform source to one of the given packages; comments skipped. */
    static List<String> referencesTo(Path platform, Set<String> packages) throws IOException {
        List<String> found = new ArrayList<>();
        List<Path> sources;
        try (Stream<Path> files = Files.walk(platform)) {
            sources = files.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        for (Path source : sources) {
            List<String> lines = Files.readAllLines(source, StandardCharsets.UTF_8);
            boolean inComment = false;
            for (int i = 0; i < lines.size(); i++) {
                String code = lines.get(i);
                if (inComment) {
                    int end = code.indexOf("*/");
                    if (end < 0) {
                        continue;
                    }
                    code = code.substring(end + 2);
                    inComment = false;
                }
                code = code.replaceAll("/\\*.*?\\*/", "");
                int open = code.indexOf("/*");
                if (open >= 0) {
                    code = code.substring(0, open);
                    inComment = true;
                }
                int lineComment = code.indexOf("//");
                if (lineComment >= 0) {
                    code = code.substring(0, lineComment);
                }
                Matcher m = REFERENCE.matcher(code);
                while (m.find()) {
                    if (packages.contains(m.group(1))) {
                        found.add(platform.relativize(source) + ":" + (i + 1) + ": " + lines.get(i).trim());
                    }
                }
            }
        }
        return found;
    }

    @Test
    void noPlatformClassRefersToADomainPackage() throws IOException {
        Set<String> domains = domains();
        assertTrue(domains.containsAll(Set.of("hl7", "lab", "pharmacy", "fhir", "device", "cds", "workflow", "orders",
                "ehr")), "the scan sees the domain packages: " + domains);
        List<String> references = referencesTo(SOURCES.resolve("platform"), domains);
        assertEquals(List.of(), references, "platform classes that depend on a domain");
    }

    @Test
    void theScanFindsImportsAndQualifiedNamesButNotComments(@org.junit.jupiter.api.io.TempDir Path dir)
            throws IOException {
        Path source = dir.resolve("kafka/Sample.java");
        Files.createDirectories(source.getParent());
        Files.writeString(source, String.join("\n",
                "package org.cmm.eventbroker.platform.kafka;",
                "import org.cmm.eventbroker.hl7.AckBuilder;",
                "import org.cmm.eventbroker.platform.mllp.MllpFrame;",
                "/** Unlike {@link org.cmm.eventbroker.lab.Foo}",
                " * org.cmm.eventbroker.cds.Bar */",
                "class Sample { // org.cmm.eventbroker.fhir.Baz",
                "    Object x = new org.cmm.eventbroker.device.Reading();",
                "}"));
        List<String> found = referencesTo(dir, Set.of("hl7", "lab", "cds", "fhir", "device"));
        assertEquals(List.of(
                "kafka/Sample.java:2: import org.cmm.eventbroker.hl7.AckBuilder;",
                "kafka/Sample.java:7: Object x = new org.cmm.eventbroker.device.Reading();"), found);
    }
}
