package dev.warden.sql;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * What PostgreSQL's command tag (the text of CommandComplete) says about a statement, compared with what Warden
 * analysed: the knowledge behind the proxy's tripwire. {@link #agrees} is true when the server could have
 * reported {@code tag} for a statement with these facts.
 *
 * <p>Strict where a tag names the statement (an analysis of {@code SELECT} never agrees with {@code DROP TABLE},
 * {@code DELETE 3} or {@code INSERT 0 1}), tolerant exactly where PostgreSQL legitimately varies (13–17, checked
 * against the server by {@code CommandTagsAgainstPostgresTest}):
 * <ul>
 *   <li>{@code CREATE TABLE AS}, {@code CREATE MATERIALIZED VIEW AS} and {@code SELECT INTO} report
 *       {@code SELECT n} ({@code CREATE TABLE AS} / {@code CREATE MATERIALIZED VIEW} when {@code WITH NO DATA});
 *   <li>{@code COMMIT} (and {@code END}, {@code PREPARE TRANSACTION}) of a failed transaction reports
 *       {@code ROLLBACK}; {@code PREPARE TRANSACTION} (kind COMMIT here) reports {@code PREPARE TRANSACTION};
 *       {@code COMMIT PREPARED} / {@code ROLLBACK PREPARED} report themselves; {@code ABORT} and
 *       {@code ROLLBACK TO SAVEPOINT} report {@code ROLLBACK};
 *   <li>{@code START TRANSACTION} reports itself, {@code BEGIN} reports {@code BEGIN} (both kind BEGIN);
 *   <li>{@code EXECUTE} reports the tag of the statement it executes: checked against that statement when the
 *       caller knows it ({@link #agrees(StatementFacts, String, Function)}), otherwise any tag;
 *   <li>{@code WITH ... INSERT} reports {@code INSERT} (the analysis gives kind INSERT);
 *   <li>{@code GRANT}/{@code REVOKE} of a role report {@code GRANT ROLE}/{@code REVOKE ROLE};
 *   <li>CREATE/ALTER/DROP of {@code USER} or {@code GROUP} report {@code ROLE}; ALTER of a relation may report
 *       {@code ALTER TABLE} (renaming a view's column did before PostgreSQL 13); an object type Warden did not
 *       recognise agrees with any tag of the same verb;
 *   <li>{@code SET CONSTRAINTS} reports {@code SET CONSTRAINTS}; {@code RESET ROLE} and
 *       {@code RESET SESSION AUTHORIZATION} report {@code RESET}; {@code DISCARD x} reports {@code DISCARD x}
 *       ({@code TEMPORARY} as {@code TEMP}); {@code CLOSE ALL} reports {@code CLOSE CURSOR ALL};
 *   <li>kind {@link StatementKind#OTHER}: Warden makes no claim, so every answer agrees;
 *   <li>kind {@link StatementKind#EMPTY} is answered by EmptyQueryResponse ({@link #EMPTY_QUERY_RESPONSE}) and
 *       by nothing else; no other kind agrees with it.
 * </ul>
 * Row counts ({@code SELECT 5}, {@code INSERT 0 5}, {@code FETCH 5}) are not compared; their presence is.
 */
public final class CommandTags {

    /** The server's answer to a text with no statement: EmptyQueryResponse, which has no tag. */
    public static final String EMPTY_QUERY_RESPONSE = "EmptyQueryResponse";

    /** Object types that the server's tag spells out, as the analysis reports them (upper case). */
    private static final Set<String> NAMED_TYPES = Set.of("TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE",
            "SEQUENCE", "INDEX", "FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE", "OPERATOR", "OPERATOR CLASS",
            "OPERATOR FAMILY", "TYPE", "DOMAIN", "CAST", "COLLATION", "CONVERSION", "TEXT SEARCH PARSER",
            "TEXT SEARCH DICTIONARY", "TEXT SEARCH TEMPLATE", "TEXT SEARCH CONFIGURATION", "LANGUAGE",
            "ACCESS METHOD", "FOREIGN DATA WRAPPER", "SERVER", "USER MAPPING", "EXTENSION", "SCHEMA", "ROLE",
            "DATABASE", "TABLESPACE", "EVENT TRIGGER", "PUBLICATION", "SUBSCRIPTION", "STATISTICS",
            "DEFAULT PRIVILEGES", "LARGE OBJECT", "TRIGGER", "RULE", "POLICY", "TRANSFORM");

    private static final Set<String> RELATION_TYPES = Set.of("TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE",
            "SEQUENCE", "INDEX");

    private CommandTags() {
    }

    /**
     * Whether the server may report {@code tag} (a CommandComplete tag, or {@link #EMPTY_QUERY_RESPONSE}) for
     * a statement with these facts. {@code EXECUTE} agrees with any tag here: use
     * {@link #agrees(StatementFacts, String, Function)} when the prepared statements are known.
     */
    public static boolean agrees(StatementFacts facts, String tag) {
        return agrees(facts, tag, name -> Optional.empty());
    }

    /**
     * As {@link #agrees(StatementFacts, String)}, and an {@code EXECUTE name} is checked against the facts of
     * the statement prepared under that name, when {@code prepared} knows it.
     */
    public static boolean agrees(StatementFacts facts, String tag,
                                 Function<String, Optional<StatementFacts>> prepared) {
        return agrees(facts, tag, prepared, 0);
    }

    private static boolean agrees(StatementFacts facts, String tag,
                                  Function<String, Optional<StatementFacts>> prepared, int depth) {
        Objects.requireNonNull(facts, "facts");
        Objects.requireNonNull(tag, "tag");
        StatementKind kind = facts.kind();
        if (kind == StatementKind.OTHER) {
            return true;
        }
        if (tag.equals(EMPTY_QUERY_RESPONSE) || kind == StatementKind.EMPTY) {
            return tag.equals(EMPTY_QUERY_RESPONSE) && kind == StatementKind.EMPTY;
        }
        // The verb's end, not the verb: a substring per answer is garbage on every statement's path.
        int end = verbEnd(tag);
        boolean counted = end != tag.length();
        return switch (kind) {
            case SELECT -> counted && verbIs(tag, end, "SELECT");
            case INSERT -> counted && verbIs(tag, end, "INSERT");
            case UPDATE -> counted && verbIs(tag, end, "UPDATE");
            case DELETE -> counted && verbIs(tag, end, "DELETE");
            case MERGE -> counted && verbIs(tag, end, "MERGE");
            case COPY -> counted && verbIs(tag, end, "COPY");
            case FETCH -> counted && verbIs(tag, end, "FETCH");
            case MOVE -> counted && verbIs(tag, end, "MOVE");
            case CREATE -> !counted ? objectTag("CREATE", facts.objectType(), tag)
                    : verbIs(tag, end, "SELECT") && createsFromQuery(facts.objectType());
            case ALTER -> !counted && objectTag("ALTER", facts.objectType(), tag);
            case DROP -> !counted && objectTag("DROP", facts.objectType(), tag);
            case EXECUTE -> executed(facts, tag, prepared, depth);
            default -> !counted && fixedTags(kind, facts.objectType()).contains(tag);
        };
    }

    /**
     * How a statement reads to Warden, for audit records and logs: its kind, and its object type when it has
     * one ({@code SELECT}, {@code DROP TABLE}, {@code SET_ROLE}).
     */
    public static String reading(StatementFacts facts) {
        return facts.objectType().isEmpty() ? facts.kind().name() : facts.kind().name() + " " + facts.objectType();
    }

    /** The tag without its trailing counts: {@code INSERT 0 5} → {@code INSERT}. */
    static String verb(String tag) {
        return tag.substring(0, verbEnd(tag));
    }

    /** Where {@link #verb} ends in {@code tag}: its length when the tag has no trailing counts. */
    private static int verbEnd(String tag) {
        int end = tag.length();
        while (true) {
            int space = tag.lastIndexOf(' ', end - 1);
            if (space < 0 || space == end - 1 || !digits(tag, space + 1, end)) {
                return end;
            }
            end = space;
        }
    }

    /** Whether the verb of {@code tag}, which ends at {@code end}, is {@code verb}. */
    private static boolean verbIs(String tag, int end, String verb) {
        return end == verb.length() && tag.startsWith(verb);
    }

    private static boolean digits(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return to > from;
    }

    private static boolean createsFromQuery(String objectType) {
        return objectType.equals("TABLE") || objectType.equals("MATERIALIZED VIEW") || objectType.isEmpty();
    }

    private static boolean objectTag(String verb, String objectType, String tag) {
        if (!tag.startsWith(verb + " ")) {
            return false;
        }
        if (!NAMED_TYPES.contains(objectType)) {
            return true;
        }
        String expected = verb + " " + objectType;
        if (tag.equals(expected)) {
            return true;
        }
        if (verb.equals("CREATE") && objectType.equals("TABLE")) {
            return tag.equals("CREATE TABLE AS");
        }
        return verb.equals("ALTER") && RELATION_TYPES.contains(objectType) && tag.equals("ALTER TABLE");
    }

    private static boolean executed(StatementFacts facts, String tag,
                                    Function<String, Optional<StatementFacts>> prepared, int depth) {
        Optional<StatementFacts> target = facts.preparedName().flatMap(prepared);
        if (target.isEmpty() || depth > 8) {
            return !tag.equals(EMPTY_QUERY_RESPONSE);
        }
        return agrees(target.get(), tag, prepared, depth + 1);
    }

    private static Set<String> fixedTags(StatementKind kind, String objectType) {
        return switch (kind) {
            case TRUNCATE -> Set.of("TRUNCATE TABLE");
            case GRANT -> grantTags("GRANT", objectType);
            case REVOKE -> grantTags("REVOKE", objectType);
            case COMMENT -> Set.of("COMMENT");
            case SET_ROLE, SET_SESSION_AUTHORIZATION -> Set.of("SET");
            case SET -> Set.of("SET", "SET CONSTRAINTS");
            case RESET_ROLE, RESET -> Set.of("RESET");
            case SHOW -> Set.of("SHOW");
            case DO -> Set.of("DO");
            case CALL -> Set.of("CALL");
            case PREPARE -> Set.of("PREPARE");
            case DEALLOCATE -> Set.of("DEALLOCATE", "DEALLOCATE ALL");
            case BEGIN -> Set.of("BEGIN", "START TRANSACTION");
            case COMMIT -> Set.of("COMMIT", "ROLLBACK", "PREPARE TRANSACTION", "COMMIT PREPARED");
            case ROLLBACK -> Set.of("ROLLBACK", "ROLLBACK PREPARED");
            case SAVEPOINT -> Set.of("SAVEPOINT");
            case RELEASE -> Set.of("RELEASE");
            case VACUUM -> Set.of("VACUUM");
            case ANALYZE -> Set.of("ANALYZE");
            case CLUSTER -> Set.of("CLUSTER");
            case REINDEX -> Set.of("REINDEX");
            case REFRESH -> Set.of("REFRESH MATERIALIZED VIEW");
            case LISTEN -> Set.of("LISTEN");
            case NOTIFY -> Set.of("NOTIFY");
            case UNLISTEN -> Set.of("UNLISTEN");
            case DISCARD -> Set.of("DISCARD ALL", "DISCARD PLANS", "DISCARD SEQUENCES", "DISCARD TEMP");
            case LOCK -> Set.of("LOCK TABLE");
            case DECLARE -> Set.of("DECLARE CURSOR");
            case CLOSE -> Set.of("CLOSE CURSOR", "CLOSE CURSOR ALL");
            case EXPLAIN -> Set.of("EXPLAIN");
            case ALTER_SYSTEM -> Set.of("ALTER SYSTEM");
            case CHECKPOINT -> Set.of("CHECKPOINT");
            case LOAD -> Set.of("LOAD");
            case SECURITY_LABEL -> Set.of("SECURITY LABEL");
            case IMPORT_FOREIGN_SCHEMA -> Set.of("IMPORT FOREIGN SCHEMA");
            case REASSIGN_OWNED -> Set.of("REASSIGN OWNED");
            case DROP_OWNED -> Set.of("DROP OWNED");
            default -> Set.of();
        };
    }

    private static Set<String> grantTags(String verb, String objectType) {
        if (objectType.equals("ROLE")) {
            return Set.of(verb + " ROLE");
        }
        return objectType.isEmpty() ? Set.of(verb, verb + " ROLE") : Set.of(verb);
    }
}
