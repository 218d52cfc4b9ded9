package dev.warden.proxy.privilege;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A SCRAM-SHA-256 verifier in the form PostgreSQL stores ({@code SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey},
 * RFC 5802/7677). Warden sends the verifier, never the password, in {@code ALTER ROLE ... PASSWORD}, so the
 * password appears in no server log even with {@code log_statement = all}.
 */
final class ScramVerifier {

    /** PostgreSQL's default. The passwords are 256 random bits, so the count is not what protects them. */
    static final int ITERATIONS = 4096;
    private static final SecureRandom RANDOM = new SecureRandom();

    private ScramVerifier() {
    }

    /** A fresh random password of printable ASCII (SASLprep leaves it unchanged). */
    static String randomPassword() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static String of(String password) {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        try {
            SecretKeyFactory pbkdf2 = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
            byte[] salted = pbkdf2.generateSecret(new PBEKeySpec(password.toCharArray(), salt, ITERATIONS, 256))
                    .getEncoded();
            byte[] clientKey = hmac(salted, "Client Key");
            byte[] storedKey = MessageDigest.getInstance("SHA-256").digest(clientKey);
            byte[] serverKey = hmac(salted, "Server Key");
            Base64.Encoder b64 = Base64.getEncoder();
            return "SCRAM-SHA-256$" + ITERATIONS + ":" + b64.encodeToString(salt) + "$"
                    + b64.encodeToString(storedKey) + ":" + b64.encodeToString(serverKey);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2 and HMAC-SHA-256 are part of every Java runtime", e);
        }
    }

    private static byte[] hmac(byte[] key, String text) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(text.getBytes(StandardCharsets.US_ASCII));
    }
}
