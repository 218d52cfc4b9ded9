package dev.warden.masking;

/** A DataRow or COPY stream that does not match its description; the proxy should end the query, not relay it. */
public final class MalformedRowException extends RuntimeException {

    public MalformedRowException(String message) {
        super(message);
    }
}
