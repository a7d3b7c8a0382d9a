package org.cmm.eventbroker.eventapi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.cmm.eventbroker.platform.kafka.KafkaClients;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

/**
 * The AsyncAPI 3.0 document of the running broker, generated from what defines the topics, so it cannot drift from
 * them: every sink Kamelet ({@code kamelets/*-sink.kamelet.yaml}) is a channel whose address is the Kamelet's topic
 * expression with this instance's configured prefix ({@code camel.kamelet.<kamelet>.topicPrefix|topic}) and its
 * {@code ${header.x}} parts as parameters ({@code hl7.{messageType}.{triggerEvent}}); its messages follow the
 * Kamelet's description (HL7 v2 ER7, FHIR R4 JSON, JSON, XML), with the CloudEvents and domain headers it names as
 * the headers schema, the record key as the Kafka binding's key; the route files that use the Kamelet are listed as
 * {@code x-cmm-flows}. Servers: the Kafka cluster and the event API (HTTP, SSE, WebSocket), with their security
 * schemes when security is on. The topic families written by Java code rather than a Kamelet are declared in
 * {@code eventapi/topic-families.yaml} ({@link TopicFamilies}): the public ones are channels too, the internal ones
 * listed under {@code x-cmm-internal-topics} with the reason. Served at {@code /asyncapi.yaml} and {@code /asyncapi.json}
 * (routes/eventapi/event-api.camel.yaml); checked by the AsyncAPI initiative's parser (AsyncApiDocumentIT).
 */
public class AsyncApiDocument implements CamelContextAware {

    private static final Pattern TOPIC_EXPRESSION = Pattern.compile("simple: \"(\\{\\{(topicPrefix|topic)}}[^\"]*)\"");
    private static final Pattern FIXED_TOPIC = Pattern.compile("uri: \"kafka:\\{\\{(topic)}}\"");
    private static final Pattern HEADER = Pattern.compile("\\$\\{header\\.([A-Za-z0-9_]+)[^}]*}");
    private static final Pattern HEADER_NAME = Pattern.compile("\\b(ce_[a-z]+|(?:hl7|lab|pharmacy|device|ehr|fhir|cds|"
            + "workflow|notification|dlq)_[a-z_]+|content-type)\\b");

    private CamelContext camelContext;
    private String kameletsLocation = "kamelets";
    private String routesLocation = "routes";
    private String title = "CMM Event Broker";
    private String version = "1.0.0";
    /** How long a document built while a payload schema was missing from the registry is served before a rebuild. */
    static final long INCOMPLETE_KEPT_MS = 5000;
    private volatile Map<String, Object> cached;
    private volatile boolean cachedComplete;
    private volatile long rebuildAfter;
    /** While building: a payload schema of {@code schemas/} was not (yet) in the running registry. */
    private boolean schemaMissing;
    private Set<String> expectedSubjects;
    private Set<String> expectedKamelets;

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    public void setKameletsLocation(String kameletsLocation) {
        this.kameletsLocation = kameletsLocation;
    }

    public void setRoutesLocation(String routesLocation) {
        this.routesLocation = routesLocation;
    }

    public void setTitle(String title) {
        this.title = title;
    }

    public void setVersion(String version) {
        this.version = version;
    }

