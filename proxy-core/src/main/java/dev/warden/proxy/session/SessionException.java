package dev.warden.proxy.session;

/**
 * A failure that ends in an ErrorResponse to the client. Code anywhere in the proxy throws this (or a
 * cause that {@link ClientErrors} knows); only {@link ClientErrors} turns failures into wire messages.
 */
public class SessionException extends RuntimeException {

    private final String sqlState;
    private final String detail;

    public SessionException(String sqlState, String message) {
        this(sqlState, message, null, null);
    }

    public SessionException(String sqlState, String message, String detail, Throwable cause) {
        super(message, cause);
        this.sqlState = sqlState;
        this.detail = detail;
    }

    public String sqlState() {
        return sqlState;
    }

    public String detail() {
        return detail;
    }
}
