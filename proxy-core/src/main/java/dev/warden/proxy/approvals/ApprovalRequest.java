package dev.warden.proxy.approvals;

import dev.warden.identity.Identity;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One held statement waiting for a decision. Made by {@link ApprovalService#newRequest}, which fills in the id
 * and the times.
 *
 * @param statement       the statement as approvers see it: with literals replaced when the audit policy
 *                        redacts them ({@code statement_literals: redact}), else exactly as sent
 * @param reason          why the requester runs it ({@code SET warden.reason} or a leading
 *                        {@code /* reason: ... *}{@code /} comment); empty when none was given
 * @param statementSha256 SHA-256 (hex) of the exact text sent, so retry mode matches the very statement that was
 *                        approved even when {@code statement} is redacted
 */
public record ApprovalRequest(String id, Identity requester, String environment, String statement,
                              String fingerprint, String rule, Set<String> approvers, String reason,
                              String sessionId, Instant createdAt, Instant expiresAt, String statementSha256) {

    /** What ids look like; anything else (a path, a quote) is refused before it reaches a store. */
    static final Pattern ID = Pattern.compile("apr_[a-z2-9]{12}");
    private static final char[] ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern LEADING_REASON = Pattern.compile(
            "\\A\\s*(?:/\\*\\s*reason\\s*:\\s*(.*?)\\s*\\*/|--[ \\t]*reason[ \\t]*:[ \\t]*([^\\r\\n]*))",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern SET_REASON = Pattern.compile(
            "\\A\\s*SET\\s+(?:SESSION\\s+|LOCAL\\s+)?warden\\.reason\\s*(?:=|TO)\\s*'((?:[^']|'')*)'\\s*;?\\s*\\z",
            Pattern.CASE_INSENSITIVE);
    private static final int MAX_REASON_CHARS = 1000;

    public ApprovalRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(requester, "requester");
        Objects.requireNonNull(environment, "environment");
        Objects.requireNonNull(statement, "statement");
        fingerprint = fingerprint == null ? "" : fingerprint;
        Objects.requireNonNull(rule, "rule");
        approvers = Set.copyOf(approvers);
        reason = reason == null ? "" : reason;
        sessionId = sessionId == null ? "" : sessionId;
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(expiresAt, "expiresAt");
        statementSha256 = statementSha256 == null ? sha256(statement) : statementSha256;
    }

    /** A request whose {@code statement} is the exact text sent (nothing redacted). */
    public ApprovalRequest(String id, Identity requester, String environment, String statement, String fingerprint,
                           String rule, Set<String> approvers, String reason, String sessionId, Instant createdAt,
                           Instant expiresAt) {
        this(id, requester, environment, statement, fingerprint, rule, approvers, reason, sessionId, createdAt,
                expiresAt, sha256(statement));
    }

    /** Whether {@code sent} is exactly the text this request was made for. */
    public boolean isFor(String sent) {
        return statementSha256.equals(sha256(sent));
    }

    static String sha256(String text) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

    static String newId() {
        char[] id = new char[12];
        for (int i = 0; i < id.length; i++) {
            id[i] = ID_ALPHABET[RANDOM.nextInt(ID_ALPHABET.length)];
        }
        return "apr_" + new String(id);
    }

    public static boolean isValidId(String id) {
        return id != null && ID.matcher(id).matches();
    }

    /**
     * The reason in a statement's leading comment: {@code /* reason: fix ticket 42 *}{@code /} or
     * {@code -- reason: fix ticket 42}. Empty when the statement does not start with one.
     */
    public static Optional<String> reasonFrom(String sql) {
        if (sql == null) {
            return Optional.empty();
        }
        Matcher m = LEADING_REASON.matcher(sql);
        if (!m.find()) {
            return Optional.empty();
        }
        return clean(m.group(1) != null ? m.group(1) : m.group(2));
    }

    /**
     * The value of {@code SET warden.reason = '...'} (or {@code TO}, {@code SESSION}/{@code LOCAL}) when
     * {@code sql} is exactly such a statement; the session keeps it for the statements that follow.
     */
    public static Optional<String> reasonFromSet(String sql) {
        if (sql == null) {
            return Optional.empty();
        }
        Matcher m = SET_REASON.matcher(sql);
        return m.matches() ? clean(m.group(1).replace("''", "'")) : Optional.empty();
    }

    private static Optional<String> clean(String reason) {
        String text = reason.strip().replaceAll("\\p{Cntrl}", " ");
        if (text.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(text.length() <= MAX_REASON_CHARS ? text : text.substring(0, MAX_REASON_CHARS));
    }
}
