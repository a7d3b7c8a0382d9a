package org.cmm.eventbroker.fhir.subscription;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.context.RuntimeSearchParam;
import ca.uhn.fhir.rest.api.RestSearchParameterTypeEnum;
import org.cmm.eventbroker.fhir.FhirR4;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.Enumeration;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.PrimitiveType;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;

/**
 * A Subscription's criteria ({@code Observation?code=http://loinc.org|8867-4&subject=Patient/1}) as the matcher
 * evaluates it: the resource type, and the search parameters ANDed (repeated or {@code &}-joined), each with its values
 * ORed ({@code ,}).
 *
 * <p>Evaluated here, against the changed resource, are the parameters whose meaning is simple and unambiguous: {@code _id},
 * and token and reference parameters without modifier whose FHIR search path is a plain element path
 * ({@code Observation.code}, {@code Observation.subject.where(resolve() is Patient)}): tokens as {@code system|code},
 * {@code code}, {@code |code} (no system) and {@code system|}; references as {@code Type/id} or {@code id}. Anything
 * else (string, date, quantity, modifiers, chains, {@code _has}, escaped values) is left to the FHIR server:
 * {@link #needsServer()} is then true and the matcher asks {@code GET [base]/<criteria>&_id=<id>}.
 */
public final class SubscriptionCriteria {

    private static final Pattern RESOURCE_TYPE = Pattern.compile("[A-Z][A-Za-z]+");
    private static final Pattern PLAIN_PATH = Pattern.compile("[A-Z][A-Za-z]+(\\.[a-z][A-Za-z]*)+");
    private static final Pattern RESOLVE_IS = Pattern.compile("(.+)\\.where\\(resolve\\(\\) is ([A-Z][A-Za-z]+)\\)");

    /** One {@code name=v1,v2} of the query; values percent-decoded. */
    record Parameter(String name, RestSearchParameterTypeEnum type, List<String> values, List<Path> localPaths) {

        boolean local() {
            return localPaths != null;
        }
    }

    /** A plain element path, with the reference target type a {@code where(resolve() is X)} demands (or null). */
    record Path(String elementPath, String targetType) {
    }

    private final String resourceType;
    private final List<Parameter> parameters;

    private SubscriptionCriteria(String resourceType, List<Parameter> parameters) {
        this.resourceType = resourceType;
        this.parameters = parameters;
    }

