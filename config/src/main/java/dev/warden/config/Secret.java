package dev.warden.config;

import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * A secret value (an upstream password). Kept as a {@code char[]} so it does not sit in the string pool and
 * so that {@link #toString()} can never print it by accident: logs and exception messages see {@code ****}.
 */
public final class Secret {

    private static final Secret NONE = new Secret(new char[0]);

    private final char[] value;

    private Secret(char[] value) {
        this.value = value;
    }

    public static Secret of(String value) {
        return value == null || value.isEmpty() ? NONE : new Secret(value.toCharArray());
    }

    public static Secret none() {
        return NONE;
    }

    /** The plain value; call it only where the secret is actually used (the upstream handshake). */
    public String reveal() {
        return new String(value);
    }

    public boolean isEmpty() {
        return value.length == 0;
    }

    @Override
    public String toString() {
        return "****";
    }

    /** Constant-time comparison, so that policy reload comparisons do not leak the value by timing. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Secret other && MessageDigest.isEqual(bytes(value), bytes(other.value));
    }

    @Override
    public int hashCode() {
        // Deliberately coarse: a hash of the value would be a fingerprint of the secret.
        return value.length;
    }

    private static byte[] bytes(char[] chars) {
        var buffer = StandardCharsets.UTF_8.encode(CharBuffer.wrap(chars));
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        Arrays.fill(buffer.array(), (byte) 0);
        return out;
    }
}