    /** The document as YAML. */
    public String yaml() {
        return new Dump(DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).setWidth(120).build())
                .dumpToString(document());
    }

    /** The document as JSON. */
    public String json() throws JsonProcessingException {
        return RecordCodec.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(document());
    }

    /**
     * The document, built once the schema registry (when its flow runs) holds every payload schema of {@code schemas/}:
     * the Kamelets and configuration do not change while the runtime runs, but a first request may come before the
     * registry has registered the payload schemas at start. A document with generic payloads is kept for
     * {@link #INCOMPLETE_KEPT_MS} only, then built again.
     */
    public Map<String, Object> document() {
        Map<String, Object> d = cached;
        if (d != null && (cachedComplete || System.currentTimeMillis() < rebuildAfter)) {
            return d;
        }
        synchronized (this) {
            if (cached != null && (cachedComplete || System.currentTimeMillis() < rebuildAfter)) {
                return cached;
            }
            schemaMissing = false;
            d = build();
            cachedComplete = !schemaMissing;
            rebuildAfter = System.currentTimeMillis() + INCOMPLETE_KEPT_MS;
            cached = d;
            return d;
        }
    }

    private Map<String, Object> build() {
        boolean secure = bool("cmm.security.enabled");
        boolean accessOn = property("cmm.access.enabled").map(v -> v.isBlank() ? secure : Boolean.parseBoolean(v))
                .orElse(secure);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("asyncapi", "3.0.0");
        doc.put("info", map("title", title, "version", version, "description",
                "Event streams of the CMM Event Broker, generated from the topic conventions (Kamelets), the topic "
                        + "families written by Java code (eventapi/topic-families.yaml) and the flows of this instance. Read them with a Kafka client, over the Kafka REST Proxy v3 compatible API "
                        + "(/v3), as Server-Sent Events (/streams/{topic}) or over WebSocket (/ws/streams/{topic}); "
                        + "see docs/event-api.md."));
        doc.put("defaultContentType", "application/json");

        Map<String, Object> servers = new LinkedHashMap<>();
        String bootstrap = bootstrap();
        Map<String, Object> kafka = map("host", bootstrap, "protocol", secure ? "kafka-secure" : "kafka",
                "description", secure ? "The Kafka cluster (SASL_SSL: SCRAM-SHA-512 or OAUTHBEARER; mutual TLS on its "
                        + "SSL listener)." : "The Kafka cluster (development posture: plaintext, loopback).");
        if (secure) {
            kafka.put("security", List.of(ref("#/components/securitySchemes/scram"),
                    ref("#/components/securitySchemes/oauthBearer"), ref("#/components/securitySchemes/mutualTls")));
        }
        servers.put("kafka", kafka);
        String httpHost = property("camel.server.host").orElse("127.0.0.1") + ":"
                + property("camel.server.port").orElse("8081");
        Map<String, Object> http = map("host", httpHost, "protocol", secure ? "https" : "http", "description",
                "The event API: REST (Kafka REST Proxy v3 compatible), SSE at /streams/{topic}, WebSocket at "
                        + "/ws/streams/{topic}.");
        if (accessOn) {
            http.put("security", List.of(ref("#/components/securitySchemes/bearer")));
        }
        servers.put("eventApi", http);
        doc.put("servers", servers);

        Map<String, Object> channels = new TreeMap<>();
        Map<String, Object> operations = new TreeMap<>();
        Map<String, Object> messages = new TreeMap<>();
        Map<String, List<String>> flows = flowsByKamelet();
        for (Path kamelet : sinkKamelets()) {
            channel(kamelet, flows, channels, operations, messages);
        }
        List<Object> internal = new ArrayList<>();
        for (TopicFamilies.Family family : TopicFamilies.load()) {
            if (family.isInternal()) {
                resolve(family.address()).ifPresent(topic -> internal.add(map("topic", topic, "writer",
                        family.writer(), "reason", family.internal())));
            } else {
                familyChannel(family, channels, operations, messages);
            }
        }
        doc.put("channels", channels);
        doc.put("operations", operations);
        doc.put("x-cmm-internal-topics", internal);

        Map<String, Object> components = new LinkedHashMap<>();
        components.put("messages", messages);
        components.put("schemas", schemas());
        Map<String, Object> schemes = new LinkedHashMap<>();
        schemes.put("bearer", map("type", "http", "scheme", "bearer", "bearerFormat", "JWT", "description",
                "An OpenID Connect access token (cmm.security.oidc.issuer); browsers' EventSource use a single-use "
                        + "ticket from POST /streams/tickets instead."));
        schemes.put("scram", map("type", "scramSha512", "description", "Kafka SASL SCRAM-SHA-512."));
        schemes.put("oauthBearer", map("type", "oauth2", "description", "Kafka SASL OAUTHBEARER with the OIDC issuer's "
                + "tokens.", "flows", map("clientCredentials", map("tokenUrl", property("cmm.security.oidc.issuer")
                        .filter(s -> !s.isBlank()).map(s -> s + "/protocol/openid-connect/token")
                        .orElse("https://issuer.example/token"), "availableScopes", new LinkedHashMap<>())),
                "scopes", List.of()));
        schemes.put("mutualTls", map("type", "X509", "description", "A client certificate signed by the broker's "
                + "trusted CA (the SSL listener)."));
        components.put("securitySchemes", schemes);
        doc.put("components", components);
        return doc;
    }

    private void channel(Path kameletFile, Map<String, List<String>> flows, Map<String, Object> channels,
            Map<String, Object> operations, Map<String, Object> messages) {
        String text;
        Map<String, Object> kamelet;
        try {
            text = Files.readString(kameletFile, StandardCharsets.UTF_8);
            @SuppressWarnings("unchecked")
            Map<String, Object> parsed = (Map<String, Object>) new Load(LoadSettings.builder().build())
                    .loadFromString(text);
            kamelet = parsed;
        } catch (IOException | RuntimeException e) {
            return;
        }
        String name = kameletFile.getFileName().toString().replace(".kamelet.yaml", "");
        if (name.equals("dead-letter-sink")) {
            return; // per-instance topics, internal: not an event API
        }
        Map<String, Object> definition = nested(kamelet, "spec", "definition");
        String description = String.valueOf(definition.getOrDefault("description", ""));
        String kameletTitle = String.valueOf(definition.getOrDefault("title", name));

        String expression = null;
        String property = null;
        Matcher m = TOPIC_EXPRESSION.matcher(text);
        if (m.find()) {
            expression = m.group(1);
            property = m.group(2);
        } else {
            Matcher f = FIXED_TOPIC.matcher(text);
            if (f.find()) {
                expression = "{{topic}}";
                property = "topic";
            }
        }
        if (expression == null) {
            return;
        }
        Optional<String> value = property("camel.kamelet." + name + "." + property);
        if (value.isEmpty() || value.get().isBlank()) {
            return;
        }
        List<String> parameterHeaders = new ArrayList<>();
        StringBuilder address = new StringBuilder();
        String rest = expression.replace("{{" + property + "}}", value.get());
        Matcher h = HEADER.matcher(rest);
        int last = 0;
        while (h.find()) {
            address.append(rest, last, h.start());
            String header = h.group(1);
            parameterHeaders.add(header);
            address.append('{').append(parameterName(header)).append('}');
            last = h.end();
        }
        address.append(rest.substring(last));

        String channelId = camel(name.replaceAll("-sink$", ""));
        Map<String, Object> channel = new LinkedHashMap<>();
        channel.put("address", address.toString());
        channel.put("title", kameletTitle.replaceAll(" Sink$", ""));
        channel.put("description", description.strip());
        if (!parameterHeaders.isEmpty()) {
            Map<String, Object> parameters = new LinkedHashMap<>();
            for (String header : parameterHeaders) {
                parameters.put(parameterName(header), map("description", "From the header " + header
                        + " of the event (lower case)."));
            }
            channel.put("parameters", parameters);
        }
        Map<String, Object> channelMessages = new LinkedHashMap<>();
        Set<String> headerNames = new LinkedHashSet<>(List.of("ce_id", "ce_source", "ce_type", "ce_specversion",
                "ce_time", "ce_subject"));
        Matcher n = HEADER_NAME.matcher(description);
        while (n.find()) {
            headerNames.add(n.group(1));
        }
        parameterHeaders.stream().filter(x -> !x.startsWith("Camel")).forEach(headerNames::add);
        String lower = description.toLowerCase(Locale.ROOT);
        String keyDescription = sentence(description, "key");
        if (lower.contains("fhir r4 json") || lower.contains("subscriptionnotification")) {
            channelMessages.put("fhir", message(messages, channelId + "Fhir", "application/fhir+json",
                    ref("#/components/schemas/fhirResource"), headerNames, keyDescription, kameletTitle));
        }
        if (lower.contains("hl7 v2") || lower.contains("hl7 message") || lower.contains("orur40")
                || lower.contains("oru^r40") || lower.contains("pcd-0")) {
            channelMessages.put("hl7v2", message(messages, channelId + "Hl7v2", "x-application/hl7-v2+er7",
                    ref("#/components/schemas/hl7v2Er7"), headerNames, keyDescription, kameletTitle));
        }
        if (lower.contains("xml")) {
            channelMessages.put("xml", message(messages, channelId + "Xml", "application/xml",
                    map("type", "string", "description", "An XML document, as the sender posted it."), headerNames,
                    keyDescription, kameletTitle));
        }
        if (lower.contains("json") && !channelMessages.containsKey("fhir") || channelMessages.isEmpty()) {
            Matcher schemaName = Pattern.compile("schema ([a-z0-9.]+\\.v[0-9]+)").matcher(description);
            Map<String, Object> payload = registeredPayload(name).orElseGet(() -> map("type", "object",
                    "description", schemaName.find() ? "JSON event, schema " + schemaName.group(1) + "."
                            : "A JSON event."));
            channelMessages.put("json", message(messages, channelId + "Json", "application/json", payload,
                    headerNames, keyDescription, kameletTitle));
        }
        channel.put("messages", channelMessages);
        channel.put("bindings", map("kafka", map("bindingVersion", "0.5.0")));
        List<String> using = flows.getOrDefault(name, List.of());
        if (!using.isEmpty()) {
            channel.put("x-cmm-flows", using);
        }
        channel.put("x-cmm-kamelet", name);
        channels.put(channelId, channel);

        sendOperation(operations, channelId, channelMessages, "The broker's flows publish to " + address + ".");
    }

    /**
     * A topic family written by Java code (eventapi/topic-families.yaml) as a channel: its address with this instance's
     * configuration, its parameters, its messages with their payloads (JSON: the registered schema of the subject the
     * family names; FHIR: by content type) and the headers and key its writer sets.
     */
    private void familyChannel(TopicFamilies.Family family, Map<String, Object> channels,
            Map<String, Object> operations, Map<String, Object> messages) {
        Optional<String> address = resolve(family.address());
        if (address.isEmpty()) {
            return;
        }
        String channelId = family.channel();
        Map<String, Object> channel = new LinkedHashMap<>();
        channel.put("address", address.get());
        channel.put("title", family.title());
        channel.put("description", family.description());
        if (!family.parameters().isEmpty()) {
            Map<String, Object> parameters = new LinkedHashMap<>();
            family.parameters().forEach((name, p) -> parameters.put(name, new LinkedHashMap<>(p)));
            channel.put("parameters", parameters);
        }
        Map<String, Object> channelMessages = new LinkedHashMap<>();
        for (TopicFamilies.Message m : family.messages()) {
            String id = channelId + Character.toUpperCase(m.name().charAt(0)) + m.name().substring(1);
            Map<String, Object> payload;
            if ("application/fhir+json".equals(m.contentType())) {
                payload = ref("#/components/schemas/fhirResource");
            } else {
                payload = m.subject() == null ? map("type", "object", "description", "A JSON event.")
                        : registeredSchema(m.subject()).orElseGet(() -> map("type", "object", "description",
                                "JSON event, schema " + m.subject() + "."));
            }
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("name", id);
            message.put("title", family.title() + " (" + m.name() + ", " + m.contentType() + ")");
            if (m.description() != null) {
                message.put("summary", m.description());
            }
            message.put("contentType", m.contentType());
            if (!family.headers().isEmpty()) {
                Map<String, Object> properties = new LinkedHashMap<>();
                family.headers().forEach((h, d) -> properties.put(h, map("type", "string", "description", d)));
                message.put("headers", map("type", "object", "properties", properties));
            }
            message.put("payload", payload);
            message.put("bindings", map("kafka", map("key", map("type", "string", "description",
                    family.key() == null ? "The record key." : family.key()), "bindingVersion", "0.5.0")));
            messages.put(id, message);
            channelMessages.put(m.name(), ref("#/components/messages/" + id));
        }
        channel.put("messages", channelMessages);
        channel.put("bindings", map("kafka", map("bindingVersion", "0.5.0")));
        if (!family.flows().isEmpty()) {
            channel.put("x-cmm-flows", family.flows());
        }
        channel.put("x-cmm-writer", family.writer());
        List<String> topics = new ArrayList<>();
        family.topics().forEach(key -> property(key).filter(v -> !v.isBlank()).ifPresent(topics::add));
        if (!topics.isEmpty()) {
            channel.put("x-cmm-topics", topics);
        }
        channels.put(channelId, channel);
        sendOperation(operations, channelId, channelMessages,
                "The broker publishes to " + address.get() + " (" + family.writer() + ").");
    }

    /** An address with its {@code {{key}}} parts replaced by this instance's configuration; empty when one is unset. */
    private Optional<String> resolve(String address) {
        if (address == null) {
            return Optional.empty();
        }
        Matcher m = Pattern.compile("\\{\\{([^}]+)}}").matcher(address);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            Optional<String> value = property(m.group(1)).filter(v -> !v.isBlank());
            if (value.isEmpty()) {
                return Optional.empty();
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value.get()));
        }
        m.appendTail(out);
        return Optional.of(out.toString());
    }

    /** The JSON Schema the schema registry holds for a subject, when the registry flow runs. */
    private Optional<Map<String, Object>> registeredSchema(String subject) {
        org.cmm.eventbroker.eventapi.registry.SchemaRegistryApi registry = camelContext == null ? null
                : camelContext.getRegistry().findSingleByType(org.cmm.eventbroker.eventapi.registry.SchemaRegistryApi.class);
        if (registry == null) {
            return Optional.empty();
        }
        Optional<Map<String, Object>> schema = registry.registeredSchema(subject);
        if (schema.isEmpty() && expected().subjects().contains(subject)) {
            schemaMissing = true;
        }
        return schema;
    }

    /** The JSON payload schema the schema registry holds for a Kamelet's events, when the registry flow runs. */
    private Optional<Map<String, Object>> registeredPayload(String kamelet) {
        org.cmm.eventbroker.eventapi.registry.SchemaRegistryApi registry = camelContext == null ? null
                : camelContext.getRegistry().findSingleByType(org.cmm.eventbroker.eventapi.registry.SchemaRegistryApi.class);
        if (registry == null) {
            return Optional.empty();
        }
        Optional<Map<String, Object>> schema = registry.payloadSchema(kamelet);
        if (schema.isEmpty() && expected().kamelets().contains(kamelet)) {
            schemaMissing = true;
        }
        return schema;
    }

    private record Expected(Set<String> subjects, Set<String> kamelets) {
    }

    /** The subjects and Kamelets of the payload schema files, which the registry registers at start. */
    private Expected expected() {
        if (expectedSubjects == null) {
            Set<String> subjects = new java.util.HashSet<>();
            Set<String> kamelets = new java.util.HashSet<>();
            for (org.cmm.eventbroker.eventapi.registry.PayloadSchemas.PayloadSchema p
                    : org.cmm.eventbroker.eventapi.registry.PayloadSchemas.load()) {
                subjects.add(p.subject());
                kamelets.addAll(p.kamelets());
            }
            expectedSubjects = subjects;
            expectedKamelets = kamelets;
        }
        return new Expected(expectedSubjects, expectedKamelets);
    }

    private Map<String, Object> message(Map<String, Object> messages, String id, String contentType,
            Map<String, Object> payload, Set<String> headerNames, String keyDescription, String title) {
        Map<String, Object> properties = new LinkedHashMap<>();
        for (String header : headerNames) {
            properties.put(header, map("type", "string", "description", headerDescription(header)));
        }
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("name", id);
        message.put("title", title.replaceAll(" Sink$", "") + " (" + contentType + ")");
        message.put("contentType", contentType);
        message.put("headers", map("type", "object", "properties", properties));
        message.put("payload", payload);
        message.put("bindings", map("kafka", map("key", map("type", "string", "description",
                keyDescription.isEmpty() ? "The record key." : keyDescription), "bindingVersion", "0.5.0")));
        messages.put(id, message);
        return ref("#/components/messages/" + id);
    }

    private static String headerDescription(String header) {
        return switch (header) {
            case "ce_id" -> "CloudEvents id: unique per event.";
            case "ce_source" -> "CloudEvents source: the system or flow that produced the event.";
            case "ce_type" -> "CloudEvents type: the topic name.";
            case "ce_specversion" -> "CloudEvents spec version (1.0).";
            case "ce_time" -> "CloudEvents time (RFC 3339).";
            case "ce_subject" -> "CloudEvents subject: the patient, resource or business key.";
            case "content-type" -> "The payload's media type.";
            default -> "Domain header " + header + ".";
        };
    }

    private static Map<String, Object> schemas() {
        Map<String, Object> schemas = new LinkedHashMap<>();
        schemas.put("hl7v2Er7", map("type", "string", "description", "An HL7 v2 message in ER7 encoding (segments "
                + "separated by carriage returns), byte for byte as received.", "pattern", "^MSH"));
        schemas.put("fhirResource", map("type", "object", "description", "A FHIR R4 resource as JSON.", "required",
                List.of("resourceType"), "properties", map("resourceType", map("type", "string"), "id",
                        map("type", "string"))));
        return schemas;
    }

    private static String sentence(String text, String word) {
        for (String s : text.replace('\n', ' ').split("(?<=\\.)\\s+")) {
            if (s.toLowerCase(Locale.ROOT).matches(".*\\b" + word + "\\b.*")) {
                return s.strip();
            }
        }
        return "";
    }

    /** {@code CamelHl7TopicMessageType} -> messageType, {@code lab_result_class} -> resultClass. */
    static String parameterName(String header) {
        String h = header.replaceFirst("^CamelHl7Topic", "");
        if (!h.equals(header)) {
            return Character.toLowerCase(h.charAt(0)) + h.substring(1);
        }
        String[] words = h.split("_");
        StringBuilder s = new StringBuilder();
        for (int i = words.length > 1 ? 1 : 0; i < words.length; i++) {
            String w = words[i].toLowerCase(Locale.ROOT);
            s.append(s.length() == 0 ? w : Character.toUpperCase(w.charAt(0)) + w.substring(1));
        }
        return s.toString();
    }

    private static String camel(String kebab) {
        StringBuilder s = new StringBuilder();
        for (String w : kebab.split("-")) {
            s.append(s.length() == 0 ? w : Character.toUpperCase(w.charAt(0)) + w.substring(1));
        }
        return s.toString();
    }

    private List<Path> sinkKamelets() {
        Path folder = Path.of(kameletsLocation);
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(p -> p.getFileName().toString().endsWith("-sink.kamelet.yaml")).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Which route files (flows) name each Kamelet. */
    private Map<String, List<String>> flowsByKamelet() {
        Map<String, List<String>> result = new TreeMap<>();
        Path folder = Path.of(routesLocation);
        if (!Files.isDirectory(folder)) {
            return result;
        }
        Pattern use = Pattern.compile("kamelet:([a-z0-9-]+-sink)");
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".camel.yaml")).sorted().toList()) {
                Matcher m = use.matcher(Files.readString(f, StandardCharsets.UTF_8));
                Set<String> seen = new LinkedHashSet<>();
                while (m.find()) {
                    seen.add(m.group(1));
                }
                String flow = f.getFileName().toString().replace(".camel.yaml", "");
                seen.forEach(k -> result.computeIfAbsent(k, x -> new ArrayList<>()).add(flow));
            }
        } catch (IOException e) {
            return result;
        }
        return result;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> nested(Map<String, Object> root, String... path) {
        Map<String, Object> current = root;
        for (String p : path) {
            Object next = current == null ? null : current.get(p);
            current = next instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        }
        return current;
    }

    private String bootstrap() {
        try {
            String servers = KafkaClients.of(camelContext).bootstrapServers();
            return servers == null || servers.isBlank() ? "localhost:9092" : servers.split(",")[0].trim();
        } catch (RuntimeException e) {
            return property("cmm.kafka.bootstrap-servers").filter(s -> !s.isBlank()).orElse("localhost:9092");
        }
    }

    private Optional<String> property(String key) {
        try {
            return camelContext.getPropertiesComponent().resolveProperty(key).map(String::trim);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private boolean bool(String key) {
        return property(key).map(Boolean::parseBoolean).orElse(false);
    }

    private static Map<String, Object> ref(String target) {
        return map("$ref", target);
    }

    private static Map<String, Object> map(Object... pairs) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], pairs[i + 1]);
        }
        return m;
    }

    /** The channel's send operation ({@code publish<ChannelId>}), naming each of its messages. */
    private static void sendOperation(Map<String, Object> operations, String channelId,
            Map<String, Object> channelMessages, String summary) {
        List<Object> opMessages = new ArrayList<>();
        channelMessages.keySet().forEach(k -> opMessages.add(ref("#/channels/" + channelId + "/messages/" + k)));
        operations.put("publish" + Character.toUpperCase(channelId.charAt(0)) + channelId.substring(1),
                map("action", "send", "channel", ref("#/channels/" + channelId), "summary", summary, "messages",
                        opMessages));
    }
}
