package dev.warden.proxy.upstream;

/**
 * The login is refused for a reason the client sees with its own SQLSTATE, not as an upstream that cannot be
 * reached: the identity's own role belongs to someone else, for instance.
 */
public class LoginRefusedException extends RuntimeException {

    private final String sqlState;

    public LoginRefusedException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
