package dev.warden.proxy.privilege;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

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
 */
public final class RoleNames {

    static final int MAX_BYTES = 63;
    private static final int HASH_HEX = 16;

    private RoleNames() {
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
