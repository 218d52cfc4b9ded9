package dev.warden.identity;

/**
 * A token was refused. {@link #sqlState()} is {@code 28P01} (invalid_password) when the token itself is bad and
 * {@code 28000} (invalid_authorization_specification) otherwise, e.g. a user mismatch or an unreachable
 * identity provider. The message is written for the client and never contains the token.
 */
public final class AuthenticationException extends Exception {

    /** The token is malformed, forged, expired, for another audience or from an untrusted issuer. */
    public static final String INVALID_TOKEN = "28P01";
    /** The token may be fine but cannot be used for this connection, or cannot be checked right now. */
    public static final String NOT_AUTHORIZED = "28000";

    private final String sqlState;

    public AuthenticationException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState;
    }

    AuthenticationException(String sqlState, String message, Throwable cause) {
        super(message, cause);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }

    static AuthenticationException invalidToken(String message) {
        return new AuthenticationException(INVALID_TOKEN, message);
    }

    static AuthenticationException notAuthorized(String message) {
        return new AuthenticationException(NOT_AUTHORIZED, message);
    }
}
