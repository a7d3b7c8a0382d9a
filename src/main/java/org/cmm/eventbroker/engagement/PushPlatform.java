package org.cmm.eventbroker.engagement;

import java.util.Locale;
import java.util.Optional;

/** The push services a device can be reached through; the name is what apps send when they register. */
public enum PushPlatform {
    /** A browser or PWA: RFC 8030 delivery to the subscription's endpoint, RFC 8291 encryption, RFC 8292 VAPID. */
    WEBPUSH,
    /** An iOS app: APNs over HTTP/2 with a provider token. */
    APNS,
    /** An Android app: FCM HTTP v1 with a service-account OAuth2 token. */
    FCM;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<PushPlatform> of(String name) {
        for (PushPlatform p : values()) {
            if (p.wireName().equals(name)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
