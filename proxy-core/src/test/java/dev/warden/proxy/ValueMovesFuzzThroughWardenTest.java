package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generated attacks on the ways the server moves values between columns by itself (the gap the attacker passes
 * a130-a133 showed by hand): a masked identity stores sensitive values in a column masked by name (allowed), and a
 * mechanism it set up moves them into a clear column or another table, where it reads them back. The mechanisms:
 * triggers (row and statement level, transition tables), rules, stored generated columns (made with the table or
 * added later), updatable views and INSTEAD OF triggers, foreign keys with ON UPDATE CASCADE, column renames, type
 * changes with USING, functions (OUT parameters too), DO blocks, CREATE TABLE AS, whole rows and jsonb, upserts
 * and CTEs that update, views that rename, and errors that echo keys or rows (unique, exclusion, check, not-null,
 * foreign key and partition routing violations, casts). Each is
 * crossed with the way the values get in (INSERT, UPDATE ... FROM, MERGE, a CTE, an upsert), a transform of the
 * value, and how the statements are sent: one Query each, one Query text, an explicit transaction, or one
 * extended-protocol batch before a single Sync (an implicit transaction).
 *
 * <p>Every byte the masked identity receives in a round (rows, errors, notices) is searched for the seeded values,
 * lower case, reversed, and as their letters and digits in order. Refusals are fine; a value read back is a leak.
 * The same rounds run as an exempt identity must find the values (the oracle can see what the mechanisms move).
 *
 * <p>CI runs {@value #CI_ROUNDS} rounds with seed {@value #CI_SEED}. A longer run: {@code mvn -o -pl proxy-core test
 * -Dtest=ValueMovesFuzzThroughWardenTest -Dwarden.moves.rounds=2000 -Dwarden.moves.seed=N}; with
 * {@code -Dwarden.moves.debug=true} it prints each round Warden refused a statement of, with the refusal. The run
 * prints how many rounds of each mechanism had a statement refused for masking: in a separate Query each, the
 * values get into the masked column, and the refusal comes at the move.
 */
class ValueMovesFuzzThroughWardenTest {

    static final int CI_ROUNDS = 160;
    static final long CI_SEED = 20261207L;

    static final List<String> SSNS = List.of("536-22-8471", "412-90-3310", "287-65-4321");
    static final List<String> EMAILS = List.of("ann.lee@acme.com", "bob.ray@example.org", "cy_doe@mail.acme.io");

    static WardenHarness warden;

    @BeforeAll
    static void start() throws Exception {
        warden = WardenHarness.startMaskingForAllButPiiReaders();
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE vm_people (id int primary key, full_name text, ssn text, email text)");
            for (int i = 0; i < SSNS.size(); i++) {
                s.execute("INSERT INTO vm_people VALUES (" + (i + 1) + ", 'Person " + i + "', '" + SSNS.get(i)
                        + "', '" + EMAILS.get(i) + "')");
            }
            s.execute("GRANT SELECT ON vm_people TO PUBLIC");
        }
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    enum Sending { SEPARATE, ONE_TEXT, TRANSACTION, BATCH }

    /** One generated attack: statements that set up, load and move; then reads. */
    record Round(String mechanism, List<String> statements, Sending sending) {
        @Override
        public String toString() {
            return mechanism + " " + sending + ": " + String.join("; ", statements);
        }
    }

    /** Immutable transforms (a generated column's expression must be one). */
    static final List<String> TRANSFORMS = List.of("{v}", "upper({v})", "reverse({v})", "'x' || {v}", "lower({v})",
            "{v} || ''", "replace({v}, '-', '/')");

    /** The sensitive source column (masked by name in {@code vm_people}) and the masked column it is stored in. */
    static final List<String> SOURCES = List.of("ssn", "email");

    static final String TABLE = "CREATE TEMP TABLE vm_t (id int, {m} text, c text)";

    /** Ways the values get into {@code vm_t.{m}} (masked by name), or {@code {into}} when a view is the target. */
    static List<String> loads(Random r, String m, String into) {
        return loads(r.nextInt(6), m, into);
    }

    /** A load of one INSERT statement (a rule or an INSTEAD OF trigger acts on inserts only). */
    static String insert(Random r, String m, String into) {
        return loads(List.of(0, 1, 3, 4, 5).get(r.nextInt(5)), m, into).get(0);
    }

