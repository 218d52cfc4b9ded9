package dev.warden.masking;

import dev.warden.config.Secret;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Keyed HMAC-SHA256 for the {@code hash} and {@code tokenize} strategies. With no configured key, every
 * {@link Masker} in this process shares one random key: tokens then match within the process (joins, GROUP
 * BY, repeated queries) but not across restarts or between proxies.
 */
final class Tokenizer {

    private static final byte[] PROCESS_KEY = randomKey();

    private final SecretKeySpec key;
    private final ThreadLocal<Mac> mac;

    Tokenizer(Secret configured) {
        byte[] bytes = configured.isEmpty() ? PROCESS_KEY : configured.reveal().getBytes(StandardCharsets.UTF_8);
        this.key = new SecretKeySpec(bytes, "HmacSHA256");
        this.mac = ThreadLocal.withInitial(this::newMac);
    }

    /** 32 bytes of HMAC-SHA256 over {@code b[off, off + len)}. */
    byte[] digest(byte[] b, int off, int len) {
        Mac m = mac.get();
        m.update(b, off, len);
        return m.doFinal();
    }

    private Mac newMac() {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(key);
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    private static byte[] randomKey() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return k;
    }
}
