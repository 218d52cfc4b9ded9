package dev.warden.sql;

import dev.warden.sql.Lexer.Token;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What {@code ALTER ROLE | USER role [IN DATABASE d] SET | RESET ...} changes: the settings the server applies at
 * every later login of the role ({@code pg_db_role_setting}), before the session's first statement. A role may
 * change its own without any privilege: {@code SET local_preload_libraries = 'x'} makes every later login fail, a
 * {@code search_path} points every unqualified name of later sessions elsewhere from their start.
 *
 * @param role the role named, as the server keeps a name (folded unless quoted, cut to 63 bytes), or for the
 *     keywords {@code CURRENT_USER}, {@code SESSION_USER}, {@code CURRENT_ROLE} and {@code ALL} that keyword in
 *     upper case
 * @param keyword whether {@code role} is one of those keywords (a quoted {@code "CURRENT_USER"} is a name)
 * @param change {@code SET} or {@code RESET} and the setting as written ({@code ALL} for RESET ALL), for messages
 * @param statement {@code ALTER ROLE} or {@code ALTER USER}, as written, for messages
 */
public record RoleSettingsChange(String role, boolean keyword, String change, String statement) {

    private static final Set<String> KEYWORDS = Set.of("current_user", "session_user", "current_role", "all");

    /**
     * The change {@code statement} (one statement's text, as {@link StatementFacts#text()}) makes, if it is such an
     * ALTER ROLE/USER. Read from its tokens, comments anywhere: the words that decide come before any string
     * literal, so either setting of {@code standard_conforming_strings} reads them alike.
     */
    public static Optional<RoleSettingsChange> of(String statement) {
        if (statement == null) {
            return Optional.empty();
        }
        List<Token> t = Lexer.tokenize(statement, true).tokens();
        if (t.size() < 4 || !t.get(0).isWord("alter") || !(t.get(1).isWord("role") || t.get(1).isWord("user"))) {
            return Optional.empty();
        }
        Token named = t.get(2);
        if (!named.isIdentifier()) {
            return Optional.empty();
        }
        int k = 3;
        if (t.get(k).isWord("in") && k + 2 < t.size() && t.get(k + 1).isWord("database")
                && t.get(k + 2).isIdentifier()) {
            k += 3;
        }
        if (k >= t.size() || !(t.get(k).isWord("set") || t.get(k).isWord("reset"))) {
            return Optional.empty();
        }
        boolean keyword = named.type() == Lexer.Type.WORD && KEYWORDS.contains(named.value());
        return Optional.of(new RoleSettingsChange(keyword ? named.value().toUpperCase(java.util.Locale.ROOT)
                : named.value(), keyword, change(t, k), t.get(1).isWord("user") ? "ALTER USER" : "ALTER ROLE"));
    }

    /**
     * {@code SET} or {@code RESET} (the token at {@code k}) and the setting's name as written: a word, or a custom
     * one with a dot ({@code plpgsql.extra_warnings}); {@code ALL} for RESET ALL.
     */
    static String change(List<Token> t, int k) {
        StringBuilder change = new StringBuilder(t.get(k).value().toUpperCase(java.util.Locale.ROOT));
        for (int j = k + 1; j < t.size() && j <= k + 3; j++) {
            Token part = t.get(j);
            if (j > k + 1 && !(part.isOp(".") || t.get(j - 1).isOp("."))) {
                break;
            }
            change.append(j == k + 1 ? " " : "").append(part.isWord("all") && j == k + 1 ? "ALL" : part.value());
        }
        return change.toString();
    }
}
