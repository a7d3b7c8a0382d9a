package org.cmm.eventbroker.ehr;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Pattern;

import javax.xml.XMLConstants;
import javax.xml.parsers.SAXParser;
import javax.xml.parsers.SAXParserFactory;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.cmm.eventbroker.hl7.Hl7Headers;
import org.xml.sax.Attributes;
import org.xml.sax.SAXParseException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * Decides whether a vendor's webhook ({@code POST /ehr/{vendor}/{resourceType}/{operation}}) can become an event on
 * {@code ehr.<vendor>.<resource-type>.<operation>}, and describes it in headers for the topic sink.
 *
 * <p>First it drops every header the HTTP request brought (Authorization, Cookie, Host, anything a sender names
 * {@code kafka.KEY} or {@code ce_id}...), keeping only Camel's own, so nothing but the headers set here reaches Kafka.
 * The body is kept as the exact bytes received. A request is rejected ({@link EhrRequestRejectedException}) when a
 * path segment is not 1-64 letters, digits or hyphens (400: it could not be a topic name part), the body is larger
 * than {@link #setMaxBodyBytes maxBodyBytes} (413), neither JSON nor XML by its Content-Type (415:
 * {@code application/json}, {@code application/*+json}, {@code application/xml}, {@code text/xml},
 * {@code application/*+xml}), empty (400), or not well-formed (400; XML with a DOCTYPE is refused, so no DTD or external entity is
 * ever read).
 *
 * <p>Resends are recognised by the key {@value EhrHeaders#DEDUPLICATION_KEY}: the vendor with a SHA-256 of its
 * {@code Idempotency-Key} (else {@code X-Request-Id}) header, or, without one, the vendor, the path and a SHA-256 of
 * the body. The CloudEvents id is a name-based UUID of that key, so a resend gets the same event id. The record key
 * is the resource id when the body has one (a top-level JSON {@code "id"}; in XML the root's {@code <id>} child, its
 * {@code value} attribute as FHIR writes it or its text), sent as {@code ce_subject}; else the event id, so resends of
 * one event still land on one partition.
 */
public class EhrWebhookInspector implements Processor {

    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9-]{1,64}");
    private static final int MAX_KEY_LENGTH = 256;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private long maxBodyBytes = 1024 * 1024;

    /** Larger bodies are answered 413; the first maxBodyBytes bytes are dead-lettered, marked truncated. */
    public void setMaxBodyBytes(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void process(Exchange exchange) throws EhrRequestRejectedException {
        Message in = exchange.getMessage();
        // from the path itself: the path parameter headers share the header map with the request's own headers,
        // and a request header named "vendor" would otherwise be mixed in
        String[] path = lastSegments(in.getHeader(Exchange.HTTP_PATH, String.class), 3);
        String vendor = path[0];
        String resourceType = path[1];
        String operation = path[2];
        String contentType = in.getHeader(Exchange.CONTENT_TYPE, String.class);
        String idempotencyKey = firstNonBlank(in.getHeader("Idempotency-Key", String.class),
                in.getHeader("X-Request-Id", String.class));
        byte[] body = in.getBody(byte[].class);
        in.setBody(body == null ? new byte[0] : body);
        body = in.getBody(byte[].class);
        keepOnlyCamelHeaders(in);

        vendor = pathSegment(vendor, "vendor");
        resourceType = pathSegment(resourceType, "resourceType");
        operation = pathSegment(operation, "operation");
        in.setHeader(EhrHeaders.VENDOR, vendor);
        in.setHeader(EhrHeaders.RESOURCE_TYPE, resourceType);
        in.setHeader(EhrHeaders.OPERATION, operation);

        if (body.length > maxBodyBytes) {
            in.setHeader(EhrHeaders.DLQ_TRUNCATED, "true");
            in.setHeader(EhrHeaders.DLQ_ORIGINAL_BYTES, String.valueOf(body.length));
            in.setBody(Arrays.copyOf(body, (int) Math.min(maxBodyBytes, Integer.MAX_VALUE)));
            throw new EhrRequestRejectedException(413, "body of " + body.length + " bytes is larger than the limit of "
                    + maxBodyBytes + " bytes");
        }
        String mediaType = mediaType(contentType);
        if (mediaType == null) {
            throw new EhrRequestRejectedException(415, "Content-Type must be JSON (application/json, application/*+json)"
                    + " or XML (application/xml, text/xml, application/*+xml)");
        }
        in.setHeader(Hl7Headers.CONTENT_TYPE, contentType.trim());
        if (body.length == 0) {
            throw new EhrRequestRejectedException(400, "empty body");
        }
        String resourceId = isJson(mediaType) ? jsonResourceId(body) : xmlResourceId(body);

        String deduplicationKey = idempotencyKey != null
                ? vendor + "|key|" + sha256(idempotencyKey.trim().getBytes(StandardCharsets.UTF_8))
                : vendor + '|' + resourceType + '|' + operation + "|body|" + sha256(body);
        String eventId = UUID.nameUUIDFromBytes(deduplicationKey.getBytes(StandardCharsets.UTF_8)).toString();
        in.setHeader(EhrHeaders.DEDUPLICATION_KEY, deduplicationKey);
        in.setHeader(Hl7Headers.CE_SPECVERSION, "1.0");
        in.setHeader(Hl7Headers.CE_ID, eventId);
        in.setHeader(Hl7Headers.CE_SOURCE, "/ehr/" + vendor);
        in.setHeader(Hl7Headers.CE_TIME, OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        if (resourceId != null) {
            in.setHeader(Hl7Headers.CE_SUBJECT, resourceId);
        }
    }

    private static void keepOnlyCamelHeaders(Message in) {
        List<String> names = new ArrayList<>(in.getHeaders().keySet());
        for (String name : names) {
            if (!name.startsWith("Camel")) {
                in.removeHeader(name);
            }
        }
    }

    /** The last n segments of a request path (null for those it does not have). */
    static String[] lastSegments(String path, int n) {
        String[] result = new String[n];
        if (path == null) {
            return result;
        }
        String[] parts = path.split("/", -1);
        for (int i = 0; i < n; i++) {
            int at = parts.length - n + i;
            result[i] = at >= 0 ? parts[at] : null;
        }
        return result;
    }

    private static String pathSegment(String value, String name) throws EhrRequestRejectedException {
        if (value == null || !SEGMENT.matcher(value).matches()) {
            throw new EhrRequestRejectedException(400, "path segment " + name
                    + " must be 1 to 64 letters, digits or hyphens");
        }
        return value.toLowerCase(Locale.ROOT);
    }

    /** The media type without parameters, in lower case, when it is JSON or XML; null otherwise. */
    static String mediaType(String contentType) {
        if (contentType == null) {
            return null;
        }
        int semicolon = contentType.indexOf(';');
        String type = (semicolon >= 0 ? contentType.substring(0, semicolon) : contentType).trim().toLowerCase(Locale.ROOT);
        if (type.equals("application/json") || type.equals("application/xml") || type.equals("text/xml")
                || type.startsWith("application/") && (type.endsWith("+json") || type.endsWith("+xml"))) {
            return type;
        }
        return null;
    }

    private static boolean isJson(String mediaType) {
        return mediaType.endsWith("json");
    }

    private static String jsonResourceId(byte[] body) throws EhrRequestRejectedException {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            // Jackson's own message quotes the offending text: only the position is given back
            throw new EhrRequestRejectedException(400, "malformed JSON"
                    + (at != null ? " at line " + at.getLineNr() + ", column " + at.getColumnNr() : ""));
        } catch (java.io.IOException e) {
            throw new EhrRequestRejectedException(400, "unreadable JSON");
        }
        if (root == null || root.isMissingNode()) {
            throw new EhrRequestRejectedException(400, "empty JSON body");
        }
        if (!root.isObject() && !root.isArray()) {
            throw new EhrRequestRejectedException(400, "JSON body must be an object or an array");
        }
        JsonNode id = root.get("id");
        return id != null && (id.isTextual() || id.isIntegralNumber()) ? usableKey(id.asText()) : null;
    }

    private static String xmlResourceId(byte[] body) throws EhrRequestRejectedException {
        RootIdFinder finder = new RootIdFinder();
        try {
            newSafeParser().parse(new ByteArrayInputStream(body), finder);
        } catch (SAXParseException e) {
            if (e.getMessage() != null && e.getMessage().contains("DOCTYPE")) {
                throw new EhrRequestRejectedException(400, "XML with a DOCTYPE (DTD) is not accepted");
            }
            throw new EhrRequestRejectedException(400, "malformed XML at line " + e.getLineNumber()
                    + ", column " + e.getColumnNumber());
        } catch (Exception e) {
            throw new EhrRequestRejectedException(400, "unreadable XML");
        }
        return usableKey(finder.id());
    }

    /** A parser that refuses DOCTYPEs and reads no external entity, DTD or schema (XXE, billion laughs). */
    private static SAXParser newSafeParser() throws Exception {
        SAXParserFactory factory = SAXParserFactory.newDefaultInstance();
        factory.setNamespaceAware(true);
        factory.setValidating(false);
        factory.setXIncludeAware(false);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        factory.setFeature("http://xml.org/sax/features/external-general-entities", false);
        factory.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        SAXParser parser = factory.newSAXParser();
        parser.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
        parser.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
        return parser;
    }

    /** Finds the root element's {@code <id>} child: its value attribute (FHIR XML) or its text. */
    private static final class RootIdFinder extends DefaultHandler {
        private int depth;
        private boolean inId;
        private boolean found;
        private String id;
        private final StringBuilder text = new StringBuilder();

        @Override
        public void startElement(String uri, String localName, String qName, Attributes attributes) {
            depth++;
            if (depth == 2 && !found && "id".equals(localName)) {
                found = true;
                String value = attributes.getValue("value");
                if (value != null) {
                    id = value;
                } else {
                    inId = true;
                }
            }
        }

        @Override
        public void characters(char[] ch, int start, int length) {
            if (inId && text.length() < MAX_KEY_LENGTH + 1) {
                text.append(ch, start, Math.min(length, MAX_KEY_LENGTH + 1));
            }
        }

        @Override
        public void endElement(String uri, String localName, String qName) {
            if (inId && depth == 2) {
                inId = false;
                id = text.toString();
            }
            depth--;
        }

        String id() {
            return id;
        }
    }

    private static String usableKey(String value) {
        if (value == null) {
            return null;
        }
        String v = value.trim();
        return v.isEmpty() || v.length() > MAX_KEY_LENGTH ? null : v;
    }

    private static String firstNonBlank(String a, String b) {
        if (a != null && !a.isBlank()) {
            return a;
        }
        return b != null && !b.isBlank() ? b : null;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
