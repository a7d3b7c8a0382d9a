package org.cmm.eventbroker.engagement.portal;

/** Headers of the patient portal records. */
public final class PortalHeaders {

    /** The patient (the portal record's key, and the push notification's recipient {@code patient/<id>}). */
    public static final String PATIENT = "portal_patient_id";
    /** The push notification type the update raises: result, medication, appointment. */
    public static final String NOTIFICATION_TYPE = "portal_notification_type";
    /** Epoch milliseconds before which a held update is not released (on the held-updates topic). */
    public static final String RELEASE_AT = "portal_release_at";
    /** The portal topic a held update goes to once released. */
    public static final String PORTAL_TOPIC = "portal_topic";

    private PortalHeaders() {
    }
}
