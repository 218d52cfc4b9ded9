package dev.warden.sql;

import dev.warden.sql.Lexer.Token;

import java.util.List;
import java.util.Optional;

/**
 * What {@code ALTER DATABASE d SET | RESET ...} changes: the settings the server applies at every later login to
 * {@code d}, of every role ({@code pg_db_role_setting} with no role), before the session's first statement. The
 * database's owner may change them, and a role owns what a role it is a member of owns: an identity whose mapped role
 * owns the database (or that shares the upstream user with everyone) could set {@code local_preload_libraries} or a
 * {@code search_path} for every other identity's sessions.
 *
 * @param database the database named, as the server keeps a name (folded unless quoted)
 * @param change {@code SET} or {@code RESET} and the setting as written ({@code ALL} for RESET ALL), for messages
 */
public record DatabaseSettingsChange(String database, String change) {

    /**
     * The change {@code statement} (one statement's text, as {@link StatementFacts#text()}) makes, if it is such an
     * ALTER DATABASE; {@code SET TABLESPACE} moves the database and changes no setting. Read from the tokens, as
     * {@link RoleSettingsChange#of} reads ALTER ROLE.
     */
    public static Optional<DatabaseSettingsChange> of(String statement) {
        if (statement == null) {
            return Optional.empty();
        }
        List<Token> t = Lexer.tokenize(statement, true).tokens();
        if (t.size() < 4 || !t.get(0).isWord("alter") || !t.get(1).isWord("database") || !t.get(2).isIdentifier()
                || !(t.get(3).isWord("set") || t.get(3).isWord("reset"))) {
            return Optional.empty();
        }
        if (t.get(3).isWord("set") && t.size() > 4 && t.get(4).isWord("tablespace")) {
            return Optional.empty();
        }
        return Optional.of(new DatabaseSettingsChange(t.get(2).value(), RoleSettingsChange.change(t, 3)));
    }
}
