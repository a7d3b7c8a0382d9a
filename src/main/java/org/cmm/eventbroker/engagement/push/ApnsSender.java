package org.cmm.eventbroker.engagement.push;

import java.io.File;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.eatthepath.pushy.apns.ApnsClient;
import com.eatthepath.pushy.apns.ApnsClientBuilder;
import com.eatthepath.pushy.apns.DeliveryPriority;
import com.eatthepath.pushy.apns.PushNotificationResponse;
import com.eatthepath.pushy.apns.PushType;
import com.eatthepath.pushy.apns.auth.ApnsSigningKey;
import com.eatthepath.pushy.apns.util.SimpleApnsPushNotification;
import org.cmm.eventbroker.engagement.DeviceRegistration;

/**
 * APNs over HTTP/2 with a provider token (an ES256 JWT from the team's {@code .p8} key, renewed by Pushy), on the
 * Netty that Vert.x brings. 410 or the reasons {@code Unregistered}, {@code BadDeviceToken},
 * {@code DeviceTokenNotForTopic}: the token is gone; 429 and 5xx: retried.
 */
public final class ApnsSender implements PushSender {

    private final ApnsClient client;
    private final String topic;
    private final Duration timeout;

    /**
     * @param trusted the CAs the APNs server is checked against; empty: the JDK's default ones
     */
    public ApnsSender(String host, int port, File signingKey, String teamId, String keyId, String topic,
            X509Certificate[] trusted, Duration timeout) throws Exception {
        ApnsClientBuilder builder = new ApnsClientBuilder().setApnsServer(host, port)
                .setSigningKey(ApnsSigningKey.loadFromPkcs8File(signingKey, teamId, keyId))
                .setConnectionTimeout(timeout);
        if (trusted.length > 0) {
            builder.setTrustedServerCertificateChain(trusted);
        }
        this.client = builder.build();
        this.topic = topic;
        this.timeout = timeout;
    }

    @Override
    public PushResult send(DeviceRegistration device, PushMessage message) {
        SimpleApnsPushNotification notification = new SimpleApnsPushNotification(device.token(), topic,
                message.apnsJson(), Instant.now().plus(Duration.ofDays(1)),
                "alert".equals(message.type()) ? DeliveryPriority.IMMEDIATE : DeliveryPriority.CONSERVE_POWER,
                PushType.ALERT);
        try {
            PushNotificationResponse<SimpleApnsPushNotification> response = client.sendNotification(notification)
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            int status = response.getStatusCode();
            if (response.isAccepted()) {
                return PushResult.of(PushResult.Outcome.ACCEPTED, status, "accepted");
            }
            String reason = response.getRejectionReason().orElse("HTTP " + status);
            if (status == 410 || "Unregistered".equals(reason) || "BadDeviceToken".equals(reason)
                    || "DeviceTokenNotForTopic".equals(reason) || "ExpiredToken".equals(reason)) {
                return PushResult.of(PushResult.Outcome.INVALID_TOKEN, status, reason);
            }
            return PushResult.of(PushResult.byHttpStatus(status) == PushResult.Outcome.RETRY
                    ? PushResult.Outcome.RETRY : PushResult.Outcome.REJECTED, status, reason);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return PushResult.of(PushResult.Outcome.RETRY, 0, "interrupted");
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            return PushResult.of(PushResult.Outcome.RETRY, 0, cause.getClass().getSimpleName());
        }
    }

    @Override
    public void close() {
        try {
            client.close().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            Thread.currentThread().interrupt();
        }
    }
}
