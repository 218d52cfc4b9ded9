package dev.warden.pg.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it: no channel binding (gs2 header
 * "n,,") and an empty user name, since the server takes the user from the startup packet. One instance per
 * exchange: {@link #clientFirstMessage()}, then {@link #clientFinalMessage(byte[])}, then
 * {@link #verifyServerFinal(byte[])}. The last step matters: it proves the upstream knows the password and
 * is not an impostor that merely accepted ours.
 */
public final class ScramSha256Client {
    public static final String MECHANISM = "SCRAM-SHA-256";

    private static final String GS2_HEADER = "n,,";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] preparedPassword;
    private final String clientFirstBare;
    private final String clientNonce;
    private String expectedServerSignature;
    private boolean finalSent;

    public ScramSha256Client(String password) {
        this(password, "", randomNonce());
    }

    /** For tests: reproduces published vectors, which use a fixed nonce and a non-empty user name. */
    ScramSha256Client(String password, String username, String clientNonce) {
        this.preparedPassword = SaslPrep.prepare(password);
        this.clientNonce = clientNonce;
        this.clientFirstBare = "n=" + escapeName(username) + ",r=" + clientNonce;
    }

    private static String randomNonce() {
        byte[] bytes = new byte[18];
        RANDOM.nextBytes(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }

    private static String escapeName(String name) {
        return name.replace("=", "=3D").replace(",", "=2C");
    }

    /** The SASLInitialResponse payload. */
    public byte[] clientFirstMessage() {
        return (GS2_HEADER + clientFirstBare).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Answers the server-first message (from AuthenticationSASLContinue) with the client proof.
     *
     * @throws AuthenticationFailedException if the server-first message is malformed, its nonce does not
     *                                       extend ours, or its iteration count is not positive
     */
    public byte[] clientFinalMessage(byte[] serverFirstMessage) {
        if (finalSent) {
            throw new IllegalStateException("clientFinalMessage was already called for this exchange");
        }
        String serverFirst = new String(serverFirstMessage, StandardCharsets.UTF_8);
        if (serverFirst.startsWith("m=")) {
            throw new AuthenticationFailedException("upstream SCRAM server requires an unsupported extension");
        }
        String nonce = null;
        String salt = null;
        String iterations = null;
        for (String attribute : serverFirst.split(",", -1)) {
            if (attribute.startsWith("r=") && nonce == null) {
                nonce = attribute.substring(2);
            } else if (attribute.startsWith("s=") && salt == null) {
                salt = attribute.substring(2);
            } else if (attribute.startsWith("i=") && iterations == null) {
                iterations = attribute.substring(2);
            }
        }
        if (nonce == null || salt == null || iterations == null) {
            throw new AuthenticationFailedException("malformed upstream SCRAM server-first message");
        }
        if (!nonce.startsWith(clientNonce) || nonce.length() == clientNonce.length()) {
            throw new AuthenticationFailedException("upstream SCRAM server nonce does not extend the client nonce");
        }
        int count;
        try {
            count = Integer.parseInt(iterations);
        } catch (NumberFormatException e) {
            throw new AuthenticationFailedException("invalid upstream SCRAM iteration count");
        }
        if (count < 1) {
            throw new AuthenticationFailedException("invalid upstream SCRAM iteration count " + count);
        }
        byte[] saltBytes;
        try {
            saltBytes = Base64.getDecoder().decode(salt);
        } catch (IllegalArgumentException e) {
            throw new AuthenticationFailedException("invalid upstream SCRAM salt encoding");
        }

        String withoutProof = "c=" + Base64.getEncoder().encodeToString(
                GS2_HEADER.getBytes(StandardCharsets.US_ASCII)) + ",r=" + nonce;
        byte[] authMessage = (clientFirstBare + "," + serverFirst + "," + withoutProof)
                .getBytes(StandardCharsets.UTF_8);

        byte[] saltedPassword = SALTED.get(preparedPassword, saltBytes, count);
        byte[] clientKey = hmac(saltedPassword, "Client Key".getBytes(StandardCharsets.US_ASCII));
        byte[] storedKey = sha256(clientKey);
        byte[] clientSignature = hmac(storedKey, authMessage);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) {
            proof[i] = (byte) (clientKey[i] ^ clientSignature[i]);
        }
        byte[] serverKey = hmac(saltedPassword, "Server Key".getBytes(StandardCharsets.US_ASCII));
        expectedServerSignature = Base64.getEncoder().encodeToString(hmac(serverKey, authMessage));
        finalSent = true;
        return (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Checks the server-final message (from AuthenticationSASLFinal).
     *
     * @throws AuthenticationFailedException if the server reports an error or its signature is wrong
     */
    public void verifyServerFinal(byte[] serverFinalMessage) {
        if (!finalSent) {
            throw new IllegalStateException("verifyServerFinal called before clientFinalMessage");
        }
        String serverFinal = new String(serverFinalMessage, StandardCharsets.UTF_8);
        if (serverFinal.startsWith("e=")) {
            throw new AuthenticationFailedException("upstream reported SCRAM error: " + serverFinal.split(",", 2)[0]);
        }
        if (!serverFinal.startsWith("v=")) {
            throw new AuthenticationFailedException("malformed upstream SCRAM server-final message");
        }
        String signature = serverFinal.substring(2).split(",", 2)[0];
        if (!MessageDigest.isEqual(signature.getBytes(StandardCharsets.US_ASCII),
                expectedServerSignature.getBytes(StandardCharsets.US_ASCII))) {
            throw new AuthenticationFailedException("upstream SCRAM server signature mismatch");
        }
    }

    /**
     * SaltedPassword by password, salt and iteration count. PostgreSQL keeps one salt and count per role, so
     * every login of a Warden to the same upstream role derives the same 4,096 HMACs again, on the event loop
     * that runs the login; PgBouncer keeps the derived keys likewise. Held as the password is: in memory only.
     */
    private static final SaltedPasswords SALTED = new SaltedPasswords(64);

    /** Hi() from RFC 5802: PBKDF2 with HMAC-SHA-256 and one output block. */
    private static byte[] hi(byte[] password, byte[] salt, int iterations) {
        Mac mac = mac(password);
        mac.update(salt);
        mac.update(new byte[] {0, 0, 0, 1});
        byte[] u = mac.doFinal();
        byte[] result = u.clone();
        for (int i = 1; i < iterations; i++) {
            u = mac.doFinal(u);
            for (int j = 0; j < result.length; j++) {
                result[j] ^= u[j];
            }
        }
        return result;
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        return mac(key).doFinal(data);
    }

    private static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            // SecretKeySpec refuses an empty key; HMAC pads keys with zeros, so one zero byte is equivalent.
            mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is required by every Java platform", e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    /** A bounded, least-recently-used map from (password, salt, count) to Hi()'s result. */
    static final class SaltedPasswords {
        private final java.util.Map<String, byte[]> entries;

        SaltedPasswords(int capacity) {
            this.entries = new java.util.LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<String, byte[]> eldest) {
                    return size() > capacity;
                }
            };
        }

        byte[] get(byte[] password, byte[] salt, int iterations) {
            String key = key(password, salt, iterations);
            synchronized (entries) {
                byte[] known = entries.get(key);
                if (known != null) {
                    return known.clone();
                }
            }
            byte[] derived = hi(password, salt, iterations);
            synchronized (entries) {
                entries.put(key, derived.clone());
            }
            return derived;
        }

        int size() {
            synchronized (entries) {
                return entries.size();
            }
        }

        /** A digest, so the map's keys do not hold the password itself. */
        private static String key(byte[] password, byte[] salt, int iterations) {
            try {
                MessageDigest d = MessageDigest.getInstance("SHA-256");
                d.update(java.nio.ByteBuffer.allocate(8).putInt(password.length).putInt(iterations).array());
                d.update(password);
                d.update(salt);
                return Base64.getEncoder().encodeToString(d.digest());
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("SHA-256 is required by every Java platform", e);
            }
        }
    }
}
