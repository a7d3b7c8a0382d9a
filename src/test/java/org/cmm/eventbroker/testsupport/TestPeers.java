package org.cmm.eventbroker.testsupport;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Assumptions;

/**
 * The test peers Maven cannot bring (kcat, Chromium, mosquitto, ...), as listed in {@code test-peers.txt}, the same
 * list scripts/run-tests.sh installs from. A test asks for its peer with {@link #require}: a missing peer fails the
 * test with the install hint, so a green run on a new machine proves as much as CI's; it is skipped instead only when
 * asked to ({@value #ALLOW_MISSING}=true).
 */
public final class TestPeers {

    /** System property: skip (rather than fail) the tests whose peer is missing. */
    public static final String ALLOW_MISSING = "cmm.test.allow-missing-peers";

    private static final Map<String, Peer> PEERS = read();

    private TestPeers() {
    }

    /** A peer: its Debian package and the executable names that count as installed. */
    public record Peer(String name, String debianPackage, List<String> executables) {
    }

    /** The listed peers, in file order. */
    public static Map<String, Peer> all() {
        return PEERS;
    }

    /** The peer's executable, or the test fails with the install hint (is skipped when {@value #ALLOW_MISSING}). */
    public static Path require(String peer) {
        return require(peerNamed(peer));
    }

    static Path require(Peer peer) {
        Optional<Path> found = find(peer);
        if (found.isPresent()) {
            return found.get();
        }
        String message = missingMessage(peer);
        if (Boolean.getBoolean(ALLOW_MISSING)) {
            Assumptions.abort(message + " (skipped: " + ALLOW_MISSING + "=true)");
        }
        throw new AssertionError(message);
    }

    /** The peer's executable on PATH (or /usr/sbin, /usr/local/sbin), if installed. */
    public static Optional<Path> find(String peer) {
        return find(peerNamed(peer));
    }

    private static Peer peerNamed(String peer) {
        Peer p = PEERS.get(peer);
        if (p == null) {
            throw new IllegalArgumentException(peer + " is not a line of test-peers.txt; peers: " + PEERS.keySet());
        }
        return p;
    }

    static Optional<Path> find(Peer p) {
        List<String> dirs = new ArrayList<>(Arrays.asList(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/sbin", "/usr/local/sbin"));
        for (String name : p.executables()) {
            for (String dir : dirs) {
                if (!dir.isBlank()) {
                    Path candidate = Path.of(dir, name);
                    if (Files.isExecutable(candidate)) {
                        return Optional.of(candidate);
                    }
                }
            }
        }
        return Optional.empty();
    }

    static String missingMessage(Peer peer) {
        return peer.name() + " is not installed (looked for " + String.join(", ", peer.executables())
                + " on PATH): run scripts/run-tests.sh, which installs it, or apt-get install " + peer.debianPackage()
                + "; to skip the tests that need it instead, -D" + ALLOW_MISSING + "=true";
    }

    private static Map<String, Peer> read() {
        Map<String, Peer> peers = new LinkedHashMap<>();
        try (InputStream in = TestPeers.class.getClassLoader().getResourceAsStream("test-peers.txt")) {
            if (in == null) {
                throw new IllegalStateException("test-peers.txt is not on the test classpath");
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String trimmed = line.trim();
                if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                    continue;
                }
                String[] fields = trimmed.split("\\s+");
                if (fields.length < 3) {
                    throw new IllegalStateException("test-peers.txt: '" + trimmed + "' is not <peer> <package> <executable>...");
                }
                peers.put(fields[0], new Peer(fields[0], fields[1], List.of(Arrays.copyOfRange(fields, 2, fields.length))));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return java.util.Collections.unmodifiableMap(peers);
    }
}
