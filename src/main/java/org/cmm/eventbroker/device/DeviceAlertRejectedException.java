package org.cmm.eventbroker.device;

import org.cmm.eventbroker.platform.http.RequestRejectedException;

/**
 * An alert payload that cannot be accepted as sent (malformed, unknown device type, impossible value, clock-skewed
 * timestamp). It is dead-lettered with {@link #getMessage() the reason} in {@code dlq_reason}; an HTTP sender gets
 * 400 with the same reason. The reason names the field that is wrong and never quotes payload content.
 */
public class DeviceAlertRejectedException extends RequestRejectedException {

    public DeviceAlertRejectedException(String reason) {
        super(400, reason);
    }
}
