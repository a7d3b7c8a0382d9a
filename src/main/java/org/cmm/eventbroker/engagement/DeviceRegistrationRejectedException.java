package org.cmm.eventbroker.engagement;

import org.cmm.eventbroker.platform.http.RequestRejectedException;

/**
 * A device registration that cannot be accepted as sent: answered 4xx with the reason. Not dead-lettered: the body
 * holds push credentials (tokens, subscription keys) that must not be kept where they are not used.
 */
public class DeviceRegistrationRejectedException extends RequestRejectedException {

    public DeviceRegistrationRejectedException(int status, String reason) {
        super(status, reason);
    }
}
