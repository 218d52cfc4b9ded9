package dev.warden.pg.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** PostgreSQL's legacy MD5 password answer: "md5" + hex(md5(hex(md5(password + user)) + salt)). */
public final class Md5Password {
    private Md5Password() {
    }

    public static String encode(String user, String password, byte[] salt) {
        if (salt.length != 4) {
            throw new IllegalArgumentException("MD5 salt must be 4 bytes, got " + salt.length);
        }
        MessageDigest md5 = md5();
        md5.update(password.getBytes(StandardCharsets.UTF_8));
        md5.update(user.getBytes(StandardCharsets.UTF_8));
        String inner = HexFormat.of().formatHex(md5.digest());
        md5.update(inner.getBytes(StandardCharsets.US_ASCII));
        md5.update(salt);
        return "md5" + HexFormat.of().formatHex(md5.digest());
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is required by every Java platform", e);
        }
    }
}