    private static List<String> loads(int form, String m, String into) {
        String s = "p." + m;
        return switch (form) {
            case 0 -> List.of("INSERT INTO " + into + " (id, " + m + ") SELECT id, " + s + " FROM vm_people p");
            case 1 -> List.of("INSERT INTO " + into + " (id, " + m + ") VALUES (1, (SELECT " + s
                    + " FROM vm_people p WHERE p.id = 1))");
            case 2 -> List.of("INSERT INTO " + into + " (id, " + m + ") VALUES (1, 'k1')",
                    "UPDATE " + into + " t SET " + m + " = " + s + " FROM vm_people p WHERE p.id = 1 AND t.id = 1");
            case 3 -> List.of("MERGE INTO " + into + " t USING vm_people p ON false WHEN NOT MATCHED THEN "
                    + "INSERT (id, " + m + ") VALUES (p.id, " + s + ")");
            case 4 -> List.of("WITH w AS (SELECT id, " + s + " AS v FROM vm_people p) INSERT INTO " + into
                    + " (id, " + m + ") SELECT id, v FROM w");
            default -> List.of("INSERT INTO " + into + " (id, " + m + ") SELECT id, " + s
                    + " FROM vm_people p ON CONFLICT DO NOTHING");
        };
    }

    static final List<String> MECHANISMS = List.of("trigger-before", "trigger-after", "trigger-transition", "rule",
            "generated", "generated-later", "view-write", "instead-of", "fk-cascade", "rename", "alter-type",
            "update-direct", "insert-direct", "ctas", "function", "do", "unique-later", "unique-violation",
            "rename-table-swap", "select-into", "whole-row", "jsonb", "upsert-update", "update-cte",
            "check-violation", "not-null-violation", "exclusion", "partition-routing", "fk-violation", "out-parameter",
            "view-rename", "cte-update", "cte-insert", "cursor-view", "cursor-same-text", "session-state",
            "view-where-cast", "view-function-raise");

