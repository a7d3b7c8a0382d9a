package org.cmm.eventbroker.engagement.streams;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.support.service.ServiceSupport;
import org.cmm.eventbroker.eventapi.ApiException;
import org.cmm.eventbroker.eventapi.EventApiGateway;
import org.cmm.eventbroker.eventapi.StreamScope;
import org.cmm.eventbroker.platform.security.audit.AuditEvent;
import org.cmm.eventbroker.platform.security.audit.AuditSink;
import org.cmm.eventbroker.platform.security.http.Caller;

/**
 * Real-time updates for the patient and staff apps (issue 16, item 4) on the event API's streaming
 * ({@link EventApiGateway#addScopedStream}: resumable positions, {@code Last-Event-ID}, single-use tickets, limits):
 * <ul>
 * <li>{@code GET /patient/streams/{updateType}} (SSE) and {@code /ws/patient/streams/{updateType}} (WebSocket): the
 * portal topic of the update type ({@code results}, {@code medications}, {@code appointments}) filtered on the server
 * to the records keyed by the patient of the caller's token (its {@code patient} claim; never a request parameter).
 * The portal topics themselves are never granted to patients: this filter is the only way a patient reads them.</li>
 * <li>{@code GET /staff/streams/{stream}} and {@code /ws/staff/streams/{stream}}: the configured staff streams
 * (status, progress and alert topics), each open to the roles configured for it, whole.</li>
 * </ul>
 * A refusal is answered in the event API's error shape (401 unknown stream caller, 403 with the reason, 404 unknown
 * stream) and audited. With access control off there is no caller, so no patient: patient streams are refused (403),
 * staff streams are served as every stream is in the development posture (loopback only).
 */
public class RealtimeStreams extends ServiceSupport implements CamelContextAware, org.apache.camel.Processor {

    private static final Pattern STAFF_ENTRY = Pattern.compile(
            "\\s*([a-z0-9][a-z0-9-]*)\\s*=\\s*([A-Za-z0-9._-]+)\\s*->\\s*([^;]+?)\\s*");

    /** A staff stream: its topic and the roles that may read it. */
    record StaffStream(String topic, Set<String> roles) {
    }

    private CamelContext camelContext;
    private EventApiGateway gateway;
    private final Map<String, String> patientTopics = new LinkedHashMap<>();
    private Map<String, StaffStream> staffStreams = Map.of();
    private Set<String> patientRoles = Set.of("patient");

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    private String gatewayRef;

    /**
     * The name of the event API gateway bean whose streaming serves these streams (routes/eventapi/event-api.camel.yaml),
     * looked up at start: a {@code #bean:} reference would be resolved while the route files are still being read, in
     * an order that is not guaranteed. The event API is a flow of its own (a flow never drags in another): this flow
     * is declared to run with it in routes/flow-groups.yaml ({@code cmm.flows=event-api,realtime-streams,...}; on
     * Camel K the Integration event-api holds both).
     */
    public void setGatewayBean(String gatewayRef) {
        this.gatewayRef = gatewayRef;
    }

    /** The gateway itself (tests). */
    public void setGateway(EventApiGateway gateway) {
        this.gateway = gateway;
    }

    public void setResultsTopic(String topic) {
        patientTopics.put("results", topic);
    }

    public void setMedicationsTopic(String topic) {
        patientTopics.put("medications", topic);
    }

    public void setAppointmentsTopic(String topic) {
        patientTopics.put("appointments", topic);
    }

    /** Roles a patient stream's caller must hold (besides the token's {@code patient} claim), comma-separated. */
    public void setPatientRoles(String roles) {
        this.patientRoles = Set.copyOf(list(roles, ","));
    }

    /** {@code <name> = <topic> -> <role>,<role>; ...}: the staff streams and who may read each. */
    public void setStaffStreams(String streams) {
        this.staffStreams = parseStaffStreams(streams);
    }

    static Map<String, StaffStream> parseStaffStreams(String streams) {
        Map<String, StaffStream> parsed = new LinkedHashMap<>();
        for (String entry : list(streams, ";")) {
            Matcher m = STAFF_ENTRY.matcher(entry);
            if (!m.matches()) {
                throw new IllegalArgumentException("cmm.engagement.streams.staff: '" + entry
                        + "' is not <name> = <topic> -> <role>[,<role>...]");
            }
            Set<String> roles = Set.copyOf(list(m.group(3), ","));
            if (roles.isEmpty()) {
                throw new IllegalArgumentException("cmm.engagement.streams.staff: stream " + m.group(1) + " names no role");
            }
            parsed.put(m.group(1), new StaffStream(m.group(2), roles));
        }
        return Map.copyOf(parsed);
    }

