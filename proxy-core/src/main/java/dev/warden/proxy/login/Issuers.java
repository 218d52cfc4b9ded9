package dev.warden.proxy.login;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Issuer URLs compared and hashed the same way everywhere, whatever trailing slash the user typed. */
final class Issuers {

    private Issuers() {
    }

    static String normalize(String issuer) {
        String s = issuer.trim();
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    static String sha256(String issuer) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(normalize(issuer).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
