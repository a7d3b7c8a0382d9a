package org.cmm.eventbroker.device;

import org.cmm.eventbroker.platform.http.RequestRejectedException;

/**
 * A device reading that cannot be accepted as sent (malformed, unknown device or data type, impossible value, clock
 * skew): it goes, untouched, to the dead-letter topic with this reason, and an HTTP gateway is answered
 * {@link #getStatus() 4xx}. The reason is logged and sent back, so it names the field and the rule, never a patient.
 */
public class DeviceReadingRejectedException extends RequestRejectedException {

    public DeviceReadingRejectedException(int status, String reason) {
        super(status, reason);
    }

    public DeviceReadingRejectedException(String reason) {
        this(400, reason);
    }
}
