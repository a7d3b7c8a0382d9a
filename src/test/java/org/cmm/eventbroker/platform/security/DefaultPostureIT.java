package org.cmm.eventbroker.platform.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.cmm.eventbroker.dev.EmbeddedKafkaBroker;
import org.cmm.eventbroker.runtime.EventBrokerRuntime;
import org.cmm.eventbroker.testsupport.FreePorts;
import org.junit.jupiter.api.Test;

/**
 * The development posture as a user starts it: the default bind addresses (only the ports moved to free ones), the
 * runtime's own embedded broker. Every socket the start opened for listening is on loopback, and a non-loopback bind
 * refuses the start before anything listens.
 */
class DefaultPostureIT {

    @Test
    void everySocketTheRuntimeListensOnIsLoopback() throws Exception {
        Path data = Files.createTempDirectory("cmm-posture");
        Map<String, String> ports = new HashMap<>();
        for (String key : List.of("cmm.kafka.embedded.port", "cmm.kafka.embedded.controller-port", "cmm.mllp.port",
                "camel.management.port", "camel.server.port", "cmm.lab.results.port", "cmm.pharmacy.dispensing.port",
                "cmm.device.pcd.port", "cmm.device.alerts.pcd.port", "cmm.fhir.subscription.websocket.port",
                "cmm.lab.lis.port", "cmm.pharmacy.system.port", "cmm.ehr.mllp.port")) {
            ports.put(key, String.valueOf(FreePorts.next()));
        }
        Map<String, String> overrides = new HashMap<>(ports);
        overrides.put("cmm.kafka.embedded.data-dir", data.resolve("kafka").toString());
        overrides.put("cmm.analytics.state-dir", data.resolve("analytics").toString());
        overrides.put("camel.main.jmx-enabled", "false");
        Set<String> before = listening();
        EventBrokerRuntime runtime = new EventBrokerRuntime(overrides).start();
        try {
            Set<String> opened = new TreeSet<>(listening());
            opened.removeAll(before);
            for (String key : List.of("cmm.kafka.embedded.port", "cmm.mllp.port", "camel.management.port",
                    "camel.server.port", "cmm.lab.results.port", "cmm.pharmacy.dispensing.port", "cmm.device.pcd.port",
                    "cmm.device.alerts.pcd.port", "cmm.fhir.subscription.websocket.port")) {
                int port = Integer.parseInt(ports.get(key));
                assertTrue(opened.stream().anyMatch(s -> s.endsWith(":" + port)), key + " " + port + " not among " + opened);
            }
            List<String> exposed = opened.stream().filter(s -> !s.startsWith("127.") && !s.startsWith("::1:")).toList();
            assertTrue(exposed.isEmpty(), "listening beyond loopback: " + exposed);
            // and reachable where it should be: the MLLP listener answers on loopback
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), Integer.parseInt(ports.get("cmm.mllp.port")))) {
                assertTrue(s.isConnected());
            }
        } finally {
            runtime.close();
            EmbeddedKafkaBroker.deleteDataDir(data);
        }
    }

    @Test
    void aNonLoopbackBindRefusesTheStartBeforeAnythingListens() throws Exception {
        Path data = Files.createTempDirectory("cmm-posture");
        int brokerPort = FreePorts.next();
        int httpPort = FreePorts.next();
        Map<String, String> overrides = Map.of("camel.server.host", "0.0.0.0", "camel.server.port", String.valueOf(httpPort),
                "cmm.kafka.embedded.port", String.valueOf(brokerPort),
                "cmm.kafka.embedded.controller-port", String.valueOf(FreePorts.next()),
                "cmm.kafka.embedded.data-dir", data.resolve("kafka").toString(), "camel.main.jmx-enabled", "false");
        Set<String> before = listening();
        try {
            Exception e = assertThrows(Exception.class, () -> new EventBrokerRuntime(overrides).start().close());
            String messages = messages(e);
            assertTrue(messages.contains("camel.server.host=0.0.0.0"), messages);
            Set<String> opened = new HashSet<>(listening());
            opened.removeAll(before);
            assertFalse(opened.stream().anyMatch(s -> s.endsWith(":" + brokerPort) || s.endsWith(":" + httpPort)),
                    "nothing started: " + opened);
        } finally {
            EmbeddedKafkaBroker.deleteDataDir(data);
        }
    }

    private static String messages(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append(" | ");
        }
        return b.toString();
    }

    /** The TCP sockets this process listens on, as address:port, from /proc (Linux). */
    static Set<String> listening() throws IOException {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException gone) {
                    // closed while listing
                }
            }
        }
        Set<String> sockets = new TreeSet<>();
        for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
            List<String> lines = Files.readAllLines(Path.of(table));
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f[3].equals("0A") && inodes.contains(f[9])) { // 0A = LISTEN
                    sockets.add(address(f[1]));
                }
            }
        }
        return sockets;
    }

    private static String address(String hex) {
        String[] parts = hex.split(":");
        int port = Integer.parseInt(parts[1], 16);
        String a = parts[0];
        byte[] bytes = new byte[a.length() / 2];
        // /proc prints each 32-bit word in host (little-endian) order
        for (int word = 0; word < bytes.length / 4; word++) {
            for (int i = 0; i < 4; i++) {
                bytes[word * 4 + i] = (byte) Integer.parseInt(a.substring(word * 8 + (3 - i) * 2, word * 8 + (3 - i) * 2 + 2), 16);
            }
        }
        try {
            InetAddress address = InetAddress.getByAddress(bytes);
            if (address instanceof java.net.Inet6Address six && isMappedV4(bytes)) {
                return InetAddress.getByAddress(java.util.Arrays.copyOfRange(bytes, 12, 16)).getHostAddress() + ":" + port;
            }
            String host = address.getHostAddress();
            return (host.equals("0:0:0:0:0:0:0:1") ? "::1" : host) + ":" + port;
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isMappedV4(byte[] b) {
        if (b.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }
}