    static Round round(Random r) {
        String mechanism = MECHANISMS.get(r.nextInt(MECHANISMS.size()));
        String m = SOURCES.get(r.nextInt(SOURCES.size()));
        String x = TRANSFORMS.get(r.nextInt(TRANSFORMS.size()));
        String table = TABLE.replace("{m}", m);
        List<String> out = new ArrayList<>();
        switch (mechanism) {
            case "trigger-before" -> {
                out.add(table);
                out.add("CREATE FUNCTION pg_temp.vm_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.c := "
                        + x.replace("{v}", "NEW." + m) + "; RETURN NEW; END$$");
                out.add("CREATE TRIGGER vm_tr BEFORE INSERT OR UPDATE ON vm_t FOR EACH ROW "
                        + "EXECUTE FUNCTION pg_temp.vm_f()");
                out.addAll(loads(r, m, "vm_t"));
            }
            case "trigger-after" -> {
                out.add(table);
                out.add("CREATE TEMP TABLE vm_sink (c text)");
                out.add("CREATE FUNCTION pg_temp.vm_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                        + "INSERT INTO vm_sink VALUES (" + x.replace("{v}", "NEW." + m) + "); RETURN NULL; END$$");
                out.add("CREATE TRIGGER vm_tr AFTER INSERT OR UPDATE ON vm_t FOR EACH ROW "
                        + "EXECUTE FUNCTION pg_temp.vm_f()");
                out.addAll(loads(r, m, "vm_t"));
            }
            case "trigger-transition" -> {
                out.add(table);
                out.add("CREATE TEMP TABLE vm_sink (c text)");
                out.add("CREATE FUNCTION pg_temp.vm_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                        + "INSERT INTO vm_sink SELECT " + x.replace("{v}", m) + " FROM nt; RETURN NULL; END$$");
                out.add("CREATE TRIGGER vm_tr AFTER INSERT ON vm_t REFERENCING NEW TABLE AS nt FOR EACH STATEMENT "
                        + "EXECUTE FUNCTION pg_temp.vm_f()");
                out.add(insert(r, m, "vm_t"));
            }
            case "rule" -> {
                out.add(table);
                out.add("CREATE TEMP TABLE vm_sink (c text)");
                out.add("CREATE RULE vm_r AS ON INSERT TO vm_t DO ALSO INSERT INTO vm_sink VALUES ("
                        + x.replace("{v}", "NEW." + m) + ")");
                out.add(insert(r, m, "vm_t"));
            }
            case "generated" -> {
                out.add("CREATE TEMP TABLE vm_t (id int, " + m + " text, c text GENERATED ALWAYS AS ("
                        + x.replace("{v}", m) + ") STORED)");
                out.addAll(loads(r, m, "vm_t"));
            }
            case "generated-later" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("ALTER TABLE vm_t ADD COLUMN g text GENERATED ALWAYS AS (" + x.replace("{v}", m)
                        + ") STORED");
            }
            case "view-write" -> {
                out.add(table);
                out.add("CREATE TEMP VIEW vm_v AS SELECT id, c AS " + m + " FROM vm_t");
                out.addAll(loads(r, m, "vm_v"));
            }
            case "instead-of" -> {
                out.add(table);
                out.add("CREATE TEMP VIEW vm_v AS SELECT id, " + m + " FROM vm_t");
                out.add("CREATE FUNCTION pg_temp.vm_f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                        + "INSERT INTO vm_t (id, c) VALUES (NEW.id, " + x.replace("{v}", "NEW." + m)
                        + "); RETURN NEW; END$$");
                out.add("CREATE TRIGGER vm_tr INSTEAD OF INSERT ON vm_v FOR EACH ROW EXECUTE FUNCTION pg_temp.vm_f()");
                out.add(insert(r, m, "vm_v"));
            }
            case "fk-cascade" -> {
                out.add("CREATE TEMP TABLE vm_t (id int, " + m + " text UNIQUE, c text)");
                out.add("CREATE TEMP TABLE vm_sink (c text REFERENCES vm_t (" + m + ") ON UPDATE CASCADE)");
                out.add("INSERT INTO vm_t (id, " + m + ") VALUES (1, 'k1')");
                out.add("INSERT INTO vm_sink VALUES ('k1')");
                out.add("UPDATE vm_t t SET " + m + " = p." + m + " FROM vm_people p WHERE p.id = 1 AND t.id = 1");
            }
            case "rename" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("ALTER TABLE vm_t RENAME COLUMN " + m + " TO c2");
            }
            case "alter-type" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("ALTER TABLE vm_t ALTER COLUMN c TYPE text USING " + x.replace("{v}", m));
            }
            case "update-direct" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("UPDATE vm_t SET c = " + x.replace("{v}", m));
            }
            case "insert-direct" -> {
                out.add(table);
                out.add("CREATE TEMP TABLE vm_sink (c text)");
                out.addAll(loads(r, m, "vm_t"));
                out.add("INSERT INTO vm_sink SELECT " + x.replace("{v}", m) + " FROM vm_t");
            }
            case "ctas" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE TEMP TABLE vm_sink AS SELECT " + x.replace("{v}", m) + " AS c FROM vm_t");
            }
            case "function" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE FUNCTION pg_temp.vm_m() RETURNS void LANGUAGE sql AS 'UPDATE pg_temp.vm_t SET c = "
                        + x.replace("{v}", m).replace("'", "''") + "'");
                out.add("SELECT pg_temp.vm_m()");
            }
            case "do" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("DO $$BEGIN UPDATE vm_t SET c = " + x.replace("{v}", m) + "; END$$");
            }
            case "unique-later" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE UNIQUE INDEX vm_u ON vm_t (" + x.replace("{v}", m) + ")");
            }
            case "unique-violation" -> {
                out.add("CREATE TEMP TABLE vm_t (id int, " + m + " text, c text)");
                out.add("CREATE UNIQUE INDEX vm_u ON vm_t ((" + x.replace("{v}", m) + "))");
                out.addAll(loads(r, m, "vm_t"));
                out.addAll(loads(r, m, "vm_t"));
            }
            case "rename-table-swap" -> {
                // The values stored under a masked name, then the table's other column renamed to it and back.
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("ALTER TABLE vm_t RENAME COLUMN " + m + " TO tmp");
                out.add("ALTER TABLE vm_t RENAME COLUMN c TO " + m);
                out.add("ALTER TABLE vm_t RENAME COLUMN tmp TO c");
            }
            case "whole-row" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE TEMP TABLE vm_sink (c vm_t)");
                out.add("INSERT INTO vm_sink SELECT t FROM vm_t t");
                out.add("CREATE TEMP TABLE vm_sink2 AS SELECT (c)." + m + " AS c FROM vm_sink");
            }
            case "jsonb" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE TEMP TABLE vm_sink (c jsonb)");
                out.add("INSERT INTO vm_sink SELECT " + (r.nextBoolean() ? "to_jsonb(t)" : "jsonb_build_object('k', "
                        + x.replace("{v}", "t." + m) + ")") + " FROM vm_t t");
            }
            case "upsert-update" -> {
                out.add("CREATE TEMP TABLE vm_t (id int PRIMARY KEY, " + m + " text, c text)");
                out.add("INSERT INTO vm_t (id) VALUES (1), (2), (3)");
                out.add("INSERT INTO vm_t (id, " + m + ") SELECT id, p." + m + " FROM vm_people p ON CONFLICT (id) "
                        + "DO UPDATE SET c = " + x.replace("{v}", "EXCLUDED." + m));
            }
            case "update-cte" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("WITH s AS (SELECT id, " + m + " AS v FROM vm_t) UPDATE vm_t SET c = "
                        + x.replace("{v}", "s.v") + " FROM s WHERE s.id = vm_t.id");
            }
            case "check-violation" -> {
                out.add("CREATE TEMP TABLE vm_t (id int CHECK (id < 0), " + m + " text, c text)");
                out.addAll(loads(r, m, "vm_t"));
            }
            case "not-null-violation" -> {
                out.add("CREATE TEMP TABLE vm_t (id int, " + m + " text, c text NOT NULL)");
                out.addAll(loads(r, m, "vm_t"));
            }
            case "exclusion" -> {
                out.add("CREATE TEMP TABLE vm_t (id int, " + m + " text, c text, EXCLUDE USING hash (" + m
                        + " WITH =))");
                out.addAll(loads(r, m, "vm_t"));
                out.addAll(loads(r, m, "vm_t"));
            }
            case "partition-routing" -> {
                out.add("CREATE TEMP TABLE vm_t (id int, " + m + " text, c text) PARTITION BY LIST (" + m + ")");
                out.add("CREATE TEMP TABLE vm_p PARTITION OF vm_t FOR VALUES IN ('k1')");
                out.addAll(loads(r, m, "vm_t"));
            }
            case "fk-violation" -> {
                out.add("CREATE TEMP TABLE vm_k (" + m + " text PRIMARY KEY)");
                out.add("CREATE TEMP TABLE vm_t (id int, " + m + " text REFERENCES vm_k, c text)");
                out.addAll(loads(r, m, "vm_t"));
            }
            case "out-parameter" -> {
                out.add(table);
                out.add("CREATE TEMP TABLE vm_sink (c text)");
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE FUNCTION pg_temp.vm_g(OUT c text) RETURNS SETOF text LANGUAGE sql AS "
                        + "'SELECT " + x.replace("{v}", m).replace("'", "''") + " FROM pg_temp.vm_t'");
                out.add("INSERT INTO vm_sink SELECT c FROM pg_temp.vm_g()");
            }
            case "view-rename" -> {
                out.add(table);
                out.add("CREATE TEMP TABLE vm_sink (c text)");
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE TEMP VIEW vm_w AS SELECT " + x.replace("{v}", m) + " AS c FROM vm_t");
                out.add("INSERT INTO vm_sink SELECT c FROM vm_w");
            }
            // Routes the attacker pass a134 found: data-modifying WITH queries, cursors, session state, and what a
            // view's definition evaluates where its columns do not show it.
            case "cte-update" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("WITH w AS (UPDATE vm_t SET c = " + x.replace("{v}", m) + " RETURNING 1) SELECT count(*) FROM w");
            }
            case "cte-insert" -> {
                out.add(table);
                out.add("CREATE TEMP TABLE vm_sink (c text)");
                out.addAll(loads(r, m, "vm_t"));
                out.add("WITH w AS (INSERT INTO vm_sink SELECT " + x.replace("{v}", m) + " FROM vm_t RETURNING 1) "
                        + "SELECT 1");
            }
            case "cursor-view" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE TEMP VIEW vm_w AS SELECT id, " + x.replace("{v}", m) + " AS c FROM vm_t");
                out.add("CREATE FUNCTION pg_temp.vm_o() RETURNS refcursor LANGUAGE plpgsql AS $$DECLARE k refcursor "
                        + ":= 'vm_k'; BEGIN OPEN k FOR SELECT * FROM vm_w; RETURN k; END$$");
                out.add("BEGIN");
                out.add("SELECT pg_temp.vm_o()");
                out.add("FETCH ALL FROM vm_k");
                out.add("COMMIT");
            }
            case "cursor-same-text" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE TEMP VIEW vm_w AS SELECT id, " + x.replace("{v}", m) + " AS c FROM vm_t");
                out.add("BEGIN; DECLARE vm_k CURSOR WITH HOLD FOR SELECT * FROM vm_w; COMMIT; FETCH ALL FROM vm_k");
            }
            case "session-state" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE TEMP VIEW vm_w AS SELECT id, " + x.replace("{v}", m) + " AS c FROM vm_t");
                out.add(r.nextBoolean() ? "SELECT c FROM vm_w WHERE EXISTS (SELECT 1 FROM pg_cursor()) OR true"
                        : "SELECT c, (SELECT count(*) FROM pg_prepared_statement()) FROM vm_w");
            }
            case "view-where-cast" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE TEMP VIEW vm_w AS SELECT id FROM vm_t WHERE (" + x.replace("{v}", m) + ")::int > 0");
                out.add("SELECT id FROM vm_w");
            }
            case "view-function-raise" -> {
                out.add(table);
                out.addAll(loads(r, m, "vm_t"));
                out.add("CREATE FUNCTION pg_temp.vm_b(t text) RETURNS bool LANGUAGE plpgsql AS $$BEGIN RAISE "
                        + "EXCEPTION 'v=%', t; END$$");
                out.add("CREATE TEMP VIEW vm_w AS SELECT id FROM vm_t WHERE pg_temp.vm_b(" + x.replace("{v}", m) + ")");
                out.add("SELECT 1 FROM vm_w");
            }
            default -> { // select-into
                out.add("SELECT id, " + x.replace("{v}", "p." + m) + " AS " + m + " INTO TEMP vm_t FROM vm_people p");
                out.add("ALTER TABLE vm_t RENAME COLUMN " + m + " TO c");
            }
        }
        Sending sending = Sending.values()[r.nextInt(Sending.values().length)];
        return new Round(mechanism, List.copyOf(out), sending);
    }

    /** The reads after each round, each its own Query (what does not exist answers an error). */
    static final List<String> READS = List.of("SELECT * FROM vm_t", "SELECT c FROM vm_t", "SELECT * FROM vm_sink",
            "SELECT g FROM vm_t", "SELECT c2 FROM vm_t", "SELECT * FROM vm_v", "SELECT upper(c), reverse(c) FROM vm_t",
            "SELECT string_agg(c::text, ',') FROM vm_sink", "SELECT * FROM vm_sink2", "SELECT * FROM vm_w",
            "SELECT ssn::int FROM vm_t", "SELECT email::int FROM vm_t", "SELECT c::text FROM vm_sink");

    /** Reads of where the masked column itself is (an exempt identity sees it there, whatever moved). */
    static final List<String> MASKED_IN_PLACE = List.of("SELECT * FROM vm_t", "SELECT * FROM vm_v");

    /**
     * Runs one round in a fresh session (its temporary objects go with it): everything received, lower case, in
     * parts: what the round's statements answered, then each read's answer, then the last read's (binary).
     */
    static List<String> run(Round round, String token) throws IOException {
        List<String> parts = new ArrayList<>();
        ByteArrayOutputStream into = new ByteArrayOutputStream();
        try (RawClient client = new RawClient(warden.port())) {
            client.login("dev", WardenHarness.USER, token);
            switch (round.sending()) {
                case SEPARATE -> {
                    for (String sql : round.statements()) {
                        query(client, sql, into);
                    }
                }
                case ONE_TEXT -> query(client, String.join("; ", round.statements()), into);
                case TRANSACTION -> {
                    query(client, "BEGIN", into);
                    for (String sql : round.statements()) {
                        query(client, sql, into);
                    }
                    query(client, "COMMIT", into);
                }
                case BATCH -> {
                    for (String sql : round.statements()) {
                        client.send(new FrontendMessage.Parse("", sql, List.of()));
                        client.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of()));
                        client.send(new FrontendMessage.Describe('P', ""));
                        client.send(new FrontendMessage.Execute("", 0));
                    }
                    client.send(new FrontendMessage.Sync());
                    untilReady(client, into);
                }
            }
            into = next(parts, into);
            for (String read : READS) {
                query(client, read, into);
                into = next(parts, into);
            }
            client.send(new FrontendMessage.Parse("", "SELECT * FROM vm_t", List.of()));
            client.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of((short) 1)));
            client.send(new FrontendMessage.Execute("", 0));
            client.send(new FrontendMessage.Sync());
            untilReady(client, into);
        } catch (java.io.EOFException | java.net.SocketException closed) {
            into.writeBytes(("[session closed: " + closed + "]").getBytes(StandardCharsets.UTF_8));
        }
        next(parts, into);
        return parts;
    }

    private static ByteArrayOutputStream next(List<String> parts, ByteArrayOutputStream done) {
        parts.add(done.toString(StandardCharsets.UTF_8).toLowerCase(Locale.ROOT));
        return new ByteArrayOutputStream();
    }

    private static void query(RawClient client, String sql, ByteArrayOutputStream into) throws IOException {
        client.send(new FrontendMessage.Query(sql));
        untilReady(client, into);
    }

    private static void untilReady(RawClient client, ByteArrayOutputStream into) throws IOException {
        while (true) {
            byte[] frame = client.readFrame();
            into.writeBytes(frame);
            if (frame[0] == 'Z') {
                return;
            }
        }
    }

    /** What {@code received} shows of a seeded value, or null: as is, reversed, or its letters and digits in order. */
    static String leaked(String received) {
        String folded = LeakFuzzThroughWardenTest.folded(received);
        for (List<String> values : List.of(SSNS, EMAILS)) {
            for (String v : values) {
                String lower = v.toLowerCase(Locale.ROOT);
                String reversed = new StringBuilder(lower).reverse().toString();
                if (received.contains(lower) || received.contains(reversed)) {
                    return v;
                }
                String f = LeakFuzzThroughWardenTest.folded(v);
                if (folded.contains(f) || folded.contains(new StringBuilder(f).reverse())) {
                    return v + " (its letters and digits)";
                }
            }
        }
        return null;
    }

    @Test
    void noMechanismMovesASeededValueWhereAMaskedIdentityReadsItBack() throws Exception {
        int rounds = Integer.getInteger("warden.moves.rounds", CI_ROUNDS);
        long seed = Long.getLong("warden.moves.seed", CI_SEED);
        Random random = new Random(seed);
        List<String> leaks = new ArrayList<>();
        Map<String, Integer> perMechanism = new LinkedHashMap<>();
        Map<String, Integer> refused = new LinkedHashMap<>();
        long started = System.nanoTime();
        for (int i = 0; i < rounds; i++) {
            Round round = round(random);
            perMechanism.merge(round.mechanism(), 1, Integer::sum);
            String received = String.join("\n", run(round, warden.token()));
            if (received.contains("masked identity may not")) {
                refused.merge(round.mechanism(), 1, Integer::sum);
                if (Boolean.getBoolean("warden.moves.debug")) {
                    java.util.regex.Matcher mm = java.util.regex.Pattern.compile("masked identity may not[^\u0000]*")
                            .matcher(received);
                    System.out.println("DEBUG " + round + "\n   " + (mm.find() ? mm.group() : ""));
                }
            }
            String value = leaked(received);
            if (value != null && leaks.size() < 20) {
                leaks.add("round " + i + " | " + round + " | read back " + value);
            }
        }
        System.out.printf("value-moves fuzzer: seed=%d rounds=%d per mechanism=%s, of them with a statement refused "
                + "for masking=%s, in %d ms%n", seed, rounds, perMechanism, refused,
                (System.nanoTime() - started) / 1_000_000);
        assertTrue(leaks.isEmpty(), "seeded values moved where a masked identity read them (seed " + seed + "):\n"
                + String.join("\n", leaks));
    }

    /**
     * The same rounds as an exempt identity: the mechanisms do move the values, and the search finds them where
     * they were moved (reads of the masked column itself left out).
     */
    @Test
    void theMechanismsMoveValuesThatAnExemptIdentityReadsBack() throws Exception {
        Random random = new Random(CI_SEED);
        String token = warden.issuer.token().email(WardenHarness.USER).groups("eng", "pii-readers").sign();
        Map<String, Integer> found = new LinkedHashMap<>();
        int rounds = 60;
        int hits = 0;
        for (int i = 0; i < rounds; i++) {
            Round round = round(random);
            List<String> parts = run(round, token);
            StringBuilder moved = new StringBuilder(parts.get(0));
            for (int r = 0; r < READS.size(); r++) {
                if (!MASKED_IN_PLACE.contains(READS.get(r))) {
                    moved.append('\n').append(parts.get(1 + r));
                }
            }
            if (leaked(moved.toString()) != null) {
                hits++;
                found.merge(round.mechanism(), 1, Integer::sum);
            } else {
                System.out.println("value-moves fuzzer, exempt identity, nothing read back: " + round + "\n    "
                        + moved.toString().replaceAll("[^ -~]", "."));
            }
        }
        System.out.println("value-moves fuzzer, exempt identity: values read back in " + hits + " of " + rounds
                + " rounds, per mechanism " + found);
        assertTrue(hits >= rounds * 3 / 4, "an exempt identity read values back in only " + hits + " of " + rounds
                + " rounds: " + found);
    }
}
