package org.cmm.eventbroker.platform.security.audit;

import java.util.UUID;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An {@link AuditEvent} as the CloudEvent (structured JSON, spec 1.0) the audit topics carry, shaped like Confluent's
 * audit-log events: {@code type}, {@code source}, {@code subject}, {@code time}, and in {@code data}:
 * {@code authenticationInfo.principal}, {@code authorizationInfo.{granted,operation,resourceType,resourceName,
 * patternType}}, {@code request.{clientId,correlationId}}, {@code clientAddress}, {@code result.{status,message}};
 * data-access events of one partition also {@code dataAccess.{partition,logEndOffsetAtFirstRead}}.
 * Nothing of a message's contents and no secret is ever part of an {@link AuditEvent}, so none can be here.
 */
public final class AuditCloudEvents {

    /** The topic of an event's kind: {@code security.audit.authentication|authorization|data-access}. */
    public static String topic(AuditEvent.Kind kind) {
        return "security.audit." + kind.topicSuffix();
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditCloudEvents() {
    }

    public static String toJson(AuditEvent event) {
        ObjectNode root = JSON.createObjectNode();
        root.put("specversion", "1.0");
        root.put("id", UUID.randomUUID().toString());
        root.put("type", "org.cmm.eventbroker.platform.security/" + event.kind().topicSuffix());
        root.put("source", "cmm-event-broker/" + event.source());
        root.put("subject", event.resourceName() != null
                ? event.resourceType() + "=" + event.resourceName() : event.principal());
        root.put("time", event.time().toString());
        root.put("datacontenttype", "application/json");
        ObjectNode data = root.putObject("data");
        data.put("serviceName", event.source());
        data.put("methodName", event.operation());
        if (event.resourceName() != null) {
            data.put("resourceName", event.resourceName());
        }
        data.putObject("authenticationInfo").put("principal", event.principal());
        if (event.kind() != AuditEvent.Kind.AUTHENTICATION) {
            ObjectNode authz = data.putObject("authorizationInfo");
            authz.put("granted", event.granted());
            authz.put("operation", event.operation());
            authz.put("resourceType", event.resourceType());
            authz.put("resourceName", event.resourceName());
            authz.put("patternType", event.patternType());
        }
        if (event.partition() != null) {
            ObjectNode access = data.putObject("dataAccess");
            access.put("partition", event.partition());
            if (event.logEndOffset() != null) {
                access.put("logEndOffsetAtFirstRead", event.logEndOffset());
            }
        }
        ObjectNode request = data.putObject("request");
        request.put("clientId", event.clientId());
        request.put("correlationId", event.correlationId());
        if (event.clientAddress() != null) {
            data.putArray("clientAddress").addObject().put("ip", event.clientAddress());
        }
        ObjectNode result = data.putObject("result");
        result.put("status", event.granted() ? "SUCCESS"
                : event.kind() == AuditEvent.Kind.AUTHENTICATION ? "UNAUTHENTICATED" : "UNAUTHORIZED");
        if (event.reason() != null) {
            result.put("message", event.reason());
        }
        return root.toString();
    }
}
