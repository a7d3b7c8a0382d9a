package org.cmm.eventbroker.fhir.change;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.parser.StrictErrorHandler;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.OperationOutcome.IssueType;
import org.hl7.fhir.r4.model.Resource;

/**
 * Turns what a FHIR server reports into {@link FhirChange}s: a single resource (a rest-hook with the full resource) or
 * a Bundle of type transaction, batch, transaction-response or history, one change per entry that wrote something.
 *
 * <p>A Bundle entry's operation comes from {@code request.method}: POST is a create, PUT and PATCH an update (a create
 * when the version is 1), DELETE a delete; GET and HEAD entries are no change and are skipped. Without a request
 * (a transaction-response), {@code response.status} 201 is a create, else the version decides. The id comes from the
 * resource, else {@code fullUrl}, else {@code request.url} (or {@code response.location}); the version from
 * {@code meta.versionId}, else the {@code _history} part of those URLs or the ETag.
 *
 * <p>Parsing is strict (HAPI {@link StrictErrorHandler}: unknown elements or resource types are errors, not warnings in
 * the log). Every rejection names what is wrong and never quotes content.
 */
public class FhirChangeReader {

    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final Set<String> CHANGE_BUNDLE_TYPES = Set.of("transaction", "batch", "transaction-response",
            "history");
    private static final Pattern HAPI_CODE = Pattern.compile("HAPI-\\d{4}");
    private static final Pattern TYPE_NAME = Pattern.compile("[A-Za-z]{1,64}");
    private static final Pattern ETAG_VERSION = Pattern.compile("W/\"([^\"]+)\"");

    private final Set<String> resourceTypes = FhirR4.context().getResourceTypes();

    /**
     * The changes a request body reports. {@code operation}, when the sender named one, applies to a single resource
     * (then a Bundle is itself the resource that changed).
     */
    public List<FhirChange> read(byte[] body, FhirOperation operation) throws FhirChangeRejectedException {
        if (body == null || body.length == 0) {
            throw new FhirChangeRejectedException("empty body: a FHIR resource or Bundle (JSON) is expected");
        }
        JsonNode root = parseJson(body);
        if (!root.isObject()) {
            throw new FhirChangeRejectedException("the body is not a FHIR resource: a JSON object is expected");
        }
        String resourceType = knownResourceType(root.get("resourceType"), "the body");
        if ("Bundle".equals(resourceType) && operation == null
                && CHANGE_BUNDLE_TYPES.contains(root.path("type").asText())) {
            for (JsonNode entry : root.path("entry")) {
                JsonNode resource = entry.get("resource");
                if (resource != null) {
                    knownResourceType(resource.get("resourceType"), "a Bundle entry");
                }
            }
            Bundle bundle = (Bundle) parse(body);
            return changes(bundle);
        }
        IBaseResource resource = parse(body);
        String id = resource.getIdElement().getIdPart();
        if (id == null || id.isBlank()) {
            throw new FhirChangeRejectedException("the " + resourceType + " has no id");
        }
        String versionId = versionOf(resource);
        FhirOperation op = operation != null ? operation : FhirOperation.fromVersion(versionId);
        byte[] value = op == FhirOperation.DELETED ? FhirChange.deletedValue(resourceType, id, versionId) : body;
        return List.of(new FhirChange(resourceType, id, versionId, op, lastUpdated(resource), value));
    }

