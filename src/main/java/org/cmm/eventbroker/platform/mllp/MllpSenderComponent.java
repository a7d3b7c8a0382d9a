package org.cmm.eventbroker.platform.mllp;

import java.util.Map;

import org.apache.camel.Endpoint;
import org.apache.camel.spi.annotations.Component;
import org.apache.camel.support.DefaultComponent;

/**
 * Sends HL7 v2 over MLLP and waits for the peer's ACK, failing unless the ACK accepts exactly the message sent. The
 * outbound flows (orders to the LIS and the pharmacy, results and dispensing to the EHR) commit a Kafka offset only
 * when this producer returned normally.
 *
 * <p>TLS is set once for every sender, on the component ({@code camel.component.mllp-sender.*} in
 * config/mllp-security.properties), never per route: on when {@link #setTlsEnabled tlsEnabled} or
 * {@code cmm.security.enabled=true}; the peer is verified against the truststore of
 * {@link org.cmm.eventbroker.platform.security.TlsMaterial} (and its certificate must name the host connected to).
 */
@Component("mllp-sender")
public class MllpSenderComponent extends DefaultComponent {

    private boolean tlsEnabled;
    private boolean verifyHostname = true;

    public boolean isTlsEnabled() {
        return tlsEnabled;
    }

    /** MLLP over TLS to every peer ({@code cmm.mllp.tls.enabled}); also on whenever {@code cmm.security.enabled}. */
    public void setTlsEnabled(boolean tlsEnabled) {
        this.tlsEnabled = tlsEnabled;
    }

    public boolean isVerifyHostname() {
        return verifyHostname;
    }

    /** Whether the peer's certificate must name the host connected to (SAN), as HTTPS checks it. */
    public void setVerifyHostname(boolean verifyHostname) {
        this.verifyHostname = verifyHostname;
    }

    /** Whether the senders speak TLS: the component's switch or the security posture. */
    public boolean tlsActive() {
        return tlsEnabled || Boolean.parseBoolean(getCamelContext().getPropertiesComponent()
                .resolveProperty(MllpListenerComponent.SECURITY_ENABLED).orElse("false").trim());
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        MllpSenderEndpoint endpoint = new MllpSenderEndpoint(uri, this);
        if (remaining != null && !remaining.isEmpty()) {
            int colon = remaining.lastIndexOf(':');
            if (colon > 0) {
                endpoint.setHost(remaining.substring(0, colon));
                endpoint.setPort(Integer.parseInt(remaining.substring(colon + 1)));
            } else {
                endpoint.setHost(remaining);
            }
        }
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