    /**
     * Reads {@code Type?query} (or {@code Type} alone); throws {@link IllegalArgumentException} with a reason fit for
     * {@code Subscription.error} when it is no resource-type search of a known R4 resource type.
     */
    public static SubscriptionCriteria parse(String criteria) {
        if (criteria == null || criteria.isBlank()) {
            throw new IllegalArgumentException("criteria missing");
        }
        String c = criteria.trim();
        int q = c.indexOf('?');
        String type = q < 0 ? c : c.substring(0, q);
        if (type.contains("/") || !RESOURCE_TYPE.matcher(type).matches()) {
            throw new IllegalArgumentException("unsupported criteria: not a resource-type search (Type?param=value)");
        }
        RuntimeResourceDefinition definition;
        try {
            definition = FhirR4.context().getResourceDefinition(type);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("unsupported criteria: " + type + " is not an R4 resource type");
        }
        List<Parameter> parameters = new ArrayList<>();
        if (q >= 0 && q + 1 < c.length()) {
            for (String pair : c.substring(q + 1).split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("unsupported criteria: parameter without name or value");
                }
                String name = decode(pair.substring(0, eq));
                String rawValue = pair.substring(eq + 1);
                List<String> values = new ArrayList<>();
                for (String v : decode(rawValue).split(",", -1)) {
                    values.add(v);
                }
                boolean escaped = decode(rawValue).contains("\\");
                RuntimeSearchParam sp = definition.getSearchParam(name);
                parameters.add(new Parameter(name, sp == null ? null : sp.getParamType(), List.copyOf(values),
                        escaped ? null : localPaths(definition, name)));
            }
        }
        return new SubscriptionCriteria(type, List.copyOf(parameters));
    }

    public String resourceType() {
        return resourceType;
    }

    /** True when some parameter cannot be evaluated here and the FHIR server must be asked. */
    public boolean needsServer() {
        return parameters.stream().anyMatch(p -> !p.local());
    }

    /** True when the criteria has no parameter but the type (every resource of the type matches). */
    public boolean typeOnly() {
        return parameters.isEmpty();
    }

    /** Names of the parameters the server must evaluate, for logs. */
    List<String> serverParameters() {
        return parameters.stream().filter(p -> !p.local()).map(Parameter::name).toList();
    }

    /**
     * Whether the resource matches; only for criteria that do not {@link #needsServer() need the server}. Throws
     * {@link IllegalStateException} when the resource holds an element this class cannot compare (a token on a
     * ContactPoint, a reference parameter on a canonical): use {@link #decideLocally} to fall back to the server.
     */
    public boolean matchesLocally(Resource resource) {
        Boolean decided = decideLocally(resource);
        if (decided == null) {
            throw new IllegalStateException("criteria of " + resourceType + " needs the FHIR server for this resource");
        }
        return decided;
    }

    /** True or false when decided here; null when the FHIR server must decide. */
    public Boolean decideLocally(Resource resource) {
        if (needsServer()) {
            throw new IllegalStateException("criteria of " + resourceType + " needs the FHIR server: " + serverParameters());
        }
        if (!resourceType.equals(resource.fhirType())) {
            return false;
        }
        try {
            for (Parameter p : parameters) {
                if (!matches(resource, p)) {
                    return false;
                }
            }
        } catch (NotComparableHere e) {
            return null;
        }
        return true;
    }

    /** An element whose type this class does not compare for the parameter's type. */
    private static final class NotComparableHere extends RuntimeException {
        NotComparableHere() {
            super(null, null, false, false);
        }
    }

    /**
     * The search the FHIR server answers with the resource when it matches: the criteria, values percent-encoded, plus
     * {@code &_id=<id>}.
     */
    public String serverQuery(String id) {
        StringBuilder url = new StringBuilder(resourceType).append('?');
        for (Parameter p : parameters) {
            url.append(encode(p.name())).append('=');
            for (int i = 0; i < p.values().size(); i++) {
                url.append(i == 0 ? "" : ",").append(encode(p.values().get(i)));
            }
            url.append('&');
        }
        return url.append("_id=").append(encode(id)).toString();
    }

    private static boolean matches(Resource resource, Parameter p) {
        if (p.name().equals("_id")) {
            return p.values().contains(resource.getIdElement().getIdPart());
        }
        for (Path path : p.localPaths()) {
            List<IBase> elements = FhirR4.context().newTerser().getValues(resource, path.elementPath());
            for (IBase element : elements) {
                for (String value : p.values()) {
                    if (matchesValue(element, p.type(), value, path.targetType())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static boolean matchesValue(IBase element, RestSearchParameterTypeEnum type, String value, String targetType) {
        if (type == RestSearchParameterTypeEnum.REFERENCE) {
            if (element instanceof Reference ref) {
                return matchesReference(ref, value, targetType);
            }
            throw new NotComparableHere();
        }
        if (type != RestSearchParameterTypeEnum.TOKEN) {
            throw new NotComparableHere();
        }
        String system = null;
        String code = value;
        int bar = value.indexOf('|');
        if (bar >= 0) {
            system = value.substring(0, bar);
            code = value.substring(bar + 1);
        }
        if (element instanceof CodeableConcept cc) {
            for (Coding coding : cc.getCoding()) {
                if (matchesToken(coding.getSystem(), coding.getCode(), bar >= 0, system, code)) {
                    return true;
                }
            }
            return false;
        }
        if (element instanceof Coding coding) {
            return matchesToken(coding.getSystem(), coding.getCode(), bar >= 0, system, code);
        }
        if (element instanceof Identifier identifier) {
            return matchesToken(identifier.getSystem(), identifier.getValue(), bar >= 0, system, code);
        }
        if (element instanceof Enumeration<?> || element instanceof CodeType || element instanceof BooleanType || element instanceof IdType
                || element instanceof StringType) {
            // a code (status, an Enumeration), boolean, id or string: no system; "|code" and "code" both match it
            return (bar < 0 || system.isEmpty()) && code.equals(((PrimitiveType<?>) element).getValueAsString());
        }
        throw new NotComparableHere();
    }

    /** {@code system|code}, {@code code} (any system), {@code |code} (no system), {@code system|} (any code). */
    private static boolean matchesToken(String elementSystem, String elementCode, boolean hasBar, String system, String code) {
        if (hasBar) {
            if (system.isEmpty()) {
                if (elementSystem != null && !elementSystem.isEmpty()) {
                    return false;
                }
            } else if (!system.equals(elementSystem)) {
                return false;
            }
            if (code.isEmpty()) {
                return !system.isEmpty();
            }
        }
        return code.equals(elementCode);
    }

    private static boolean matchesReference(Reference ref, String value, String targetType) {
        if (ref.getReferenceElement() == null || ref.getReference() == null) {
            return false;
        }
        String refType = ref.getReferenceElement().getResourceType();
        String refId = ref.getReferenceElement().getIdPart();
        if (refId == null || (targetType != null && !targetType.equals(refType))) {
            return false;
        }
        int slash = value.indexOf('/');
        if (slash < 0) {
            return value.equals(refId);
        }
        return value.substring(0, slash).equals(refType) && value.substring(slash + 1).equals(refId);
    }

    /** Element paths of a token or reference parameter of the type, or null when it is not evaluated here. */
    private static List<Path> localPaths(RuntimeResourceDefinition definition, String name) {
        if (name.equals("_id")) {
            return List.of();
        }
        if (name.contains(":") || name.contains(".") || name.startsWith("_")) {
            return null;
        }
        RuntimeSearchParam sp = definition.getSearchParam(name);
        if (sp == null || sp.getPath() == null || sp.getPath().isBlank()) {
            return null;
        }
        RestSearchParameterTypeEnum type = sp.getParamType();
        if (type != RestSearchParameterTypeEnum.TOKEN && type != RestSearchParameterTypeEnum.REFERENCE) {
            return null;
        }
        List<Path> paths = new ArrayList<>();
        for (String part : sp.getPath().split("\\|")) {
            String expr = part.trim();
            String target = null;
            var resolve = RESOLVE_IS.matcher(expr);
            if (resolve.matches()) {
                expr = resolve.group(1);
                target = resolve.group(2);
            }
            if (!PLAIN_PATH.matcher(expr).matches()) {
                return null;
            }
            if (!expr.startsWith(definition.getName() + ".")) {
                // a path of another resource type of a shared parameter (clinical-patient): not this one's
                continue;
            }
            paths.add(new Path(expr, target));
        }
        return paths.isEmpty() ? null : List.copyOf(paths);
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unsupported criteria: malformed percent-encoding");
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Override
    public String toString() {
        return resourceType + parameters.stream().map(Parameter::name).toList();
    }
}
