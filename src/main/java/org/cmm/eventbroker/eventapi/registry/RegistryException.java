package org.cmm.eventbroker.eventapi.registry;

/**
 * A refusal in the Confluent Schema Registry's error shape: the HTTP status and the registry's own five-digit
 * {@code error_code} (40401 subject not found, 42201 invalid schema, ...), so Confluent clients recognise it.
 */
public class RegistryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;
    private final int errorCode;

    public RegistryException(int status, int errorCode, String message) {
        super(message);
        this.status = status;
        this.errorCode = errorCode;
    }

    public int status() {
        return status;
    }

    public int errorCode() {
        return errorCode;
    }

    static RegistryException subjectNotFound(String subject) {
        return new RegistryException(404, 40401, "Subject '" + subject + "' not found.");
    }

    static RegistryException versionNotFound(String version) {
        return new RegistryException(404, 40402, "Version " + version + " not found.");
    }

    static RegistryException schemaNotFound(String what) {
        return new RegistryException(404, 40403, what);
    }

    static RegistryException invalidSchema(String reason) {
        return new RegistryException(422, 42201, "Invalid schema: " + reason);
    }

    static RegistryException invalidVersion(String version) {
        return new RegistryException(422, 42202, "The specified version '" + version + "' is not a valid version id. "
                + "Allowed values are between [1, 2^31-1] and the string \"latest\"");
    }

    static RegistryException invalidCompatibility(String level) {
        return new RegistryException(422, 42203, "Invalid compatibility level: " + level);
    }

    static RegistryException badRequest(String reason) {
        return new RegistryException(400, 400, reason);
    }
}
