package dev.warden.proxy;

import static dev.warden.proxy.WardenHarness.column;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Masking changes only what could carry a sensitive value (issue 13, items 2 to 5): statements over tables with
 * nothing sensitive keep every value, parsed or not; lineage follows alias lists, views, cursors and whole rows;
 * what masking cannot follow is refused; a notice says what was masked; with protect_filters a sensitive column
 * may only be looked up by equality with a bound value.
 */
class MaskingExposureThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  protect_filters: true
                  unmasked_for: { groups: [pii-readers], agents: never }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customers (id int primary key, name text, email text, ssn text)");
            s.execute("INSERT INTO customers VALUES (1, 'Ann Lee', 'ann.lee@acme.com', '078-05-1120'),"
                    + " (2, 'Bob Ray', 'bob.ray@acme.com', '219-09-9999')");
            s.execute("CREATE TABLE products (id int primary key, title text, price numeric)");
            s.execute("INSERT INTO products VALUES (1, 'Blue Kettle', 12.5)");
            s.execute("CREATE VIEW contacts AS SELECT id, email AS contact, upper(name) AS who FROM customers");
            s.execute("CREATE VIEW catalogue AS SELECT id, title FROM products");
            s.execute("CREATE FUNCTION shout() RETURNS int LANGUAGE plpgsql AS $$ DECLARE v text; BEGIN "
                    + "SELECT string_agg(name, ',') || max(ssn) INTO v FROM customers; "
                    + "RAISE NOTICE 'names: %', v; RETURN 1; END $$");
            s.execute("CREATE FUNCTION noisy(text) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
                    + "RAISE NOTICE 'seen %', length($1); RETURN true; END $$");
            s.execute("CREATE FUNCTION first_ssn() RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN "
                    + "RETURN (SELECT min(ssn) FROM customers); END $$");
            s.execute("GRANT ALL ON customers, products, contacts, catalogue TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    private static Connection masked() throws SQLException {
        return warden.connect("");
    }

    @Test
    void valuesOfStatementsOverNothingSensitiveAreKept() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT true AS true, count(*) > 0, sum(price) + 1 FROM products")) {
            assertTrue(rs.next());
            assertTrue(rs.getBoolean(1));
            assertTrue(rs.getBoolean(2));
            assertEquals("13.5", rs.getString(3));
            assertEquals(List.of("BLUE KETTLE"), column(c, "SELECT upper(title) FROM catalogue"));
            // A table with a sensitive column keeps what the statement reads of its other columns.
            assertEquals(List.of("ANN LEE", "BOB RAY"), column(c, "SELECT upper(name) FROM customers ORDER BY id"));
            String plan = String.join("\n", column(c, "EXPLAIN SELECT * FROM products WHERE id = 1"));
            assertTrue(plan.contains("products"), plan);
        }
    }

    @Test
    void explainOutputIsKeptEvenOverASensitiveTable() throws SQLException {
        try (Connection c = masked()) {
            String plan = String.join("\n", column(c, "EXPLAIN (VERBOSE) SELECT email, upper(ssn) FROM customers"));
            assertTrue(plan.contains("Seq Scan on public.customers") && plan.contains("upper(ssn)"), plan);
            // A function whose body reads nothing (RAISE, RETURN true) computes nothing from a table at plan time.
            plan = String.join("\n", column(c, "EXPLAIN SELECT * FROM customers WHERE noisy(name)"));
            assertTrue(plan.contains("Filter: noisy(name)"), plan);
            // One whose body reads a sensitive column is computed while planning (immutable, constant arguments):
            // VERBOSE would print its result.
            plan = String.join("\n", column(c, "EXPLAIN (VERBOSE) SELECT first_ssn()"));
            assertFalse(plan.contains("078-05-1120"), plan);
        }
    }

    @Test
    void whatPlpgsqlRaisesInAStatementOverSensitiveDataIsRedactedWhole() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            s.executeQuery("SELECT shout()").close();
            for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
                assertFalse(w.getMessage().contains("Ann Lee"), w.getMessage());
            }
        }
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng", "pii-readers").sign();
        try (Connection c = warden.connect("dev", WardenHarness.USER, token, ""); Statement s = c.createStatement()) {
            s.executeQuery("SELECT shout()").close();
            assertTrue(s.getWarnings() != null && s.getWarnings().getMessage().contains("Ann Lee"));
        }
    }

    /**
     * A column whose type reaches a domain with a CHECK (here an array of one): comparing it with a literal or a
     * parameter converts that to the column's type as the server parses or binds the statement, which runs the
     * check's function; that one reads e-mails and raises the first it reads. The read of the clear table was judged
     * clear, and the error's text came back whole through the simple protocol and, once Parse and Bind errors were
     * masked as their statement's, through the extended one (an attacker's pass, 2026-12-06).
     */
    @Test
    void aDomainCheckRunByConvertingALiteralToAColumnsTypeCountsAsTheStatementsRead() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE FUNCTION spill(int) RETURNS bool LANGUAGE plpgsql STABLE AS $$ DECLARE e text; BEGIN "
                    + "SELECT translate(email, '@.', '  ') INTO e FROM customers ORDER BY id OFFSET $1 LIMIT 1; "
                    + "RAISE EXCEPTION 'v=%', e; END $$");
            s.execute("CREATE DOMAIN spilled AS int CHECK (spill(VALUE))");
            s.execute("CREATE TYPE spilled_range AS RANGE (subtype = spilled)");
            s.execute("CREATE TABLE spill_t (id int, arr spilled[])");
            // A range's bounds are read as its subtype, a multirange's ranges as the range (a later pass).
            s.execute("CREATE TABLE spill_r (id int, r spilled_range, m spilled_multirange)");
            s.execute("GRANT ALL ON spill_t, spill_r TO PUBLIC");
        }
        try {
            String token = warden.issuer.token().email(WardenHarness.USER).groups("eng", "pii-readers").sign();
            try (Connection exempt = warden.connect("dev", WardenHarness.USER, token, "");
                 Statement s = exempt.createStatement()) {
                SQLException e = assertThrows(SQLException.class,
                        () -> s.executeQuery("SELECT 1 FROM spill_t WHERE arr = '{0}'"));
                assertTrue(e.getMessage().contains("ann lee acme com"), "the check raised the value: " + e);
            }
            try (Connection c = masked(); Statement s = c.createStatement();
                 java.sql.PreparedStatement literal = c.prepareStatement("SELECT 1 FROM spill_t WHERE arr = '{1}'");
                 java.sql.PreparedStatement bound = c.prepareStatement("SELECT 1 FROM spill_t WHERE arr = ?")) {
                bound.setObject(1, "{0}", java.sql.Types.OTHER);
                // PREPARE's parameter types convert EXECUTE's arguments (a later pass, 2026-12-06).
                s.execute("PREPARE spilling(spilled) AS SELECT 1");
                s.execute("PREPARE spilling_all(spilled[]) AS SELECT 1");
                List<SQLException> errors = List.of(
                        assertThrows(SQLException.class, () -> s.executeQuery("EXECUTE spilling(0)")),
                        assertThrows(SQLException.class, () -> s.executeQuery("EXECUTE spilling_all('{0}')")),
                        assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1 FROM spill_t WHERE arr = '{0}'")),
                        assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1 FROM spill_r WHERE r = '[0,1]'")),
                        assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1 FROM spill_r WHERE m = '{[0,1]}'")),
                        assertThrows(SQLException.class, literal::executeQuery),
                        assertThrows(SQLException.class, bound::executeQuery));
                for (SQLException e : errors) {
                    assertFalse(e.getMessage().contains("acme"), e.getMessage());
                    assertTrue(e.getMessage().contains("[redacted"), e.getMessage());
                }
            }
        } finally {
            try (Connection c = warden.direct(); Statement s = c.createStatement()) {
                s.execute("DROP TABLE spill_t, spill_r");
                s.execute("DROP TYPE spilled_range");
                s.execute("DROP DOMAIN spilled");
                s.execute("DROP FUNCTION spill(int)");
            }
        }
    }

    /**
     * Notices raised while the server parses a statement (converting its literal to a domain runs the domain's check)
     * answer the Parse, which runs no statement: each was relayed, its text redacted, and their number spelled a
     * value (an attacker's pass, 2026-12-06); a Query relays only its first. Counted per Parse now.
     */
    @Test
    void noticesRaisedAtParseAreCountedAsAStatementsAre() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE FUNCTION ticks(int) RETURNS bool LANGUAGE plpgsql STABLE AS $$ BEGIN FOR i IN 1.."
                    + "(SELECT length(email) FROM customers ORDER BY id LIMIT 1) LOOP RAISE NOTICE 'tick'; END LOOP; "
                    + "RETURN true; END $$");
            s.execute("CREATE DOMAIN ticked AS int CHECK (ticks(VALUE))");
        }
        try {
            String token = warden.issuer.token().email(WardenHarness.USER).groups("eng", "pii-readers").sign();
            try (Connection exempt = warden.connect("dev", WardenHarness.USER, token, "");
                 java.sql.PreparedStatement ps = exempt.prepareStatement("SELECT '{1}'::ticked[] AS v")) {
                ps.executeQuery().close();
                assertEquals("ann.lee@acme.com".length(), notices(ps.getWarnings()), "the check's notices, in full");
            }
            try (Connection c = masked(); Statement s = c.createStatement();
                 java.sql.PreparedStatement ps = c.prepareStatement("SELECT '{1}'::ticked[] AS v")) {
                ps.executeQuery().close();
                assertEquals(1, notices(ps.getWarnings()), "extended protocol");
                s.executeQuery("SELECT '{1}'::ticked[] AS v").close();
                assertEquals(1, notices(s.getWarnings()), "simple protocol");
            }
        } finally {
            try (Connection c = warden.direct(); Statement s = c.createStatement()) {
                s.execute("DROP DOMAIN ticked");
                s.execute("DROP FUNCTION ticks(int)");
            }
        }
    }

    /** The notices in a warning chain ("tick", or its redaction), not Warden's own masking notices. */
    private static int notices(SQLWarning w) {
        int n = 0;
        for (; w != null; w = w.getNextWarning()) {
            n += w.getMessage().startsWith("Warden masked") ? 0 : 1;
        }
        return n;
    }

    /**
     * A migration in one transaction: ALTER TABLE takes the table exclusively, and the statements after it made
     * Warden read the table's defaults, which deparsing did with a lock: the read waited behind the client's own
     * transaction until lock_timeout (5 s), and the UPDATE was refused ("could not look up the name"; the
     * transparency run's transactions and merge files, 2026-12-06); a partitioned table's key likewise. The defaults
     * that move a sequence named as text are still read when the table is not held (WritesRunElsewhereThroughWardenTest).
     */
    @Test
    void aMigrationInOneTransactionIsNotHeldBehindItsOwnLock() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE migrated (id int CHECK (id > 0), qty int DEFAULT 5, "
                    + "title text DEFAULT 'x' || 'y')");
            s.execute("INSERT INTO migrated (id) VALUES (1)");
            s.execute("CREATE TABLE routed (id int, note text) PARTITION BY LIST (id)");
            s.execute("CREATE TABLE routed_1 PARTITION OF routed FOR VALUES IN (1)");
            s.execute("CREATE TABLE routed_other PARTITION OF routed DEFAULT");
            s.execute("INSERT INTO routed VALUES (1, 'a'), (2, 'b')");
            s.execute("GRANT ALL ON migrated, routed TO PUBLIC");
        }
        try (Connection c = masked(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("ALTER TABLE migrated ADD COLUMN note text");
            assertEquals(1, s.executeUpdate("UPDATE migrated SET note = 'moved', qty = qty + 1"));
            assertEquals(1, s.executeUpdate("INSERT INTO migrated (id, note) VALUES (2, 'new')"));
            assertEquals(List.of("moved 6 xy", "new 5 xy"),
                    column(c, "SELECT note || ' ' || qty || ' ' || title FROM migrated ORDER BY id"));
            c.commit();
            // A partitioned table's key was read with a lock too (the transparency run's merge file).
            s.execute("ALTER TABLE routed ENABLE ROW LEVEL SECURITY");
            assertEquals(1, s.executeUpdate("UPDATE routed SET note = 'c' WHERE id = 1"));
            assertEquals(List.of("c", "b"), column(c, "SELECT note FROM routed ORDER BY id"));
            c.commit();
        } finally {
            try (Connection c = warden.direct(); Statement s = c.createStatement()) {
                s.execute("DROP TABLE migrated, routed");
            }
        }
    }

    @Test
    void castErrorOverNothingSensitiveKeepsItsText() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT title::int FROM products"));
            assertTrue(e.getMessage().contains("\"Blue Kettle\""), e.getMessage());
            SQLException secret = assertThrows(SQLException.class,
                    () -> s.executeQuery("SELECT min(ssn)::int FROM customers"));
            assertFalse(secret.getMessage().contains("078-05-1120"), secret.getMessage());
        }
    }

    @Test
    void lineageFollowsAliasListsViewsWholeRowsAndSubqueries() throws SQLException {
        try (Connection c = masked()) {
            for (String sql : List.of(
                    "SELECT e || 'x' FROM customers AS t(i, n, e) ORDER BY i",
                    "SELECT contact || '' FROM contacts ORDER BY id",
                    "SELECT contact FROM contacts ORDER BY id",
                    "SELECT row_to_json(t)::text FROM customers t ORDER BY id",
                    "SELECT x || '' FROM (SELECT email AS x, id FROM customers) s ORDER BY id",
                    "WITH w AS (SELECT ssn AS v, id FROM customers) SELECT lower(v) FROM w ORDER BY id",
                    "SELECT l.v FROM customers c, LATERAL (SELECT c.email || '' AS v) l ORDER BY c.id",
                    "SELECT unnest(ARRAY[email, ssn]) FROM customers")) {
                for (String v : column(c, sql)) {
                    assertFalse(v != null && (v.contains("acme.com") || v.contains("078-05")), sql + " -> " + v);
                }
            }
        }
    }

    /**
     * A temporary relation that shadows customers, made by DDL without the word TEMP (the search_path puts pg_temp
     * first, or the schema is spelled another way), read once so that Warden's catalog holds it, then dropped by
     * DISCARD TEMP or DISCARD ALL: the next read of customers reads the table. Warden kept the dropped relation for
     * the catalog's lifetime of its entries (5 s) and sent the table's values in clear (an attacker's pass,
     * 2026-12-06). Each row of {@code ways} is one session: its statements, then the read that must come back masked.
     */
    @Test
    void aShadowingTemporaryRelationIsForgottenWhenTheSessionDiscardsIt() throws SQLException {
        String clear = " AS SELECT 1 AS id, 'x'::text AS name";
        String[][] ways = {
                {"SET search_path = pg_temp, public", "CREATE VIEW customers" + clear, "DISCARD TEMP"},
                {"SET search_path = pg_temp, public", "CREATE VIEW customers" + clear, "DISCARD ALL"},
                {"SELECT set_config('search_path', 'pg_temp, public', false)", "CREATE TABLE customers" + clear,
                        "DISCARD TEMP"},
                {"SET search_path = pg_temp, public", "SELECT 1 AS id, 'x'::text AS name INTO customers",
                        "DISCARD TEMP"},
                // pg_temp is searched first for relations when the path does not name it.
                {"CREATE VIEW U&\"pg\\005ftemp\".customers" + clear, "DISCARD ALL"},
                {"CREATE VIEW \"pg_temp\".customers" + clear, "DISCARD TEMP"},
        };
        List<String> leaked = new ArrayList<>();
        for (String[] way : ways) {
            try (Connection c = masked()) {
                for (int i = 0; i < way.length - 1; i++) {
                    assertNull(WardenHarness.run(c, way[i]), way[i]);
                }
                // Warden's catalog now holds the temporary relation under the name.
                assertEquals(List.of("1"), column(c, "SELECT id FROM customers"), String.join("; ", way));
                assertNull(WardenHarness.run(c, way[way.length - 1]));
                List<String> rows = column(c, "SELECT translate(c::text, '@.-0123456789', '#,_abcdefghij') "
                        + "FROM customers c ORDER BY id");
                if (rows.toString().contains("lee#acme")) {
                    leaked.add(String.join("; ", way) + " -> " + rows);
                }
            }
        }
        assertEquals(List.of(), leaked);
    }

    @Test
    void aTableCreatedEarlierInTheSameBatchCannotReceiveSensitiveValues() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            // The catalog cannot know a table the same batch creates: filling it from a sensitive read is refused.
            SQLException e = assertThrows(SQLException.class, () -> s.execute(
                    "CREATE TEMP TABLE fresh (id int, email text); INSERT INTO fresh SELECT id, email FROM customers;"
                            + " SELECT email || '' FROM fresh"));
            assertEquals("42501", e.getSQLState(), e.getMessage());
            assertFalse(e.getMessage().contains("acme.com"), e.getMessage());
        }
    }

    @Test
    void aCursorCarriesItsDeclaredLineageToEachFetch() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("DECLARE cur CURSOR FOR SELECT email || 'x' FROM customers ORDER BY id");
            List<String> fetched = column(c, "FETCH ALL FROM cur");
            assertEquals(2, fetched.size());
            fetched.forEach(v -> assertFalse(v != null && v.contains("acme.com"), v));
            s.execute("DECLARE clear CURSOR FOR SELECT upper(title) FROM products");
            assertEquals(List.of("BLUE KETTLE"), column(c, "FETCH ALL FROM clear"));
            c.rollback();
        }
    }

    @Test
    void handingSensitiveValuesToWhatMaskingCannotFollowIsRefused() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            for (String sql : List.of(
                    "SELECT query_to_xml('SELECT email FROM customers', true, false, '')",
                    "SELECT pg_notify('leak', email) FROM customers",
                    "SELECT set_config('x.y', string_agg(ssn, ','), false) FROM customers",
                    "DO $$ BEGIN RAISE NOTICE '%', (SELECT string_agg(name, ',') FROM customers WHERE ssn <> ''); END $$")) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("masking-handoff"), e.getMessage());
            }
            // Not sensitive: allowed.
            s.execute("SELECT set_config('x.y', 'plain', false)");
        }
    }

    /**
     * setval stores the value it is given in its sequence, where currval and last_value read it back in clear: a
     * value computed from a sensitive column is refused, whichever sequence (a computed name too). nextval moves a
     * counter and stores nothing, and a setval of a clear value runs.
     */
    @Test
    void aSensitiveValueCannotBeStoredInASequence() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE SEQUENCE leak_seq");
            s.execute("GRANT ALL ON SEQUENCE leak_seq TO PUBLIC");
        }
        try (Connection c = masked(); Statement s = c.createStatement()) {
            for (String sql : List.of(
                    "SELECT setval('leak_seq', replace(ssn, '-', '')::bigint) FROM customers WHERE id = 1",
                    "SELECT setval('leak_seq', (SELECT replace(min(ssn), '-', '')::bigint FROM customers))",
                    "SELECT 1 FROM customers c WHERE setval('public.leak_seq', replace(c.ssn, '-', '')::bigint) > 0",
                    "SELECT setval(q.x, replace(ssn, '-', '')::bigint) FROM customers, (SELECT 'leak_seq' AS x) q "
                            + "WHERE id = 1",
                    "SELECT setval('leak_seq', length(c::text)) FROM customers c WHERE id = 1")) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), sql + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("masking-handoff"), sql + ": " + e.getMessage());
                try (Connection d = warden.direct()) {
                    assertEquals("1 false", WardenHarness.scalar(d, "SELECT last_value || ' ' || is_called FROM leak_seq"),
                            "PostgreSQL stored a value computed from ssn with " + sql);
                }
            }
            assertEquals(List.of("4"), column(c, "SELECT setval('leak_seq', max(id) + 3) FROM products"));
            assertEquals(List.of("5"), column(c, "SELECT nextval('leak_seq') FROM customers WHERE id = 1"));
        }
    }

    /**
     * The value a setval stores may reach it through a function: a SQL function's setval of its parameter (the
     * statement names the sensitive column, the body setval), or a function whose body reads the sensitive
     * column (the statement names setval, the body the column). Either way currval and last_value would read it
     * back in clear; the sequence's state shows whether it was stored.
     */
    @Test
    void aSensitiveValueCannotBeStoredInASequenceThroughAFunction() throws SQLException {
        try (Connection d = warden.direct(); Statement s = d.createStatement()) {
            s.execute("CREATE SEQUENCE leak_seq_fn");
            s.execute("GRANT ALL ON SEQUENCE leak_seq_fn TO PUBLIC");
            s.execute("CREATE FUNCTION store_counter(regclass, bigint) RETURNS bigint LANGUAGE sql "
                    + "AS 'SELECT setval($1, $2)'");
            s.execute("CREATE FUNCTION customer_number(int) RETURNS bigint LANGUAGE sql STABLE "
                    + "AS $$SELECT replace(ssn, '-', '')::bigint FROM customers WHERE id = $1$$");
        }
        try (Connection c = masked(); Statement s = c.createStatement()) {
            for (String sql : List.of(
                    "SELECT store_counter('leak_seq_fn', replace(ssn, '-', '')::bigint) FROM customers WHERE id = 1",
                    "SELECT setval('leak_seq_fn', customer_number(1))")) {
                String error = WardenHarness.run(c, sql);
                try (Connection d = warden.direct()) {
                    assertEquals("1 false", WardenHarness.scalar(d, "SELECT last_value || ' ' || is_called FROM "
                            + "leak_seq_fn"), "PostgreSQL stored a value computed from ssn with " + sql + " ("
                            + (error == null ? "Warden let it run" : error) + ")");
                }
                assertTrue(error != null && error.startsWith("42501") && error.contains("masking-handoff"),
                        sql + ": " + error);
            }
            // A clear value still goes through the same function.
            assertEquals(List.of("7"), column(c, "SELECT store_counter('leak_seq_fn', 7)"));
        }
    }

    @Test
    void sensitiveValuesCannotBeCopiedUnderClearNamesOrReturnedFromAWrite() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            for (String sql : List.of("CREATE TABLE copied AS SELECT email AS x FROM customers",
                    "UPDATE products SET title = (SELECT min(email) FROM customers) WHERE id = 1")) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), sql);
                assertEquals("42501", e.getSQLState(), e.getMessage());
                assertTrue(e.getMessage().contains("has no masked column"), e.getMessage());
            }
            // Into a clear column of the same table: the value would stay there, readable in clear after COMMIT.
            SQLException same = assertThrows(SQLException.class,
                    () -> s.execute("UPDATE customers SET name = email WHERE id = 1 RETURNING name"));
            assertTrue(same.getMessage().contains("public.customers.name, a column no rule masks"), same.getMessage());
            c.setAutoCommit(false);
            List<String> returned = column(c, "UPDATE customers SET email = lower(email) WHERE id = 1 RETURNING "
                    + "email");
            assertEquals(1, returned.size());
            assertTrue(returned.get(0) != null && returned.get(0).contains("***"), returned.get(0));
            c.rollback();
        }
    }

    @Test
    void aNoticeNamesTheMaskedColumnsOncePerStatement() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            s.executeQuery("SELECT id, email FROM customers").close();
            SQLWarning w = s.getWarnings();
            assertTrue(w != null && w.getMessage().contains("email") && w.getMessage().contains("builtin:email"),
                    String.valueOf(w));
            assertNull(w.getNextWarning());
            s.clearWarnings();
            s.executeQuery("SELECT id, title FROM products").close();
            assertNull(s.getWarnings());
        }
    }

    /**
     * A statement SQL PREPARE made is screened again at each EXECUTE. DDL that names what it uses (here its table)
     * drops those names from the catalog: they are looked up again first, not taken for names the catalog could
     * not read (which refused the EXECUTE). A prepared read of a sensitive column stays masked.
     */
    @Test
    void aPreparedStatementRunsAgainAfterDdlOnWhatItNames() throws SQLException {
        try (Connection c = warden.connect("preferQueryMode=simple"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE px_rows (id int)");
            s.execute("PREPARE px_ins (int) AS INSERT INTO px_rows VALUES ($1)");
            s.execute("EXECUTE px_ins(1)");
            s.execute("ALTER TABLE px_rows ADD COLUMN extra text");
            s.execute("EXECUTE px_ins(2)");
            s.execute("CREATE TABLE px_more AS SELECT * FROM (VALUES (1)) v(id)");
            s.execute("EXECUTE px_ins(3)");
            assertEquals(List.of("1", "2", "3"), column(c, "SELECT id FROM px_rows ORDER BY id"));
            s.execute("PREPARE px_read AS SELECT email FROM customers WHERE id = 1");
            s.execute("CREATE INDEX px_id ON customers (id)");
            List<String> read = column(c, "EXECUTE px_read");
            assertEquals(1, read.size());
            assertNotEquals("ann.lee@acme.com", read.get(0), "the prepared read after DDL is masked");
        }
    }

    @Test
    void aCopyThatMasksColumnsIsAnnouncedBeforeItsData() throws Exception {
        try (RawClient raw = new RawClient(warden.port())) {
            raw.login("dev", WardenHarness.USER, warden.token());
            raw.send(new dev.warden.pg.message.FrontendMessage.Query("COPY (SELECT id, email FROM customers) TO STDOUT"));
            List<String> kinds = new ArrayList<>();
            dev.warden.pg.message.BackendMessage m;
            do {
                m = raw.read();
                kinds.add(m instanceof dev.warden.pg.message.BackendMessage.NoticeResponse n
                        ? "notice " + n.fields().get('M') : m.getClass().getSimpleName());
            } while (!(m instanceof dev.warden.pg.message.BackendMessage.ReadyForQuery));
            assertTrue(kinds.get(0).startsWith("notice Warden masked columns of this result: email"), kinds.toString());
            assertEquals(1, kinds.stream().filter(k -> k.startsWith("notice")).count(), kinds.toString());
        }
    }

    /**
     * How many rows come back tells a number as well as a filter does: a sensitive value as a set-returning
     * function's argument or in LIMIT, OFFSET or FETCH FIRST decides the count (78 rows for SSN 078-05-1120).
     * Each of these returned 78 rows before protect_filters counted them.
     */
    @Test
    void protectFiltersCountsWhatDecidesHowManyRowsComeBack() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            String digits = "(SELECT substr(ssn, 1, 3)::int FROM customers WHERE id = 1)";
            for (String sql : List.of(
                    "SELECT generate_series(1, substr(ssn, 1, 3)::int) FROM customers WHERE id = 1",
                    "SELECT g FROM generate_series(1, " + digits + ") g",
                    "SELECT * FROM generate_series(1, 100) g LIMIT " + digits,
                    "SELECT * FROM generate_series(1, 178) g OFFSET 100 + " + digits,
                    "SELECT * FROM generate_series(1, 100) g FETCH FIRST " + digits + " ROWS ONLY",
                    "SELECT regexp_split_to_table(repeat('x', substr(ssn, 1, 3)::int), '') FROM customers WHERE id = 1",
                    "SELECT unnest(array_fill(0, ARRAY[substr(ssn, 1, 3)::int])) FROM customers WHERE id = 1",
                    "SELECT jsonb_array_elements(to_jsonb(array_fill(0, ARRAY[substr(c.ssn, 1, 3)::int]))) "
                            + "FROM customers c WHERE id = 1")) {
                SQLException e = assertThrows(SQLException.class, () -> column(c, sql), sql);
                assertEquals("42501", e.getSQLState(), sql);
                assertTrue(e.getMessage().contains("protect_filters"), e.getMessage());
            }
            // What decides the count from clear values runs.
            assertEquals(3, column(c, "SELECT generate_series(1, 3)").size());
            assertEquals(2, column(c, "SELECT unnest(ARRAY[id]) FROM customers").size());
            assertEquals(1, column(c, "SELECT email FROM customers ORDER BY id LIMIT 1").size());
            assertEquals(List.of("2"), column(c, "SELECT id FROM customers ORDER BY id OFFSET (SELECT count(*) - 1 "
                    + "FROM products)  + 1"));
            assertEquals(2, column(c, "SELECT g FROM generate_series(1, (SELECT max(id) FROM customers)) g").size());
        }
    }

    @Test
    void protectFiltersAllowsOnlyEqualityWithABoundValue() throws SQLException {
        try (Connection c = masked(); Statement s = c.createStatement()) {
            for (String sql : List.of("SELECT id FROM customers WHERE ssn LIKE '07%'",
                    "SELECT id FROM customers ORDER BY email", "SELECT count(*) FROM customers GROUP BY ssn",
                    "SELECT c.id FROM customers c JOIN customers d ON c.email < d.email",
                    "SELECT c.id FROM customers c WHERE row_to_json(c)::text LIKE '%07%'")) {
                SQLException e = assertThrows(SQLException.class, () -> s.executeQuery(sql), sql);
                assertEquals("42501", e.getSQLState());
                assertTrue(e.getMessage().contains("protect_filters"), e.getMessage());
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT id FROM customers WHERE email = ?")) {
                ps.setString(1, "bob.ray@acme.com");
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals(2, rs.getInt(1));
                }
            }
            assertEquals(List.of("1"), column(c, "SELECT id FROM customers WHERE name = 'Ann Lee'"));
        }
    }

    @Test
    void anExemptIdentityGetsEveryByteUnchanged() throws SQLException {
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng", "pii-readers").sign();
        try (Connection c = warden.connect("dev", WardenHarness.USER, token, ""); Statement s = c.createStatement()) {
            assertEquals(List.of("ann.lee@acme.comx", "bob.ray@acme.comx"),
                    column(c, "SELECT e || 'x' FROM customers AS t(i, n, e) ORDER BY i"));
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT min(ssn)::int FROM customers"));
            assertTrue(e.getMessage().contains("078-05-1120"), e.getMessage());
            s.executeQuery("SELECT id, email FROM customers").close();
            assertNull(s.getWarnings());
        }
    }
}
