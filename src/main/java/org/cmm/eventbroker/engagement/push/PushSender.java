package org.cmm.eventbroker.engagement.push;

import org.cmm.eventbroker.engagement.DeviceRegistration;

/** One push service's client. Answers instead of throwing: a failure is a {@link PushResult.Outcome#RETRY}. */
public interface PushSender extends AutoCloseable {

    PushResult send(DeviceRegistration device, PushMessage message);

    @Override
    default void close() {
    }
}
