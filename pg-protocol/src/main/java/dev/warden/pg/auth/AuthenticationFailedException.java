package dev.warden.pg.auth;

/**
 * The upstream authentication exchange failed or the server could not prove it knows the password.
 * Unchecked: callers map it to one SQLSTATE in one place rather than at every step of the exchange.
 */
public final class AuthenticationFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AuthenticationFailedException(String message) {
        super(message);
    }

    public AuthenticationFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
