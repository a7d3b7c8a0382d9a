package org.cmm.eventbroker.fhir.subscription;

import java.util.Map;

/**
 * One rest-hook request as {@link RestHookRequestBuilder} made it from a notification record.
 *
 * @param method      {@code POST} (notification, handshake, heartbeat, backport bundle), {@code PUT} (R4 payload:
 *                    the resource) or {@code DELETE} (R4 payload, resource deleted)
 * @param url         the Subscription's {@code channel.endpoint}, for PUT and DELETE followed by {@code /<type>/<id>}
 * @param headers     the Subscription's {@code channel.header} entries (name, value)
 * @param contentType Content-Type of the body; null when the body is empty by design
 * @param body        the body, possibly empty
 * @param timeoutMs   connect and response timeout of the request
 */
public record RestHookRequest(String method, String url, Map<String, String> headers, String contentType, byte[] body,
                              long timeoutMs) {
}
