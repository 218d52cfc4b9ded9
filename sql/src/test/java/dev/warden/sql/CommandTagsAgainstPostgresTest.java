package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.testkit.SimpleQueryClient;
import dev.warden.testkit.TestPostgres;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link CommandTags} against the tags the real server returns: every statement runs on PostgreSQL (the test
 * cluster), and its CommandComplete tag must agree with Warden's analysis of the same text. The other way round
 * (a tag that names another statement never agrees) is {@code CommandTagsTest}.
 */
class CommandTagsAgainstPostgresTest {

    private static TestPostgres pg;
    private static String database;
    private final Analyzer analyzer = new Analyzer(100);

    @BeforeAll
    static void startPostgres() {
        pg = TestPostgres.start();
        database = pg.createDatabase("tags");
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    /** Statements run in order, one Query each; each must succeed and agree with its analysis. */
    private static final List<String> SCRIPT = List.of(
            // queries and DML
            "SELECT 1", "VALUES (1), (2)", "CREATE TABLE t (id int PRIMARY KEY, v text)", "TABLE t",
            "INSERT INTO t VALUES (1, 'a'), (2, 'b')", "INSERT INTO t VALUES (3, 'c') RETURNING id",
            "WITH n AS (SELECT 4 AS id) INSERT INTO t SELECT id, 'd' FROM n",
            "WITH d AS (DELETE FROM t WHERE id = 4 RETURNING *) SELECT * FROM d",
            "UPDATE t SET v = 'x' WHERE id = 1", "DELETE FROM t WHERE id = 3",
            "MERGE INTO t USING (SELECT 9 AS id) s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'm')",
            "SELECT * INTO t_copy FROM t", "CREATE TABLE t_as AS SELECT * FROM t",
            "CREATE TABLE t_nodata AS SELECT * FROM t WITH NO DATA",
            "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t",
            "CREATE MATERIALIZED VIEW mv_nodata AS SELECT * FROM t WITH NO DATA",
            "REFRESH MATERIALIZED VIEW mv", "SELECT * FROM t FOR UPDATE",
            // DDL
            "CREATE TEMP TABLE tt (a int)", "CREATE UNLOGGED TABLE tu (a int)", "CREATE INDEX t_v ON t (v)",
            "CREATE UNIQUE INDEX t_v2 ON t (v, id)", "CREATE VIEW vw AS SELECT id FROM t",
            "CREATE OR REPLACE VIEW vw AS SELECT id FROM t", "CREATE SEQUENCE s", "CREATE SCHEMA sc",
            "CREATE SCHEMA sc2 CREATE TABLE inner_t (a int)",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2'",
            "CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1'",
            "CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()",
            "CREATE RULE r AS ON UPDATE TO t_copy DO ALSO NOTIFY t_copy", "CREATE TYPE mood AS ENUM ('a', 'b')",
            "CREATE DOMAIN posint AS int CHECK (VALUE > 0)", "CREATE ROLE tag_role", "CREATE USER tag_user",
            "CREATE GROUP tag_group", "CREATE POLICY pol ON t USING (true)",
            "CREATE AGGREGATE agg (int) (sfunc = int4pl, stype = int)", "CREATE COLLATION coll FROM \"C\"",
            "CREATE STATISTICS st ON id, v FROM t", "CREATE TEXT SEARCH CONFIGURATION tsc (COPY = english)",
            "CREATE PUBLICATION pub FOR TABLE t", "CREATE CAST (mood AS text) WITH INOUT",
            "CREATE OPERATOR === (leftarg = int, rightarg = int, function = int4eq)",
            "CREATE FOREIGN DATA WRAPPER fdw", "CREATE SERVER srv FOREIGN DATA WRAPPER fdw",
            "CREATE USER MAPPING FOR tag_user SERVER srv", "CREATE FOREIGN TABLE ft (a int) SERVER srv",
            "CREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION trg_evt()",
            "ALTER TABLE t ADD COLUMN w int", "ALTER TABLE t RENAME COLUMN w TO w2",
            "ALTER VIEW vw RENAME COLUMN id TO id2", "ALTER MATERIALIZED VIEW mv RENAME COLUMN v TO v2",
            "ALTER INDEX t_v RENAME TO t_v3", "ALTER SEQUENCE s RESTART", "ALTER FUNCTION f() STABLE",
            "ALTER ROUTINE f() VOLATILE", "ALTER PROCEDURE p() RENAME TO p2", "ALTER TYPE mood ADD VALUE 'c'",
            "ALTER DOMAIN posint DROP NOT NULL", "ALTER ROLE tag_role NOLOGIN", "ALTER USER tag_user NOLOGIN",
            "ALTER GROUP tag_group ADD USER tag_user", "ALTER SCHEMA sc RENAME TO sc3",
            "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO tag_role", "ALTER POLICY pol ON t USING (false)",
            "ALTER TABLE t RENAME CONSTRAINT t_pkey TO t_pk", "ALTER FOREIGN TABLE ft ADD COLUMN b int",
            "ALTER DATABASE " + "CURRENT_DB" + " SET work_mem = '8MB'", "ALTER SYSTEM SET work_mem = '5MB'",
            "ALTER SYSTEM RESET work_mem", "COMMENT ON TABLE t IS 'x'", "GRANT SELECT ON t TO tag_role",
            "GRANT tag_role TO tag_user", "REVOKE SELECT ON t FROM tag_role", "REVOKE tag_role FROM tag_user",
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO tag_role", "TRUNCATE t_copy", "TRUNCATE TABLE t_as",
            "VACUUM t", "VACUUM ANALYZE t", "ANALYZE t", "ANALYSE t",
            "CLUSTER t USING t_pk", "REINDEX TABLE t", "REINDEX INDEX t_v3", "CHECKPOINT",
            // session and transaction control
            "SET work_mem = '4MB'", "SET LOCAL work_mem = '4MB'", "SET SESSION work_mem TO '4MB'",
            "SET TIME ZONE 'UTC'", "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED", "RESET work_mem",
            "RESET ALL", "SHOW work_mem", "SHOW ALL", "SET ROLE tag_role", "RESET ROLE", "SET ROLE NONE",
            "SET SESSION AUTHORIZATION tag_user", "RESET SESSION AUTHORIZATION",
            "SET SESSION AUTHORIZATION DEFAULT", "BEGIN", "SET CONSTRAINTS ALL DEFERRED", "SAVEPOINT sp",
            "RELEASE SAVEPOINT sp", "SAVEPOINT sp2", "ROLLBACK TO SAVEPOINT sp2", "COMMIT", "START TRANSACTION",
            "ROLLBACK", "BEGIN ISOLATION LEVEL SERIALIZABLE", "END", "BEGIN", "ABORT", "BEGIN",
            "COMMIT AND NO CHAIN", "COMMIT", "ROLLBACK", "BEGIN", "LOCK TABLE t IN SHARE MODE", "COMMIT",
            // cursors, prepared statements, COPY, notifications, functions
            "BEGIN", "DECLARE c CURSOR FOR SELECT * FROM t", "FETCH 1 FROM c", "FETCH ALL FROM c",
            "MOVE BACKWARD ALL IN c", "CLOSE c", "DECLARE c2 CURSOR WITH HOLD FOR SELECT 1", "COMMIT", "CLOSE ALL",
            "PREPARE q (int) AS SELECT * FROM t WHERE id = $1", "EXECUTE q (1)",
            "PREPARE ins AS INSERT INTO t VALUES (50, 'p')", "EXECUTE ins", "DEALLOCATE q", "DEALLOCATE PREPARE ins",
            "DEALLOCATE ALL", "CREATE TABLE t_exec AS EXECUTE q2",
            "COPY t TO STDOUT", "COPY (SELECT 1) TO STDOUT", "COPY t_copy FROM STDIN", "LISTEN ch",
            "NOTIFY ch, 'x'", "UNLISTEN *", "UNLISTEN ch", "DO $$BEGIN PERFORM 1; END$$", "CALL p2()",
            "SELECT f()", "EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT 1", "DISCARD PLANS", "DISCARD SEQUENCES",
            "DISCARD TEMP", "DISCARD TEMPORARY", "DISCARD ALL", "REASSIGN OWNED BY tag_group TO tag_role",
            "DROP OWNED BY tag_group, tag_role",
            // drops
            "DROP EVENT TRIGGER IF EXISTS et", "DROP FOREIGN TABLE ft", "DROP USER MAPPING FOR tag_user SERVER srv",
            "DROP SERVER srv", "DROP FOREIGN DATA WRAPPER fdw", "DROP OPERATOR === (int, int)",
            "DROP CAST (mood AS text)", "DROP PUBLICATION pub", "DROP TEXT SEARCH CONFIGURATION tsc",
            "DROP STATISTICS st", "DROP COLLATION coll", "DROP AGGREGATE agg (int)", "DROP POLICY pol ON t",
            "DROP RULE r ON t_copy", "DROP TRIGGER tr ON t", "DROP FUNCTION trg()", "DROP ROUTINE f()",
            "DROP PROCEDURE p2()", "DROP MATERIALIZED VIEW mv", "DROP VIEW vw", "DROP INDEX t_v3",
            "DROP INDEX CONCURRENTLY t_v2", "DROP SEQUENCE s", "DROP DOMAIN posint", "DROP TYPE mood",
            "DROP SCHEMA sc2 CASCADE", "DROP SCHEMA sc3", "DROP TABLE t_as, t_nodata", "DROP TABLE IF EXISTS nope",
            "DROP OWNED BY tag_user", "DROP USER tag_user", "DROP GROUP tag_group", "DROP ROLE tag_role",
            // texts without a statement
            "", "   ", "-- only a comment", "/* block */", ";");

    @Test
    void everyTagTheServerReportsAgreesWithWardensAnalysisOfTheSameText() throws Exception {
        List<String> disagreements = new ArrayList<>();
        Map<String, StatementFacts> prepared = new HashMap<>();
        try (SimpleQueryClient server = SimpleQueryClient.connect(pg, database)) {
            for (String template : SCRIPT) {
                String sql = template.replace("CURRENT_DB", database);
                if (sql.startsWith("CREATE TABLE t_exec")) {
                    List<String> prep = server.run("PREPARE q2 AS SELECT 1 AS a");
                    assertEquals(List.of("PREPARE"), prep);
                    prepared.put("q2", analyzer.analyze("SELECT 1 AS a").statements().get(0));
                }
                if (sql.startsWith("CREATE EVENT TRIGGER")) {
                    server.run("CREATE FUNCTION trg_evt() RETURNS event_trigger LANGUAGE plpgsql "
                            + "AS $$BEGIN END$$");
                }
                List<String> answers = server.run(sql);
                List<StatementFacts> facts = analyzer.analyze(sql).statements();
                assertEquals(facts.size(), answers.size(), () -> sql + " answered " + answers);
                for (int i = 0; i < answers.size(); i++) {
                    String answer = answers.get(i);
                    if (answer.startsWith("ERROR")) {
                        disagreements.add(sql + " failed on the server: " + answer);
                        continue;
                    }
                    StatementFacts f = facts.get(i);
                    if (f.kind() == StatementKind.PREPARE && f.preparedName().isPresent() && f.inner().isPresent()) {
                        prepared.put(f.preparedName().get(), f.inner().get());
                    }
                    if (!CommandTags.agrees(f, answer, name -> Optional.ofNullable(prepared.get(name)))) {
                        disagreements.add(sql + " → server " + answer + ", Warden " + CommandTags.reading(f));
                    }
                }
            }
        }
        assertEquals(List.of(), disagreements);
    }

    @Test
    void commitOfAFailedTransactionReportsRollbackAndStillAgrees() throws Exception {
        try (SimpleQueryClient server = SimpleQueryClient.connect(pg, database)) {
            assertEquals(List.of("BEGIN"), server.run("BEGIN"));
            assertTrue(server.run("SELECT 1/0").get(0).startsWith("ERROR 22012"));
            List<String> commit = server.run("COMMIT");
            assertEquals(List.of("ROLLBACK"), commit);
            assertTrue(CommandTags.agrees(analyzer.analyze("COMMIT").statements().get(0), commit.get(0)));
            assertEquals(List.of("BEGIN"), server.run("BEGIN"));
            server.run("SELECT 1/0");
            List<String> prepare = server.run("PREPARE TRANSACTION 'failed'");
            assertEquals(List.of("ROLLBACK"), prepare);
            assertTrue(CommandTags.agrees(analyzer.analyze("PREPARE TRANSACTION 'failed'").statements().get(0),
                    prepare.get(0)));
        }
    }

    @Test
    void aMultiStatementTextIsAnsweredOnceForEachStatementWardenSees() throws Exception {
        String sql = "SELECT 1; CREATE TEMP TABLE m (a int); INSERT INTO m VALUES (1); DROP TABLE m";
        try (SimpleQueryClient server = SimpleQueryClient.connect(pg, database)) {
            List<String> answers = server.run(sql);
            List<StatementFacts> facts = analyzer.analyze(sql).statements();
            assertEquals(List.of("SELECT 1", "CREATE TABLE", "INSERT 0 1", "DROP TABLE"), answers);
            for (int i = 0; i < facts.size(); i++) {
                assertTrue(CommandTags.agrees(facts.get(i), answers.get(i)), answers.get(i));
            }
            // Shifted by one, every pair disagrees: the tags name the statements.
            for (int i = 0; i + 1 < facts.size(); i++) {
                assertFalse(CommandTags.agrees(facts.get(i), answers.get(i + 1)), answers.get(i + 1));
            }
        }
    }
}
