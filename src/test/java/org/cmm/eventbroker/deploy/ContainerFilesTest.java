package org.cmm.eventbroker.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;

/**
 * docker/Dockerfile and docker/compose.yaml, checked without a Docker engine: they parse, every image is pinned to an
 * exact version, the runtime service publishes every port application.properties makes it listen on and mounts the
 * routes and Kamelets, its Kafka is a service of the file, and the image is multi-stage, non-root, with those ports
 * exposed and those folders as volumes. Each check is also run on a deliberately broken copy, to show it can fail.
 */
class ContainerFilesTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path DOCKER = Path.of("docker");
    private static final Path COMPOSE = DOCKER.resolve("compose.yaml");
    private static final Path DOCKERFILE = DOCKER.resolve("Dockerfile");
    private static final String RUNTIME = "runtime";

    /** The keys of every port the runtime listens on (application.properties); the container must publish each. */
    static final List<String> LISTENING_PORT_KEYS = List.of(
            "cmm.mllp.port", "cmm.lab.results.port", "cmm.pharmacy.dispensing.port", "cmm.device.pcd.port",
            "cmm.device.alerts.pcd.port", "cmm.fhir.subscription.websocket.port",
            "camel.server.port", "camel.management.port");

    /** name[:tag][@digest]; the tag an exact version (x.y.z somewhere in it, or a MinIO RELEASE timestamp). */
    private static final Pattern IMAGE = Pattern.compile("^([a-z0-9][a-z0-9._/-]*(?::\\d+/[a-z0-9._/-]+)?)(?::([A-Za-z0-9_.-]+))?(@sha256:[0-9a-f]{64})?$");
    private static final Pattern EXACT_TAG = Pattern.compile(".*\\d+\\.\\d+\\.\\d+.*|RELEASE\\.\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z");

    static Set<Integer> listeningPorts() throws IOException {
        // application.properties and the domains' config/*.properties, read by the runtime as one set
        Properties p = org.cmm.eventbroker.routes.ConfigurationKeys.load();
        Set<Integer> ports = new TreeSet<>();
        for (String key : LISTENING_PORT_KEYS) {
            String value = p.getProperty(key);
            assertTrue(value != null && value.trim().matches("\\d+"), key + " is a port in application.properties");
            ports.add(Integer.parseInt(value.trim()));
        }
        return ports;
    }

    /** Why an image reference is not pinned, or null when it is. */
    static String unpinned(String image) {
        Matcher m = IMAGE.matcher(image);
        if (!m.matches()) {
            return "not an image reference: " + image;
        }
        if (m.group(3) != null) {
            return null;
        }
        String tag = m.group(2);
        if (tag == null) {
            return image + " has no tag (means latest)";
        }
        if (!EXACT_TAG.matcher(tag).matches()) {
            return image + " is not pinned to an exact version (latest or a floating major/minor)";
        }
        return null;
    }

    // ---------------------------------------------------------------- compose.yaml

    static List<String> composeProblems(JsonNode compose, Set<Integer> ports, Path composeDir) {
        List<String> problems = new ArrayList<>();
        JsonNode services = compose.path("services");
        if (!services.isObject() || services.isEmpty()) {
            problems.add("no services");
            return problems;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = services.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> service = it.next();
            JsonNode s = service.getValue();
            boolean built = s.has("build");
            if (!built && !s.has("image")) {
                problems.add(service.getKey() + ": neither an image nor a build");
            } else if (!built) {
                String why = unpinned(s.path("image").asText());
                if (why != null) {
                    problems.add(service.getKey() + ": " + why);
                }
            }
            if (built) {
                JsonNode build = s.path("build");
                Path context = composeDir.resolve(build.isTextual() ? build.asText() : build.path("context").asText("."));
                Path dockerfile = context.resolve(build.path("dockerfile").asText("Dockerfile"));
                if (!Files.isRegularFile(dockerfile)) {
                    problems.add(service.getKey() + ": build file " + dockerfile + " does not exist");
                }
            }
            for (JsonNode volume : s.path("volumes")) {
                String source = volume.asText().split(":")[0];
                if ((source.startsWith(".") || source.startsWith("/")) && !Files.exists(composeDir.resolve(source))) {
                    problems.add(service.getKey() + ": mounted path " + source + " does not exist");
                }
            }
            for (JsonNode dependency : dependsOn(s)) {
                if (!services.has(dependency.asText())) {
                    problems.add(service.getKey() + ": depends on " + dependency.asText() + ", which is not a service");
                }
            }
        }

        JsonNode runtime = services.path(RUNTIME);
        if (runtime.isMissingNode()) {
            problems.add("no " + RUNTIME + " service");
            return problems;
        }
        Set<Integer> published = new TreeSet<>();
        for (JsonNode port : runtime.path("ports")) {
            published.add(containerPort(port));
        }
        for (int port : ports) {
            if (!published.contains(port)) {
                problems.add(RUNTIME + ": port " + port + " of application.properties is not published");
            }
        }
        Map<String, String> mounts = new java.util.HashMap<>();
        for (JsonNode volume : runtime.path("volumes")) {
            String[] parts = volume.asText().split(":");
            if (parts.length >= 2) {
                mounts.put(parts[1], parts[0]);
            }
        }
        for (String folder : List.of("routes", "kamelets")) {
            String source = mounts.get("/app/" + folder);
            if (source == null) {
                problems.add(RUNTIME + ": /app/" + folder + " is not mounted");
            } else if (!composeDir.resolve(source).toAbsolutePath().normalize().equals(Path.of(folder).toAbsolutePath().normalize())) {
                problems.add(RUNTIME + ": /app/" + folder + " is mounted from " + source + ", not from " + folder + "/");
            }
        }
        if (!mounts.containsKey("/app/data")) {
            problems.add(RUNTIME + ": no volume on /app/data");
        }
        String bootstrap = environment(runtime).get("CMM_KAFKA_BOOTSTRAP_SERVERS");
        if (bootstrap == null || bootstrap.isBlank()) {
            problems.add(RUNTIME + ": CMM_KAFKA_BOOTSTRAP_SERVERS is not set (the embedded broker would start)");
        } else {
            for (String server : bootstrap.split(",")) {
                String host = server.trim().split(":")[0];
                if (!services.has(host)) {
                    problems.add(RUNTIME + ": bootstrap server " + server + " is not a service of the file");
                } else {
                    boolean waits = false;
                    for (JsonNode dependency : dependsOn(runtime)) {
                        waits |= dependency.asText().equals(host);
                    }
                    if (!waits) {
                        problems.add(RUNTIME + ": does not depend on its Kafka service " + host);
                    }
                }
            }
        }
        return problems;
    }

    private static List<JsonNode> dependsOn(JsonNode service) {
        List<JsonNode> names = new ArrayList<>();
        JsonNode d = service.path("depends_on");
        if (d.isArray()) {
            d.forEach(names::add);
        } else if (d.isObject()) {
            d.fieldNames().forEachRemaining(n -> names.add(YAML.getNodeFactory().textNode(n)));
        }
        return names;
    }

    private static Map<String, String> environment(JsonNode service) {
        Map<String, String> env = new java.util.HashMap<>();
        JsonNode e = service.path("environment");
        if (e.isObject()) {
            e.fields().forEachRemaining(f -> env.put(f.getKey(), f.getValue().asText()));
        } else {
            for (JsonNode item : e) {
                String[] kv = item.asText().split("=", 2);
                env.put(kv[0], kv.length > 1 ? kv[1] : "");
            }
        }
        return env;
    }

    /** The container side of a ports entry: "8080", "8080:8080", "127.0.0.1:8080:8080/tcp" or the long syntax. */
    private static int containerPort(JsonNode port) {
        if (port.isObject()) {
            return port.path("target").asInt();
        }
        String[] parts = port.asText().replace("/tcp", "").split(":");
        return Integer.parseInt(parts[parts.length - 1]);
    }

    // ---------------------------------------------------------------- Dockerfile

    static List<String> dockerfileProblems(String dockerfile, Set<Integer> ports) {
        List<String> problems = new ArrayList<>();
        List<String[]> instructions = instructions(dockerfile);
        Set<String> stages = new LinkedHashSet<>();
        int froms = 0;
        String lastUser = null;
        Set<Integer> exposed = new TreeSet<>();
        Set<String> volumes = new TreeSet<>();
        for (String[] instruction : instructions) {
            String keyword = instruction[0];
            String args = instruction[1];
            switch (keyword) {
                case "FROM" -> {
                    froms++;
                    lastUser = null;
                    exposed.clear();
                    volumes.clear();
                    String[] words = args.split("\\s+");
                    if (!stages.contains(words[0])) {
                        String why = unpinned(words[0]);
                        if (why != null) {
                            problems.add("FROM " + why);
                        }
                    }
                    if (words.length == 3 && words[1].equalsIgnoreCase("AS")) {
                        stages.add(words[2]);
                    }
                }
                case "COPY" -> {
                    Matcher from = Pattern.compile("--from=(\\S+)").matcher(args);
                    if (from.find() && !stages.contains(from.group(1))) {
                        problems.add("COPY --from=" + from.group(1) + " names no earlier stage");
                    }
                }
                case "USER" -> lastUser = args.trim();
                case "EXPOSE" -> {
                    for (String p : args.trim().split("\\s+")) {
                        exposed.add(Integer.parseInt(p.replace("/tcp", "")));
                    }
                }
                case "VOLUME" -> {
                    Matcher m = Pattern.compile("\"([^\"]+)\"|(/\\S+)").matcher(args);
                    while (m.find()) {
                        volumes.add(m.group(1) != null ? m.group(1) : m.group(2));
                    }
                }
                default -> {
                    // not checked
                }
            }
        }
        if (froms < 2) {
            problems.add("not multi-stage (" + froms + " FROM)");
        }
        if (lastUser == null) {
            problems.add("the final stage runs as root (no USER)");
        } else if (lastUser.equals("root") || lastUser.equals("0") || lastUser.startsWith("0:") || lastUser.startsWith("root:")) {
            problems.add("the final stage runs as root (USER " + lastUser + ")");
        }
        if (!exposed.equals(ports)) {
            problems.add("EXPOSE " + exposed + " is not the runtime's listening ports " + ports);
        }
        for (String volume : List.of("/app/routes", "/app/kamelets", "/app/data")) {
            if (!volumes.contains(volume)) {
                problems.add("no VOLUME " + volume);
            }
        }
        return problems;
    }

    /** keyword (upper case) and arguments of each instruction; continuation lines joined, comments dropped. */
    private static List<String[]> instructions(String dockerfile) {
        List<String[]> result = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : dockerfile.split("\n")) {
            String trimmed = line.trim();
            if (trimmed.startsWith("#") || (trimmed.isEmpty() && current.isEmpty())) {
                continue;
            }
            if (trimmed.endsWith("\\")) {
                current.append(trimmed, 0, trimmed.length() - 1).append(' ');
                continue;
            }
            current.append(trimmed);
            String[] parts = current.toString().trim().split("\\s+", 2);
            result.add(new String[] {parts[0].toUpperCase(), parts.length > 1 ? parts[1] : ""});
            current.setLength(0);
        }
        return result;
    }

    // ---------------------------------------------------------------- the real files

    @Test
    void composeFileParsesAndWiresTheRuntimeToItsPeers() throws IOException {
        JsonNode compose = YAML.readTree(COMPOSE.toFile());
        assertEquals(List.of(), composeProblems(compose, listeningPorts(), DOCKER.toAbsolutePath()));
        for (String peer : List.of("kafka", "fhir", "s3", "mqtt", "hawtio")) {
            assertTrue(compose.path("services").has(peer), "compose.yaml has a " + peer + " service");
        }
    }

    @Test
    void everyComposeImageIsPinnedToAnExactVersion() throws IOException {
        JsonNode services = YAML.readTree(COMPOSE.toFile()).path("services");
        for (Iterator<Map.Entry<String, JsonNode>> it = services.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> s = it.next();
            String image = s.getValue().path("image").asText(null);
            if (image != null) {
                assertEquals(null, unpinned(image), s.getKey());
            } else {
                assertTrue(s.getValue().has("build"), s.getKey() + " is built when it has no image");
            }
        }
    }

    @Test
    void dockerfileIsMultiStageNonRootAndExposesEveryListeningPort() throws IOException {
        assertEquals(List.of(), dockerfileProblems(Files.readString(DOCKERFILE), listeningPorts()));
    }

    // ---------------------------------------------------------------- the checks fail on broken copies

    @Test
    void pinningRuleRejectsLatestFloatingAndUntaggedImages() {
        assertEquals(null, unpinned("apache/kafka:3.9.1"));
        assertEquals(null, unpinned("hapiproject/hapi:v8.0.0"));
        assertEquals(null, unpinned("minio/minio:RELEASE.2025-04-22T22-12-26Z"));
        assertEquals(null, unpinned("eclipse-temurin:17.0.13_11-jre"));
        assertEquals(null, unpinned("eclipse-mosquitto@sha256:" + "a".repeat(64)));
        for (String bad : List.of("apache/kafka:latest", "apache/kafka", "eclipse-mosquitto:2", "eclipse-mosquitto:2.0",
                "minio/minio:RELEASE", "eclipse-temurin:17-jre")) {
            assertFalse(unpinned(bad) == null, bad + " counts as unpinned");
        }
    }

    @Test
    void composeChecksFailOnABrokenCopy() throws IOException {
        Set<Integer> ports = listeningPorts();
        Path dir = DOCKER.toAbsolutePath();

        ObjectNode missingPort = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ArrayNode published = (ArrayNode) missingPort.path("services").path(RUNTIME).path("ports");
        String removed = published.remove(published.size() - 1).asText();
        assertTrue(composeProblems(missingPort, ports, dir).stream().anyMatch(p -> p.contains("is not published")),
                "removing " + removed + " is noticed");

        ObjectNode floating = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ((ObjectNode) floating.path("services").path("kafka")).put("image", "apache/kafka:latest");
        assertTrue(composeProblems(floating, ports, dir).stream().anyMatch(p -> p.startsWith("kafka:")));

        ObjectNode wrongKafka = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ((ObjectNode) wrongKafka.path("services").path(RUNTIME).path("environment")).put("CMM_KAFKA_BOOTSTRAP_SERVERS", "kafak:9092");
        assertTrue(composeProblems(wrongKafka, ports, dir).stream().anyMatch(p -> p.contains("kafak:9092")));

        ObjectNode noRoutes = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ArrayNode volumes = (ArrayNode) noRoutes.path("services").path(RUNTIME).path("volumes");
        for (int i = volumes.size() - 1; i >= 0; i--) {
            if (volumes.get(i).asText().contains("/app/routes")) {
                volumes.remove(i);
            }
        }
        assertTrue(composeProblems(noRoutes, ports, dir).contains(RUNTIME + ": /app/routes is not mounted"));

        Set<Integer> morePorts = new TreeSet<>(ports);
        morePorts.add(2599);
        assertTrue(composeProblems(YAML.readTree(COMPOSE.toFile()), morePorts, dir)
                .contains(RUNTIME + ": port 2599 of application.properties is not published"), "a new listening port is noticed");
    }

    @Test
    void dockerfileChecksFailOnABrokenCopy() throws IOException {
        Set<Integer> ports = listeningPorts();
        String dockerfile = Files.readString(DOCKERFILE);

        String root = dockerfile.replaceAll("(?m)^USER .*$", "");
        assertTrue(dockerfileProblems(root, ports).stream().anyMatch(p -> p.contains("runs as root")));

        String singleStage = dockerfile.substring(dockerfile.lastIndexOf("\nFROM ") + 1).replaceAll("(?m)^COPY --from=.*$", "");
        assertTrue(dockerfileProblems(singleStage, ports).stream().anyMatch(p -> p.startsWith("not multi-stage")));

        String fewerPorts = dockerfile.replaceAll("(?m)^(EXPOSE .*) 2577(.*)$", "$1$2");
        assertTrue(dockerfileProblems(fewerPorts, ports).stream().anyMatch(p -> p.startsWith("EXPOSE")));

        String noVolumes = dockerfile.replaceAll("(?m)^VOLUME .*$", "");
        assertTrue(dockerfileProblems(noVolumes, ports).contains("no VOLUME /app/routes"));

        String latest = dockerfile.replace("eclipse-temurin:17.0.13_11-jre", "eclipse-temurin:latest");
        assertTrue(dockerfileProblems(latest, ports).stream().anyMatch(p -> p.startsWith("FROM")));
    }
}
