package org.cmm.eventbroker.engagement.push;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;

import javax.net.ssl.SSLContext;

import org.cmm.eventbroker.engagement.DeviceRegistration;

/**
 * Web Push (RFC 8030): the message encrypted for the subscription ({@link WebPushEncryption}), POSTed to its
 * endpoint with VAPID ({@link Vapid}), a TTL and an urgency. 201 accepted; 404/410 the subscription is gone.
 */
public final class WebPushSender implements PushSender {

    private final Vapid vapid;
    private final HttpClient http;
    private final Duration timeout;
    private final int ttlSeconds;

    public WebPushSender(Vapid vapid, SSLContext tls, Duration timeout, int ttlSeconds) {
        this.vapid = vapid;
        this.http = HttpClient.newBuilder().sslContext(tls).connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.timeout = timeout;
        this.ttlSeconds = ttlSeconds;
    }

    @Override
    public PushResult send(DeviceRegistration device, PushMessage message) {
        try {
            URI endpoint = URI.create(device.endpoint());
            byte[] body = WebPushEncryption.encrypt(message.json(), Base64.getUrlDecoder().decode(device.p256dh()),
                    Base64.getUrlDecoder().decode(device.auth()));
            HttpRequest request = HttpRequest.newBuilder(endpoint).timeout(timeout)
                    .header("Authorization", vapid.authorization(endpoint))
                    .header("Content-Encoding", "aes128gcm")
                    .header("Content-Type", "application/octet-stream")
                    .header("TTL", Integer.toString(ttlSeconds))
                    .header("Urgency", "alert".equals(message.type()) ? "high" : "normal")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
            HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
            int status = response.statusCode();
            return PushResult.of(PushResult.byHttpStatus(status), status, "HTTP " + status);
        } catch (IOException e) {
            return PushResult.of(PushResult.Outcome.RETRY, 0, e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return PushResult.of(PushResult.Outcome.RETRY, 0, "interrupted");
        } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
            return PushResult.of(PushResult.Outcome.REJECTED, 0, "subscription unusable: " + e.getClass().getSimpleName());
        }
    }
}