    /** The changes of a Bundle of type transaction, batch, transaction-response or history. */
    public List<FhirChange> changes(Bundle bundle) throws FhirChangeRejectedException {
        IParser encoder = FhirR4.context().newJsonParser();
        List<FhirChange> changes = new ArrayList<>();
        int index = 0;
        for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
            changes.addAll(change(entry, index++, bundle.getType() == Bundle.BundleType.HISTORY, encoder));
        }
        return changes;
    }

    private List<FhirChange> change(Bundle.BundleEntryComponent entry, int index, boolean history, IParser encoder)
            throws FhirChangeRejectedException {
        String where = "Bundle entry " + index;
        Bundle.HTTPVerb method = entry.hasRequest() && entry.getRequest().hasMethod() ? entry.getRequest().getMethod()
                : null;
        if (method == Bundle.HTTPVerb.GET || method == Bundle.HTTPVerb.HEAD) {
            return List.of();
        }
        Resource resource = entry.getResource();
        List<IdType> urls = new ArrayList<>();
        if (entry.hasFullUrl() && !entry.getFullUrl().startsWith("urn:")) {
            urls.add(new IdType(entry.getFullUrl()));
        }
        if (entry.hasRequest() && entry.getRequest().hasUrl() && !entry.getRequest().getUrl().contains("?")) {
            urls.add(new IdType(entry.getRequest().getUrl()));
        }
        if (entry.hasResponse() && entry.getResponse().hasLocation()) {
            urls.add(new IdType(entry.getResponse().getLocation()));
        }
        String type = resource != null ? resource.fhirType() : null;
        String id = null;
        if (resource != null && resource.getIdElement().hasIdPart()
                && !resource.getIdElement().getValue().startsWith("urn:")) {
            id = resource.getIdElement().getIdPart();
        }
        String versionId = resource != null ? versionOf(resource) : null;
        // only URLs naming type and id ("Patient" alone parses as an id)
        urls.removeIf(url -> !url.hasResourceType() || !url.hasIdPart());
        for (IdType url : urls) {
            if (type == null) {
                type = url.getResourceType();
            }
            if (id == null && url.hasIdPart() && (resource == null || url.getResourceType() == null
                    || url.getResourceType().equals(type))) {
                id = url.getIdPart();
            }
            if (versionId == null && url.hasVersionIdPart()) {
                versionId = url.getVersionIdPart();
            }
        }
        if (versionId == null && entry.hasResponse() && entry.getResponse().hasEtag()) {
            Matcher m = ETAG_VERSION.matcher(entry.getResponse().getEtag());
            versionId = m.matches() ? m.group(1) : null;
        }
        if (type == null) {
            throw new FhirChangeRejectedException(where + " names no resource type (no resource, fullUrl or request.url)");
        }
        if (!resourceTypes.contains(type)) {
            throw new FhirChangeRejectedException(where + ": " + typeForReason(type) + " is not a FHIR R4 resource type");
        }
        if (id == null || id.isBlank()) {
            throw new FhirChangeRejectedException(where + " (" + type
                    + ") has no id (none in the resource, fullUrl, request.url or response.location)");
        }
        FhirOperation op;
        if (method == Bundle.HTTPVerb.DELETE) {
            op = FhirOperation.DELETED;
        } else if (method == Bundle.HTTPVerb.POST) {
            op = FhirOperation.CREATED;
        } else if (method == null && entry.hasResponse() && entry.getResponse().hasStatus()
                && entry.getResponse().getStatus().startsWith("201")) {
            op = FhirOperation.CREATED;
        } else if (method == null && resource == null && history) {
            // a history entry without resource is a deleted version
            op = FhirOperation.DELETED;
        } else {
            op = FhirOperation.fromVersion(versionId);
        }
        String lastUpdated = resource != null ? lastUpdated(resource) : null;
        if (lastUpdated == null && entry.hasResponse() && entry.getResponse().hasLastModified()) {
            lastUpdated = entry.getResponse().getLastModifiedElement().getValueAsString();
        }
        byte[] value;
        if (op == FhirOperation.DELETED || resource == null) {
            if (op != FhirOperation.DELETED) {
                throw new FhirChangeRejectedException(where + " (" + type + ") has no resource (a transaction-response"
                        + " carries them when the request asked for Prefer: return=representation)");
            }
            value = FhirChange.deletedValue(type, id, versionId);
        } else {
            resource.setIdElement(new IdType(type, id, versionId));
            value = encoder.encodeResourceToString(resource).getBytes(StandardCharsets.UTF_8);
        }
        return List.of(new FhirChange(type, id, versionId, op, lastUpdated, value));
    }

    private static JsonNode parseJson(byte[] body) throws FhirChangeRejectedException {
        try {
            JsonNode root = JSON.readTree(body);
            if (root == null || root.isMissingNode()) {
                throw new FhirChangeRejectedException("empty JSON body");
            }
            return root;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            // Jackson's own message quotes the offending text: only the position is given back
            throw new FhirChangeRejectedException("malformed JSON"
                    + (at != null ? " at line " + at.getLineNr() + ", column " + at.getColumnNr() : ""));
        } catch (IOException e) {
            throw new FhirChangeRejectedException("unreadable JSON");
        }
    }

    private String knownResourceType(JsonNode resourceType, String what) throws FhirChangeRejectedException {
        if (resourceType == null || !resourceType.isTextual()) {
            throw new FhirChangeRejectedException(what + " has no resourceType");
        }
        String type = resourceType.asText();
        if (!resourceTypes.contains(type)) {
            throw new FhirChangeRejectedException(400, IssueType.NOTSUPPORTED,
                    what + ": " + typeForReason(type) + " is not a FHIR R4 resource type");
        }
        return type;
    }

    private static String typeForReason(String type) {
        return TYPE_NAME.matcher(type).matches() ? "resourceType " + type : "the resourceType";
    }

    private static IBaseResource parse(byte[] body) throws FhirChangeRejectedException {
        IParser parser = FhirR4.context().newJsonParser().setParserErrorHandler(new StrictErrorHandler());
        try {
            return parser.parseResource(new String(body, StandardCharsets.UTF_8));
        } catch (DataFormatException e) {
            // HAPI's message may quote the invalid value: only its error code is given back
            Matcher code = HAPI_CODE.matcher(String.valueOf(e.getMessage()));
            throw new FhirChangeRejectedException("not valid FHIR R4 JSON" + (code.find() ? " (" + code.group() + ")" : ""));
        } catch (RuntimeException e) {
            // HAPI's parser can fail on JSON it does not expect (found by fuzzing: an empty property name made it
            // throw StringIndexOutOfBoundsException): bad input, not our failure, so 400 and the dead letter
            throw new FhirChangeRejectedException("not valid FHIR R4 JSON (the FHIR parser failed: "
                    + e.getClass().getSimpleName() + ")");
        }
    }

    static String versionOf(IBaseResource resource) {
        String version = resource.getMeta().getVersionId();
        if (version == null || version.isBlank()) {
            version = resource.getIdElement().getVersionIdPart();
        }
        return version == null || version.isBlank() ? null : version.trim();
    }

    static String lastUpdated(IBaseResource resource) {
        if (resource instanceof Resource r && r.hasMeta() && r.getMeta().hasLastUpdated()) {
            return r.getMeta().getLastUpdatedElement().getValueAsString();
        }
        return null;
    }
}
