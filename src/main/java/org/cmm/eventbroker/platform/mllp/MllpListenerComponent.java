package org.cmm.eventbroker.platform.mllp;

import java.util.Map;

import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;

/**
 * {@code mllp-listener:host:port} — an HL7 v2 MLLP server endpoint that never loses a pipelined message.
 *
 * <p>It replaces camel-mllp's consumer, which in 4.17 drops the second of two frames that arrive in one read and
 * logs the whole message when it does (CAMEL-24668, fixed upstream in 4.22). The route decides the acknowledgement
 * by setting {@link MllpListenerHeaders#ACKNOWLEDGEMENT_CODE}; anything else (an exception, or no decision at all)
 * is answered {@code AE}, so a handled error can never turn into an {@code AA}.
 */
public class MllpListenerComponent extends DefaultComponent {

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        MllpListenerEndpoint endpoint = new MllpListenerEndpoint(uri, this);
        if (remaining != null && !remaining.isBlank()) {
            int colon = remaining.lastIndexOf(':');
            String port = colon >= 0 ? remaining.substring(colon + 1) : remaining;
            if (colon > 0) {
                endpoint.setHost(remaining.substring(0, colon));
            }
            try {
                endpoint.setPort(Integer.parseInt(port));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("mllp-listener needs host:port, got '" + remaining + "'", e);
            }
        }
        // host and port may also come as parameters (YAML "parameters:" map)
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
