package dev.warden.proxy.privilege;

import dev.warden.config.RoleMapping;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The name of an identity's own PostgreSQL role: the prefix, then the user name as it is when it consists only
 * of lower-case ASCII letters, digits and {@code _ . @ -}, so {@code alice@example.com} becomes
 * {@code wd_alice@example.com} and reads as the person in {@code pg_stat_activity} and the server log.
 *
 * <p>Any other name (upper case, spaces, quotes, non-ASCII, or too long for PostgreSQL's 63-byte limit) keeps
 * its safe characters, with the others replaced by {@code _}, and gets {@code #} and 16 hex digits of the
 * SHA-256 of the exact user name appended. {@code #} never survives the first form, so a name of the second form
 * can never equal one of the first, and two different user names share a role only if their hashes share
 * 64 bits. The mapping is a pure function: the same identity always gets the same role.
 *
 * <p>With {@code role_names: opaque} the name is the prefix and 32 hex digits of an HMAC-SHA256, under the policy's
 * key, of the issuer and the user name: every role may read {@code pg_roles}, and readable names list everyone who
 * uses the database (an attacker's pass read colleagues' e-mail addresses there). Without the key a name cannot be
 * tested against a guessed address, as a plain hash could. Each issuer's user gets a role of their own.
 */
public final class RoleNames {

    static final int MAX_BYTES = 63;
    private static final int HASH_HEX = 16;

    private RoleNames() {
    }

    /** The role of {@code username} as {@code issuer} vouches for it, named as {@code roles} says. */
    public static String forIdentity(RoleMapping roles, String username, String issuer) {
        if (!roles.opaqueNames()) {
            return forIdentity(roles.rolePrefix(), username);
        }
        return roles.rolePrefix() + HexFormat.of().formatHex(keyedDigest(roles.nameKey().reveal(), issuer, username),
                0, OPAQUE_BYTES);
    }

    /** 128 bits: 32 hex digits. */
    private static final int OPAQUE_BYTES = 16;
    /** Keeps this use of the key apart from any other: the same key set for masking's tokens gives other bytes. */
    private static final byte[] PURPOSE = "warden per-identity role name\0".getBytes(StandardCharsets.UTF_8);

    private static byte[] keyedDigest(String key, String issuer, String username) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update(PURPOSE);
            byte[] iss = issuer.getBytes(StandardCharsets.UTF_8);
            // The issuer's length first: no issuer and user name can be cut differently into the same bytes.
            mac.update(ByteBuffer.allocate(4).putInt(iss.length).array());
            mac.update(iss);
            return mac.doFinal(username.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    public static String forIdentity(String prefix, String username) {
        StringBuilder safe = new StringBuilder(username.length());
        boolean changed = false;
        for (int i = 0; i < username.length(); i++) {
            char c = username.charAt(i);
            if (keeps(c)) {
                safe.append(c);
            } else {
                safe.append('_');
                changed = true;
            }
        }
        // Every kept character is one byte, so length in chars is length in bytes.
        if (!changed && !username.isEmpty() && prefix.length() + safe.length() <= MAX_BYTES) {
            return prefix + safe;
        }
        int room = MAX_BYTES - prefix.length() - 1 - HASH_HEX;
        String head = safe.length() > room ? safe.substring(0, room) : safe.toString();
        return prefix + head + "#" + sha256Hex(username).substring(0, HASH_HEX);
    }

    private static boolean keeps(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' || c == '-';
    }

    private static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
