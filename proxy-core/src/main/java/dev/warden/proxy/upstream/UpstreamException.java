package dev.warden.proxy.upstream;

/** The upstream could not be reached, refused the login, or broke the protocol during it. */
public final class UpstreamException extends RuntimeException {

    public UpstreamException(String message) {
        super(message);
    }

    public UpstreamException(String message, Throwable cause) {
        super(message, cause);
    }
}
