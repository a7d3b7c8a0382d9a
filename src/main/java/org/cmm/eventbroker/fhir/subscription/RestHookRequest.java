package org.cmm.eventbroker.fhir.subscription;

import java.util.Map;

/**
 * One rest-hook POST as {@link RestHookRequestBuilder} made it from a notification record.
 *
 * @param url         the Subscription's {@code channel.endpoint}
 * @param headers     the Subscription's {@code channel.header} entries (name, value)
 * @param contentType Content-Type of the body; null when the body is empty by design
 * @param body        the body, possibly empty
 * @param timeoutMs   connect and response timeout of the POST
 */
public record RestHookRequest(String url, Map<String, String> headers, String contentType, byte[] body, long timeoutMs) {
}
