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
 * routes and Kamelets, and the image is multi-stage, non-root, with those ports exposed and those folders as volumes.
 * Both follow the production posture (issue 12): security on, no insecure override, generated material on a named
 * volume, an HTTPS healthcheck, Kafka the runtime's own secure embedded broker, no PLAINTEXT Kafka listener beyond
 * loopback, no secret as an environment literal. Each check is also run on a deliberately broken copy, to show it can fail.
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
        problems.addAll(securePostureProblems(compose, runtime));
        return problems;
    }

    /** Environment keys that name a secret: their value must come from a file (a *_FILE key), never a literal. */
    static final Pattern SECRET_KEY = Pattern.compile("(?i).*(PASSWORD|SECRET|TOKEN|JAAS|KEYSTORE|TRUSTSTORE|CREDENTIAL|_KEY)$");

    /**
     * Issue 12: the runtime in the production posture (security on, no insecure override), its generated material on a
     * named volume, its healthcheck over HTTPS against the generated CA, Kafka its own secure embedded broker, no
     * PLAINTEXT Kafka listener on a non-loopback address in any service, no secret as an environment literal.
     */
    static List<String> securePostureProblems(JsonNode compose, JsonNode runtime) {
        List<String> problems = new ArrayList<>();
        Map<String, String> env = environment(runtime);
        if (!"true".equals(env.get("CMM_SECURITY_ENABLED"))) {
            problems.add(RUNTIME + ": CMM_SECURITY_ENABLED is not \"true\"");
        }
        if (env.containsKey("CMM_KAFKA_BOOTSTRAP_SERVERS")) {
            problems.add(RUNTIME + ": CMM_KAFKA_BOOTSTRAP_SERVERS is set: the runtime's secure embedded broker is the Kafka "
                    + "of this file");
        }
        String embeddedHost = env.get("CMM_KAFKA_EMBEDDED_HOST");
        if (embeddedHost != null && !isLoopback(embeddedHost)) {
            problems.add(RUNTIME + ": CMM_KAFKA_EMBEDDED_HOST=" + embeddedHost + " is not loopback");
        }
        String dataVolume = null;
        for (JsonNode volume : runtime.path("volumes")) {
            String[] parts = volume.asText().split(":");
            if (parts.length >= 2 && parts[1].equals("/app/data")) {
                dataVolume = parts[0];
            }
        }
        if (dataVolume != null && !compose.path("volumes").has(dataVolume)) {
            problems.add(RUNTIME + ": /app/data (data/security) is not on a named volume of the file: " + dataVolume);
        }
        List<String> check = new ArrayList<>();
        runtime.path("healthcheck").path("test").forEach(t -> check.add(t.asText()));
        String healthcheck = String.join(" ", check);
        if (!healthcheck.contains("https://") || !healthcheck.contains("/observe/health/ready")
                || !healthcheck.contains("--cacert") || !healthcheck.contains("/app/data/security/ca.crt")) {
            problems.add(RUNTIME + ": the healthcheck is not an HTTPS request to /observe/health/ready checked with "
                    + "--cacert /app/data/security/ca.crt: " + healthcheck);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = compose.path("services").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> service = it.next();
            Map<String, String> e = environment(service.getValue());
            problems.addAll(insecureEnvironment(service.getKey(), e));
        }
        return problems;
    }

    /** Problems of one service's (or image's) environment: the insecure override, secret literals, PLAINTEXT Kafka. */
    static List<String> insecureEnvironment(String where, Map<String, String> env) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> e : env.entrySet()) {
            String key = e.getKey();
            if (key.equalsIgnoreCase("CMM_SECURITY_INSECURE_ALLOW_UNAUTHENTICATED_REMOTE_ACCESS")
                    && !e.getValue().trim().equalsIgnoreCase("false")) {
                problems.add(where + ": sets the insecure override " + key);
            }
            if (SECRET_KEY.matcher(key).matches() && !key.toUpperCase().endsWith("_FILE") && !e.getValue().isBlank()) {
                problems.add(where + ": " + key + " holds a secret as an environment literal (use a *_FILE secret)");
            }
        }
        Map<String, String> protocols = new java.util.HashMap<>();
        String map = env.getOrDefault("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "");
        for (String entry : map.split(",")) {
            String[] kv = entry.trim().split(":");
            if (kv.length == 2) {
                protocols.put(kv[0].trim().toUpperCase(), kv[1].trim().toUpperCase());
            }
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            Matcher listener = Pattern.compile("([A-Za-z_]+)://([^:,\\s]*):(\\d+)").matcher(e.getValue());
            while (listener.find()) {
                String name = listener.group(1).toUpperCase();
                String protocol = protocols.getOrDefault(name, name);
                if ((protocol.equals("PLAINTEXT") || protocol.equals("SASL_PLAINTEXT")) && !isLoopback(listener.group(2))) {
                    problems.add(where + ": " + e.getKey() + " has a " + protocol + " listener " + listener.group()
                            + " on a non-loopback address");
                }
            }
        }
        return problems;
    }

    /** 127.0.0.1, ::1 or localhost; empty (every interface) and names of other hosts are not. */
    static boolean isLoopback(String host) {
        String h = host.trim();
        return h.equals("localhost") || h.startsWith("127.") || h.equals("::1") || h.equals("[::1]");
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
        Map<String, String> env = new java.util.LinkedHashMap<>();
        StringBuilder runs = new StringBuilder();
        for (String[] instruction : instructions) {
            String keyword = instruction[0];
            String args = instruction[1];
            switch (keyword) {
                case "FROM" -> {
                    froms++;
                    lastUser = null;
                    exposed.clear();
                    volumes.clear();
                    env.clear();
                    runs.setLength(0);
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
                case "ENV" -> {
                    Matcher kv = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\\S+)").matcher(args);
                    boolean any = false;
                    while (kv.find()) {
                        env.put(kv.group(1), kv.group(2).replace("\"", ""));
                        any = true;
                    }
                    if (!any) {
                        String[] legacy = args.trim().split("\\s+", 2);
                        env.put(legacy[0], legacy.length > 1 ? legacy[1] : "");
                    }
                }
                case "RUN" -> runs.append(args).append('\n');
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
        // issue 12: the image starts in the production posture, never with the insecure override or a PLAINTEXT
        // embedded broker beyond loopback, and has curl for the HTTPS healthcheck
        if (!"true".equals(env.get("CMM_SECURITY_ENABLED"))) {
            problems.add("ENV CMM_SECURITY_ENABLED=true is missing from the final stage");
        }
        String embeddedHost = env.get("CMM_KAFKA_EMBEDDED_HOST");
        if (embeddedHost != null && !isLoopback(embeddedHost)) {
            problems.add("ENV CMM_KAFKA_EMBEDDED_HOST=" + embeddedHost + " binds the embedded broker beyond loopback");
        }
        problems.addAll(insecureEnvironment("ENV", env));
        if (!runs.toString().contains("curl")) {
            problems.add("the final stage does not install curl (the compose healthcheck uses it)");
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
        for (String peer : List.of("fhir", "s3", "mqtt", "hawtio")) {
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
        ((ObjectNode) floating.path("services").path("mqtt")).put("image", "eclipse-mosquitto:latest");
        assertTrue(composeProblems(floating, ports, dir).stream().anyMatch(p -> p.startsWith("mqtt:")));

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
    void securePostureChecksFailOnABrokenCompose() throws IOException {
        Set<Integer> ports = listeningPorts();
        Path dir = DOCKER.toAbsolutePath();

        ObjectNode off = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ((ObjectNode) off.path("services").path(RUNTIME).path("environment")).remove("CMM_SECURITY_ENABLED");
        assertTrue(composeProblems(off, ports, dir).contains(RUNTIME + ": CMM_SECURITY_ENABLED is not \"true\""));

        ObjectNode override = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ((ObjectNode) override.path("services").path(RUNTIME).path("environment"))
                .put("CMM_SECURITY_INSECURE_ALLOW_UNAUTHENTICATED_REMOTE_ACCESS", "true");
        assertTrue(composeProblems(override, ports, dir).stream().anyMatch(p -> p.contains("insecure override")));

        ObjectNode plainHealth = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ArrayNode test = (ArrayNode) plainHealth.path("services").path(RUNTIME).path("healthcheck").path("test");
        for (int i = 0; i < test.size(); i++) {
            test.set(i, test.get(i).asText().replace("https://", "http://"));
        }
        assertTrue(composeProblems(plainHealth, ports, dir).stream().anyMatch(p -> p.contains("healthcheck")));

        ObjectNode bindMount = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ArrayNode volumes = (ArrayNode) bindMount.path("services").path(RUNTIME).path("volumes");
        for (int i = 0; i < volumes.size(); i++) {
            if (volumes.get(i).asText().endsWith(":/app/data")) {
                volumes.set(i, "/tmp/cmm-data:/app/data");
            }
        }
        assertTrue(composeProblems(bindMount, ports, dir).stream().anyMatch(p -> p.contains("named volume")));

        ObjectNode externalKafka = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ((ObjectNode) externalKafka.path("services").path(RUNTIME).path("environment"))
                .put("CMM_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092");
        assertTrue(composeProblems(externalKafka, ports, dir).stream().anyMatch(p -> p.contains("CMM_KAFKA_BOOTSTRAP_SERVERS")));

        ObjectNode plaintextKafka = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ObjectNode kafka = ((ObjectNode) plaintextKafka.path("services")).putObject("kafka");
        kafka.put("image", "apache/kafka:3.9.1");
        ObjectNode kafkaEnv = kafka.putObject("environment");
        kafkaEnv.put("KAFKA_LISTENERS", "INTERNAL://:9092,CONTROLLER://127.0.0.1:9093");
        kafkaEnv.put("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT");
        List<String> plaintext = composeProblems(plaintextKafka, ports, dir);
        assertTrue(plaintext.stream().anyMatch(p -> p.startsWith("kafka:") && p.contains("INTERNAL://:9092")), plaintext.toString());
        assertFalse(plaintext.stream().anyMatch(p -> p.contains("CONTROLLER://127.0.0.1")), "loopback is allowed");
        kafkaEnv.put("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "INTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT");
        assertFalse(composeProblems(plaintextKafka, ports, dir).stream().anyMatch(p -> p.startsWith("kafka:")));

        ObjectNode literal = (ObjectNode) YAML.readTree(COMPOSE.toFile());
        ((ObjectNode) literal.path("services").path("s3").path("environment")).put("MINIO_ROOT_PASSWORD", "cmm-dev-secret");
        assertTrue(composeProblems(literal, ports, dir).stream().anyMatch(p -> p.contains("MINIO_ROOT_PASSWORD")));
    }

    @Test
    void securePostureChecksFailOnABrokenDockerfile() throws IOException {
        Set<Integer> ports = listeningPorts();
        String dockerfile = Files.readString(DOCKERFILE);
        assertTrue(dockerfile.contains("CMM_SECURITY_ENABLED=true"));

        String off = dockerfile.replace("CMM_SECURITY_ENABLED=true", "CMM_SECURITY_ENABLED=false");
        assertTrue(dockerfileProblems(off, ports).stream().anyMatch(p -> p.contains("CMM_SECURITY_ENABLED")));

        String override = dockerfile.replace("ENV CMM_SECURITY_ENABLED=true",
                "ENV CMM_SECURITY_INSECURE_ALLOW_UNAUTHENTICATED_REMOTE_ACCESS=true CMM_SECURITY_ENABLED=true");
        assertTrue(dockerfileProblems(override, ports).stream().anyMatch(p -> p.contains("insecure override")));

        String openBroker = dockerfile.replace("ENV CMM_SECURITY_ENABLED=true", "ENV CMM_KAFKA_EMBEDDED_HOST=0.0.0.0 CMM_SECURITY_ENABLED=true");
        assertTrue(dockerfileProblems(openBroker, ports).stream().anyMatch(p -> p.contains("CMM_KAFKA_EMBEDDED_HOST")));

        String password = dockerfile.replace("ENV CMM_SECURITY_ENABLED=true", "ENV CMM_SECURITY_TLS_KEYSTORE_PASSWORD=changeit CMM_SECURITY_ENABLED=true");
        assertTrue(dockerfileProblems(password, ports).stream().anyMatch(p -> p.contains("environment literal")));

        String noCurl = dockerfile.replaceAll("(?m)^RUN apt-get.*curl.*$", "");
        assertTrue(dockerfileProblems(noCurl, ports).stream().anyMatch(p -> p.contains("curl")));
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