    Map<String, StaffStream> staffStreams() {
        return staffStreams;
    }

    @Override
    protected void doStart() {
        if (gateway == null && gatewayRef != null) {
            gateway = camelContext.getRegistry().lookupByNameAndType(gatewayRef, EventApiGateway.class);
        }
        if (gateway == null) {
            throw new IllegalArgumentException("RealtimeStreams needs the event API gateway bean '" + gatewayRef
                    + "': run the flow event-api with realtime-streams (cmm.flows; routes/flow-groups.yaml)");
        }
        for (Map.Entry<String, String> e : patientTopics.entrySet()) {
            if (e.getValue() == null || e.getValue().isBlank()) {
                throw new IllegalArgumentException("RealtimeStreams: no topic for the patient update type " + e.getKey());
            }
        }
        gateway.addScopedStream("/patient/streams/:updateType", "/ws/patient/streams/:updateType", this::patientScope);
        gateway.addScopedStream("/staff/streams/:stream", "/ws/staff/streams/:stream", this::staffScope);
    }

    @Override
    protected void doStop() {
        // the gateway owns the routes and the sessions
    }

    /** A patient's stream: the portal topic of the update type, only the records keyed by the token's patient. */
    StreamScope.Target patientScope(Caller caller, RoutingContext request) {
        String type = request.pathParam("updateType");
        String topic = patientTopics.get(type);
        if (topic == null) {
            throw new ApiException(404, "No patient stream '" + safe(type) + "'; the update types are "
                    + patientTopics.keySet() + ".");
        }
        if (caller == null) {
            throw new ApiException(403, "Patient streams need access control on: the patient comes from the token.");
        }
        String refusal = null;
        if (caller.patient() == null) {
            refusal = "the token carries no patient claim";
        } else if (!patientRoles.isEmpty() && !caller.holdsAny(patientRoles)) {
            refusal = "needs one of " + patientRoles;
        }
        if (refusal != null) {
            refuse(caller, "patient/streams/" + type, refusal, request);
        }
        String patient = caller.patient();
        return new StreamScope.Target(topic, r -> patient.equals(r.key()));
    }

    /** A staff stream: the configured topic, whole, for the roles configured for it. */
    StreamScope.Target staffScope(Caller caller, RoutingContext request) {
        String name = request.pathParam("stream");
        StaffStream stream = staffStreams.get(name);
        if (stream == null) {
            throw new ApiException(404, "No staff stream '" + safe(name) + "'; the streams are "
                    + staffStreams.keySet() + ".");
        }
        if (caller != null) {
            if (caller.patient() != null) {
                refuse(caller, "staff/streams/" + name, "a patient's token cannot read staff streams", request);
            }
            if (!caller.holdsAny(stream.roles())) {
                refuse(caller, "staff/streams/" + name, "needs one of " + stream.roles(), request);
            }
        }
        return new StreamScope.Target(stream.topic(), null);
    }

    private void refuse(Caller caller, String stream, String reason, RoutingContext request) {
        try {
            String address = request.request().remoteAddress() == null ? null
                    : request.request().remoteAddress().hostAddress();
            AuditSink.of(camelContext).record(AuditEvent.authorization("http", caller.name(), "Read", "Stream", stream,
                    false, address, reason));
        } catch (RuntimeException e) {
            // the refusal stands; the sink logs its own failure
        }
        throw new ApiException(403, "Not authorized to read this stream: " + reason + ".");
    }

    private static String safe(String value) {
        return value == null ? "" : value.replaceAll("[^A-Za-z0-9._-]", "?").substring(0, Math.min(value.length(), 40));
    }

    private static List<String> list(String value, String separator) {
        return value == null ? List.of() : java.util.Arrays.stream(value.split(separator)).map(String::trim)
                .filter(s -> !s.isEmpty()).toList();
    }

    /** {@code GET /patient/streams}: the update types and staff streams served (JSON). */
    @Override
    public void process(org.apache.camel.Exchange exchange) {
        org.apache.camel.Message m = exchange.getMessage();
        m.removeHeaders("*");
        m.setHeader(org.apache.camel.Exchange.HTTP_RESPONSE_CODE, 200);
        m.setHeader(org.apache.camel.Exchange.CONTENT_TYPE, "application/json");
        m.setBody(describe());
    }

    /** The update types a patient may stream and the staff streams, as JSON. */
    String describe() {
        StringBuilder json = new StringBuilder("{\"patient\":[");
        json.append(String.join(",", patientTopics.keySet().stream().map(t -> "\"" + t + "\"").toList()));
        json.append("],\"staff\":[");
        json.append(String.join(",", staffStreams.keySet().stream().map(t -> "\"" + t + "\"").toList()));
        return json.append("]}").toString();
    }
}
