package dev.warden.audit;

/**
 * A record could not be made durable in a sink. The message names the sink
 * ({@code audit sink file:/var/log/warden: No space left on device}); the proxy answers SQLSTATE 58030.
 */
public final class AuditUnavailableException extends RuntimeException {

    private final String sink;

    public AuditUnavailableException(String sink, String reason, Throwable cause) {
        super("audit sink " + sink + ": " + reason, cause);
        this.sink = sink;
    }

    public String sink() {
        return sink;
    }
}
