package org.cmm.eventbroker.engagement.push;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cmm.eventbroker.engagement.PushPlatform;
import org.cmm.eventbroker.testsupport.PayloadSchemaCheck;
import org.junit.jupiter.api.Test;

/**
 * The payload schema registered for the push delivery outcomes (schemas/cmm.notification.push.status.v1.json, channel
 * pushNotificationStatus of eventapi/topic-families.yaml) describes what PushNotificationService publishes: a device's
 * outcome with the push service's answer, and a notification's when no device was tried. A field always written, left
 * out, is refused.
 */
class PushStatusPayloadSchemaTest {

    @Test
    void deliveryOutcomesAreValidUnderCmmNotificationPushStatusV1() {
        PayloadSchemaCheck schema = PayloadSchemaCheck.of("cmm.notification.push.status.v1");
        ObjectNode device = PushNotificationService.statusEvent("n-1", "result", "device-7", PushPlatform.WEBPUSH,
                "invalid-token", 410, "Gone", 1);
        ObjectNode gaveUp = PushNotificationService.statusEvent("n-2", "appointment", "device-8", PushPlatform.FCM,
                "gave-up", 503, "UNAVAILABLE", 5);
        ObjectNode noDevice = PushNotificationService.statusEvent("n-3", "alert", null, null, "no-device", 0, null, 1);
        schema.valid(device).valid(gaveUp).valid(noDevice)
                .invalidAfter(device, s -> s.remove("outcome"), "outcome is always written")
                .invalidAfter(noDevice, s -> s.remove("at"), "at is always written")
                .invalidAfter(device, s -> s.put("outcome", "delivered"), "outcome is one of the documented values");
    }
}
