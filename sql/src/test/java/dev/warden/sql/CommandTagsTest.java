package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Where {@link CommandTags} refuses: a tag that names another statement never agrees. The tags a real server
 * reports for each kind are checked in {@code CommandTagsAgainstPostgresTest}.
 */
class CommandTagsTest {

    private final Analyzer analyzer = new Analyzer(100);

    private StatementFacts one(String sql) {
        return analyzer.analyze(sql).statements().get(0);
    }

    @Test
    void aTagNamingAnotherStatementDisagrees() {
        assertFalse(CommandTags.agrees(one("SELECT 1"), "DROP TABLE"));
        assertFalse(CommandTags.agrees(one("SELECT 1"), "DELETE 3"));
        assertFalse(CommandTags.agrees(one("SELECT 1"), "INSERT 0 1"));
        assertFalse(CommandTags.agrees(one("SELECT * FROM t"), "UPDATE 10"));
        assertFalse(CommandTags.agrees(one("INSERT INTO t VALUES (1)"), "DELETE 1"));
        assertFalse(CommandTags.agrees(one("DROP VIEW v"), "DROP TABLE"));
        assertFalse(CommandTags.agrees(one("CREATE INDEX i ON t (a)"), "CREATE TABLE"));
        assertFalse(CommandTags.agrees(one("CREATE VIEW v AS SELECT 1"), "SELECT 1"));
        assertFalse(CommandTags.agrees(one("ALTER ROLE r NOLOGIN"), "ALTER TABLE"));
        assertFalse(CommandTags.agrees(one("SET work_mem = '1MB'"), "DROP TABLE"));
        assertFalse(CommandTags.agrees(one("SHOW work_mem"), "SET"));
        assertFalse(CommandTags.agrees(one("BEGIN"), "COMMIT"));
        assertFalse(CommandTags.agrees(one("ROLLBACK"), "COMMIT"));
        assertFalse(CommandTags.agrees(one("GRANT SELECT ON t TO r"), "GRANT ROLE"));
        assertFalse(CommandTags.agrees(one("GRANT r TO u"), "GRANT"));
        assertFalse(CommandTags.agrees(one("COMMENT ON TABLE t IS 'x'"), "DROP TABLE"));
        assertFalse(CommandTags.agrees(one("DECLARE c CURSOR FOR SELECT 1"), "SELECT 1"));
    }

    @Test
    void countedTagsNeedTheirCountAndUncountedTagsMustNotHaveOne() {
        assertTrue(CommandTags.agrees(one("SELECT 1"), "SELECT 1"));
        assertFalse(CommandTags.agrees(one("SELECT 1"), "SELECT"));
        assertTrue(CommandTags.agrees(one("INSERT INTO t VALUES (1)"), "INSERT 0 1"));
        assertFalse(CommandTags.agrees(one("DROP TABLE t"), "DROP TABLE 1"));
        assertEquals("INSERT", CommandTags.verb("INSERT 0 12"));
        assertEquals("CREATE TABLE AS", CommandTags.verb("CREATE TABLE AS"));
    }

    @Test
    void emptyQueryResponseAnswersOnlyATextWithoutStatements() {
        StatementFacts empty = one("-- nothing");
        assertEquals(StatementKind.EMPTY, empty.kind());
        assertTrue(CommandTags.agrees(empty, CommandTags.EMPTY_QUERY_RESPONSE));
        assertFalse(CommandTags.agrees(empty, "SELECT 1"));
        assertFalse(CommandTags.agrees(empty, "DROP TABLE"));
        assertFalse(CommandTags.agrees(one("SELECT 1"), CommandTags.EMPTY_QUERY_RESPONSE));
    }

    @Test
    void aStatementWardenCouldNotClassifyMakesNoClaim() {
        StatementFacts other = one("FROBNICATE everything");
        assertEquals(StatementKind.OTHER, other.kind());
        assertTrue(CommandTags.agrees(other, "DROP TABLE"));
        assertTrue(CommandTags.agrees(other, CommandTags.EMPTY_QUERY_RESPONSE));
    }

    @Test
    void executeIsCheckedAgainstThePreparedStatementWhenItIsKnown() {
        StatementFacts execute = one("EXECUTE q (1)");
        Map<String, StatementFacts> prepared = Map.of("q", one("SELECT 1"));
        assertTrue(CommandTags.agrees(execute, "DELETE 5"), "unknown prepared statement: no claim");
        assertTrue(CommandTags.agrees(execute, "SELECT 1", n -> Optional.ofNullable(prepared.get(n))));
        assertFalse(CommandTags.agrees(execute, "DELETE 5", n -> Optional.ofNullable(prepared.get(n))));
        assertFalse(CommandTags.agrees(execute, CommandTags.EMPTY_QUERY_RESPONSE));
    }

    /**
     * Tags the embedded test cluster cannot produce (prepared transactions are disabled there, no label provider
     * is loaded, no foreign server to import from), as PostgreSQL 15 reported them when run by hand (psql -e on
     * a scratch cluster with max_prepared_transactions = 2, postgres_fdw and auto_explain). SECURITY LABEL's tag
     * is taken from the server's cmdtaglist.h, not seen.
     */
    @Test
    void tagsSeenOnPostgres15ByHandAgree() {
        assertTrue(CommandTags.agrees(one("PREPARE TRANSACTION 'gx1'"), "PREPARE TRANSACTION"));
        assertTrue(CommandTags.agrees(one("COMMIT PREPARED 'gx1'"), "COMMIT PREPARED"));
        assertTrue(CommandTags.agrees(one("ROLLBACK PREPARED 'gx2'"), "ROLLBACK PREPARED"));
        assertTrue(CommandTags.agrees(one("LOAD 'auto_explain'"), "LOAD"));
        assertTrue(CommandTags.agrees(one("IMPORT FOREIGN SCHEMA public LIMIT TO (nothing) FROM SERVER s2 INTO imp"),
                "IMPORT FOREIGN SCHEMA"));
        assertTrue(CommandTags.agrees(one("CREATE TRANSFORM FOR int LANGUAGE sql (FROM SQL WITH FUNCTION "
                + "prsd_lextype(internal), TO SQL WITH FUNCTION int4recv(internal))"), "CREATE TRANSFORM"));
        assertTrue(CommandTags.agrees(one("SECURITY LABEL ON TABLE t IS 'x'"), "SECURITY LABEL"));
        assertFalse(CommandTags.agrees(one("ROLLBACK PREPARED 'gx2'"), "COMMIT PREPARED"));
    }

    @Test
    void readingNamesKindAndObjectType() {
        assertEquals("DROP TABLE", CommandTags.reading(one("DROP TABLE t")));
        assertEquals("SELECT", CommandTags.reading(one("SELECT 1")));
        assertEquals("SET_ROLE", CommandTags.reading(one("SET ROLE r")));
    }
}
