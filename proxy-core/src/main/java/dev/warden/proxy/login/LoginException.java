package dev.warden.proxy.login;

/** A login or token problem worth a plain sentence to the user; the message never carries a token. */
public final class LoginException extends Exception {

    public LoginException(String message) {
        super(message);
    }

    public LoginException(String message, Throwable cause) {
        super(message, cause);
    }
}
