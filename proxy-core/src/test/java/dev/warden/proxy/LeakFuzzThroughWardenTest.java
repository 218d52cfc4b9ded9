package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leak fuzzer (issue 13): seeded PII, thousands of generated statements run through Warden as a masked
 * identity on every protocol path, and every byte received (rows, errors, notices, notifications, parameter
 * reports, COPY data) searched for every seeded value, case-insensitively and reversed, and for the forms a reader
 * could decode (hex, base64, digits, an address's local part, a {@code random()} seeded from it). Expression
 * templates over the sensitive columns are crossed with casts, string functions, encodings, aggregates, whole-row
 * references, FROM forms (alias lists, subqueries, CTEs, LATERAL, views, names of part-keeping columns) and side
 * channels (notifications, settings, advisory locks, large objects, sequences, setseed). Differentially too: each
 * generated read is first run straight to the server, and what it answers must not reach the masked identity.
 *
 * <p>CI runs {@value #CI_STATEMENTS} statements with seed {@value #CI_SEED}. A longer run:
 * {@code mvn -o -pl proxy-core -am verify -Dtest=LeakFuzzThroughWardenTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.test=none -Dwarden.fuzz.statements=50000 -Dwarden.fuzz.seed=7}. The pipeline path (three statements
 * before one Sync) runs by default since relay v2; {@code -Dwarden.fuzz.pipeline=false} leaves it out. The run
 * prints why Warden closed each session it closed, if any.
 */
class LeakFuzzThroughWardenTest {

    static final int CI_STATEMENTS = 4000;
    static final long CI_SEED = 20261130L;

    static WardenHarness warden;

    /** Columns the default policy makes sensitive by name, with seeded values that must never come back. */
    static final Map<String, List<String>> SEEDED = Map.of(
            "email", List.of("ann.lee@acme.com", "Bob.Ray@Example.ORG", "cy_doe+x@mail.acme.io"),
            "phone", List.of("+14155550123", "+442071838750", "+33142685300"),
            "card_number", List.of("4111111111111111", "5500005555555559", "340000000000009"),
            "ssn", List.of("536-22-8471", "412-90-3310", "287-65-4321"),
            "api_secret", List.of("AKIAIOSFODNN7EXAMPLE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                    "sk_live_4eC39HqLyjWDarjtT1zdp7dc"));
    static final List<String> COLUMNS = List.of("email", "phone", "card_number", "ssn", "api_secret");
    /** The same columns renamed by the alias list {@code people AS p(i, n, e, ph, cn, s, k)}. */
    static final Map<String, String> RENAMED = Map.of("email", "e", "phone", "ph", "card_number", "cn", "ssn", "s",
            "api_secret", "k");
    /** The same columns under the names of view {@code contacts}. */
    static final Map<String, String> VIEW = Map.of("email", "c_mail", "phone", "c_tel", "card_number", "c_pay",
            "ssn", "c_tax", "api_secret", "c_key");

    static final List<String> EXPRESSIONS = List.of("{c}", "upper({c})", "lower({c})", "{c} || 'x'", "'x' || {c}",
            "reverse({c})", "substr({c}, 1, 60)", "replace({c}, '-', '-')", "trim({c})", "{c}::varchar(80)",
            "concat({c}, '')", "format('%s', {c})", "initcap({c})", "coalesce({c}, '')", "CASE WHEN true THEN {c} END",
            "(SELECT {c})", "array_to_string(ARRAY[{c}], ',')", "ARRAY[{c}]::text", "row({c})::text",
            "json_build_object('v', {c})::text", "to_json({c})::text", "encode({c}::bytea, 'escape')",
            "lpad({c}, 60, ' ')", "regexp_replace({c}, '^', '')", "quote_literal({c})", "quote_ident({c})",
            "string_agg({c}, ';')", "min({c})", "max({c})", "array_agg({c})::text", "json_agg({c})::text",
            "row_to_json({p})::text", "{p}::text", "to_jsonb({p})::text", "({p}).{c}", "xmlelement(name v, {c})::text",
            // Encodings a reader can invert: the differential search below finds them (their text is not the value).
            "encode(convert_to({c}, 'UTF8'), 'hex')", "encode(convert_to({c}, 'UTF8'), 'base64')", "{c}::bytea::text",
            "regexp_replace({c}, '[^0-9]', '', 'g')", "split_part({c}, '@', 1)", "translate({c}, '@.-+', '#,/_')",
            "md5({c})", "overlay({c} placing '#' from 2 for 1)", "string_agg(to_hex(ascii({c})), '')",
            "array_to_string(regexp_split_to_array({c}, ''), ' ')", "'a@' || translate({c}, '@', '-')",
            // The whole row through attribute notation ({@code p.f} is {@code f(p)}) and other whole-row spellings.
            "{p}.row_to_json::text", "({p}).to_jsonb::text", "{p}.concat", "{p}.json_agg::text", "format('%s', {p})",
            "string_agg({p}::text, ',')", "({p}.*)::text", "translate({p}.to_json::text, '@.-', '#,_')",
            "ARRAY(SELECT {p})::text", "hashtext({p}::text) || {p}.concat");
    static final List<String> CASTS = List.of("", "", "", "::int", "::date", "::json", "::numeric", "::xml",
            "::uuid", "::inet", "::jsonb", "::timestamptz");
    static final List<String> FROMS = List.of(
            "SELECT {e} FROM people p",
            "SELECT {e} FROM people AS p(i, n, e, ph, cn, s, k)",
            "SELECT x FROM (SELECT {e} AS x FROM people p) s",
            "WITH w AS (SELECT {e} AS x FROM people p) SELECT x FROM w",
            "SELECT l.x FROM people p, LATERAL (SELECT {e} AS x) l",
            "SELECT u.x FROM people p CROSS JOIN LATERAL unnest(ARRAY[{e}]) AS u(x)",
            "SELECT {e} FROM contacts p",
            "SELECT * FROM (SELECT {e} FROM people p) s",
            "SELECT 1 FROM people p WHERE {e} IS NULL",
            "SELECT id FROM people p ORDER BY {e} LIMIT 1",
            // Named like a column whose strategy keeps part of the value (email, partial): lineage redacts it.
            "SELECT {e} AS email FROM people p",
            "SELECT {e} AS phone FROM people p",
            "SELECT x AS card_number FROM (SELECT {e} AS x FROM people p) s",
            "SELECT {e} FROM people p UNION ALL SELECT 'z'",
            "SELECT 'z' UNION SELECT {e} FROM people p",
            "SELECT DISTINCT {e} FROM people p",
            "SELECT x FROM (VALUES (1)) v(i) JOIN LATERAL (SELECT {e} AS x FROM people p) l ON true",
            "VALUES ((SELECT {e} FROM people p LIMIT 1))",
            "SELECT * FROM ROWS FROM (unnest(ARRAY(SELECT {e} FROM people p))) AS r(x)",
            "SELECT unnest(string_to_array({e}, '@')) FROM people p",
            "SELECT (json_each_text(row_to_json(p))).value FROM people p WHERE {e} IS NOT NULL",
            "SELECT jsonb_path_query(to_jsonb(p), '$.*')::text FROM people p WHERE {e} IS NOT NULL",
            "UPDATE people p SET full_name = p.full_name RETURNING {e}",
            "WITH u AS (UPDATE people p SET full_name = p.full_name RETURNING {e} AS x) SELECT x FROM u",
            "SELECT * FROM people_rows() p WHERE {e} IS NOT NULL",
            "SELECT {e} FROM people_rows() p",
            // A parenthesised join's alias is the joined row (its columns, and the row as a whole).
            "SELECT {e} FROM (people q CROSS JOIN (SELECT 1 AS one) o) p",
            "SELECT {e} FROM (people NATURAL JOIN people q) AS p",
            "SELECT {e} FROM ((people q JOIN (SELECT 1 AS one) o ON true)) p");
    /** Statements that echo values outside result rows; each is also run on every path. */
    static final List<String> SIDE_CHANNELS = List.of(
            "SELECT pg_notify('fuzz', email) FROM people",
            "SELECT set_config('fuzz.x', string_agg(ssn, ','), false) FROM people",
            "SHOW fuzz.x",
            "DO $$ DECLARE v text; BEGIN SELECT string_agg(card_number, ',') INTO v FROM people; RAISE NOTICE '%', v; END $$",
            "DO $$ DECLARE v text; BEGIN SELECT string_agg(phone, ',') INTO v FROM people; "
                    + "RAISE EXCEPTION 'x' USING DETAIL = v, HINT = v; END $$",
            "SELECT query_to_xml('SELECT api_secret FROM people', true, false, '')",
            "SELECT * FROM query_to_xml('SELECT email FROM people', true, false, '')",
            "INSERT INTO people (id, email) SELECT id + 100, email FROM people",
            "INSERT INTO checked SELECT ssn FROM people",
            "SELECT 1 FROM people WHERE email::int = 1",
            "SELECT leak_notice()",
            "SELECT t FROM people t",
            "COPY people TO STDOUT",
            "COPY (SELECT upper(email), reverse(ssn) FROM people) TO STDOUT WITH (FORMAT csv)",
            // Session state a later statement reads back: its needles are the decoded forms (see needles()).
            "SELECT pg_advisory_lock(regexp_replace(ssn, '[^0-9]', '', 'g')::bigint) FROM people",
            "SELECT string_agg(((classid::bigint << 32) | objid::bigint)::text, ',') FROM pg_locks "
                    + "WHERE locktype = 'advisory'",
            "SELECT pg_advisory_unlock_all()",
            "SELECT lo_create(regexp_replace(ssn, '[^0-9]', '', 'g')::bigint::oid) FROM people WHERE id = 1",
            "SELECT string_agg(oid::text, ',') FROM pg_largeobject_metadata",
            "SELECT set_config('application_name', split_part(email, '@', 1), false) FROM people WHERE id = 2",
            "SELECT setval('fuzz_seq', regexp_replace(phone, '[^0-9]', '', 'g')::bigint) FROM people WHERE id = 3",
            "SELECT last_value FROM fuzz_seq",
            "SELECT setseed(regexp_replace(ssn, '[^0-9]', '', 'g')::bigint / 1e10) FROM people WHERE id = 1",
            "SELECT random()");

    enum Path { SIMPLE, EXTENDED_TEXT, EXTENDED_BINARY, EXTENDED_UNDESCRIBED, CURSOR, PORTAL_ROWS, COPY_TEXT, COPY_CSV,
        COPY_BINARY, PIPELINE, COPY_OPTIONS }

    /**
     * COPY options of the {@link Path#COPY_OPTIONS} path, in turn: delimiters and quotes that occur inside the
     * seeded values, in both syntaxes, with column lists named like options.
     */
    static final List<String> COPY_OPTION_SETS = List.of(" WITH (FORMAT csv, DELIMITER '@')",
            " (FORMAT csv, FORCE_QUOTE *, DELIMITER '-')", " CSV DELIMITER '.' FORCE QUOTE *",
            " WITH (FORMAT text, DELIMITER '@')", " (FORMAT csv, QUOTE '@')", " WITH (FORMAT text, NULL 'x', DELIMITER '-')",
            " CSV HEADER DELIMITER '1'", " WITH (DELIMITER '5', FORMAT 'csv')", " (FORMAT \"csv\", ESCAPE '+')",
            " WITH (FORMAT csv, DELIMITER 'a', HEADER true)");

    @BeforeAll
    static void start() throws SQLException {
        // The audit log on tmpfs when there is one: thousands of durable writes would time the disk, not Warden.
        java.nio.file.Path shm = java.nio.file.Path.of("/dev/shm");
        String audit = java.nio.file.Files.isDirectory(shm) && java.nio.file.Files.isWritable(shm)
                ? "audit:\n  sinks: [ { type: file, dir: \"" + createTempDirectory(shm) + "\" } ]\n" : "";
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", """
                masking:
                  unmasked_for: { groups: [pii-readers], agents: never }
                """ + audit);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE people (id int primary key, full_name text, email text UNIQUE, phone text,"
                    + " card_number text, ssn text, api_secret text)");
            for (int i = 0; i < 3; i++) {
                s.execute("INSERT INTO people VALUES (" + (i + 1) + ", 'Person " + i + "', '"
                        + SEEDED.get("email").get(i) + "', '" + SEEDED.get("phone").get(i) + "', '"
                        + SEEDED.get("card_number").get(i) + "', '" + SEEDED.get("ssn").get(i) + "', '"
                        + SEEDED.get("api_secret").get(i) + "')");
            }
            s.execute("CREATE VIEW contacts AS SELECT id, email AS c_mail, phone AS c_tel, card_number AS c_pay,"
                    + " ssn AS c_tax, api_secret AS c_key FROM people");
            s.execute("CREATE TABLE checked (v text CHECK (length(v) < 5))");
            s.execute("CREATE FUNCTION leak_notice() RETURNS int LANGUAGE plpgsql AS $$ DECLARE v text; BEGIN "
                    + "SELECT string_agg(api_secret, ',') INTO v FROM people; RAISE NOTICE 'secret %', v; RETURN 1; END $$");
            s.execute("CREATE FUNCTION people_rows() RETURNS SETOF people LANGUAGE sql STABLE AS 'SELECT * FROM people'");
            s.execute("CREATE SEQUENCE fuzz_seq");
            s.execute("GRANT ALL ON people, contacts, checked, fuzz_seq TO PUBLIC");
            decodedNeedles = decoded(s);
        }
    }

    private static java.nio.file.Path createTempDirectory(java.nio.file.Path parent) {
        try {
            auditDir = java.nio.file.Files.createTempDirectory(parent, "warden-fuzz-audit-");
            return auditDir;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static java.nio.file.Path auditDir;

    @AfterAll
    static void stop() throws IOException {
        warden.close();
        if (auditDir != null) {
            try (var files = java.nio.file.Files.walk(auditDir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /**
     * Everything a statement's answer may not contain: each seeded value and its reverse, lower case, and the
     * decoded forms ({@link #decoded}).
     */
    static List<String> needles() {
        List<String> out = new ArrayList<>();
        SEEDED.values().forEach(values -> values.forEach(v -> {
            out.add(v.toLowerCase(Locale.ROOT));
            out.add(new StringBuilder(v).reverse().toString().toLowerCase(Locale.ROOT));
        }));
        out.addAll(decodedNeedles);
        return out;
    }

    static List<String> decodedNeedles = List.of();

    /** Letters and digits only, lower case: a value cut into fields by a delimiter, an escape or quotes. */
    static String folded(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = Character.toLowerCase(s.charAt(i));
            if (c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * What the side channels' statements would show of each seeded value, computed by the server itself: its
     * UTF-8 in hex and base64, its digits (an advisory lock key, a large object's OID, a sequence's value, at least
     * seven of them), an address's local part, and the first {@code random()} after the {@code setseed} the side
     * channel makes of it.
     */
    static List<String> decoded(Statement s) throws SQLException {
        List<String> out = new ArrayList<>();
        for (List<String> values : SEEDED.values()) {
            for (String v : values) {
                String literal = "'" + v.replace("'", "''") + "'";
                try (var rs = s.executeQuery("SELECT encode(convert_to(" + literal + ", 'UTF8'), 'hex'), "
                        + "encode(convert_to(" + literal + ", 'UTF8'), 'base64'), regexp_replace(" + literal
                        + ", '[^0-9]', '', 'g'), CASE WHEN position('@' IN " + literal + ") > 0 THEN split_part("
                        + literal + ", '@', 1) END")) {
                    rs.next();
                    out.add(rs.getString(1));
                    out.add(rs.getString(2).toLowerCase(Locale.ROOT));
                    if (rs.getString(3).length() >= 7) {
                        out.add(rs.getString(3));
                    }
                    if (values == SEEDED.get("ssn")) {
                        try (Statement t = s.getConnection().createStatement()) {
                            t.execute("SELECT setseed(" + rs.getString(3) + "::bigint / 1e10)");
                            try (var r = t.executeQuery("SELECT random()::text")) {
                                r.next();
                                out.add(r.getString(1));
                            }
                        }
                    }
                    if (rs.getString(4) != null) {
                        out.add(rs.getString(4).toLowerCase(Locale.ROOT));
                    }
                }
            }
        }
        return List.copyOf(out);
    }

    static String expression(Random random, String from) {
        String column = COLUMNS.get(random.nextInt(COLUMNS.size()));
        String name = from.contains("AS p(i,") ? RENAMED.get(column) : from.contains("contacts") ? VIEW.get(column) : column;
        String e = EXPRESSIONS.get(random.nextInt(EXPRESSIONS.size())).replace("{c}", "p." + name).replace("{p}", "p");
        String cast = CASTS.get(random.nextInt(CASTS.size()));
        return cast.isEmpty() ? e : "(" + e + ")" + cast;
    }

    static String statement(Random random) {
        if (random.nextInt(10) == 0) {
            return SIDE_CHANNELS.get(random.nextInt(SIDE_CHANNELS.size()));
        }
        String from = FROMS.get(random.nextInt(FROMS.size()));
        return from.replace("{e}", expression(random, from));
    }

    /**
     * The differential half of the search: what the server itself answers {@code sql} (a generated read, run
     * straight to it as the table's owner): each value of at least six characters, lower case, but a full name.
     * Every such value is computed from a sensitive column, so a masked identity must not receive it, whatever
     * encoding the expression chose. A statement the server refuses gives none.
     */
    static List<String> serverAnswers(Connection direct, String sql) {
        List<String> out = new ArrayList<>();
        try (Statement s = direct.createStatement(); var rs = s.executeQuery(sql)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                for (int i = 1; i <= columns; i++) {
                    String v = rs.getString(i);
                    // (full_name, the one clear text column, answers "Person N" through whole-row forms)
                    if (v != null && v.strip().length() >= 6 && !v.strip().matches("\"?Person \\d\"?")) {
                        out.add(v.strip().toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (SQLException refused) {
            // an error's text is searched for with the seeded values themselves
        }
        return out;
    }

    /** A fuzzing session: one client, the bytes it received per statement. */
    static final class Session implements AutoCloseable {
        /** A fresh token for each login: a long run outlives one (Warden ends a session when its token expires). */
        private final java.util.function.Supplier<String> tokens;
        private RawClient client;
        int reconnects;
        private int copies;
        /** Why Warden closed each session: the path, the statement and the tail of what the client last received. */
        final List<String> closures = new ArrayList<>();

        Session(java.util.function.Supplier<String> tokens) throws IOException {
            this.tokens = tokens;
            connect();
        }

        private void connect() throws IOException {
            client = new RawClient(warden.port());
            client.login("dev", WardenHarness.USER, tokens.get());
            client.send(new FrontendMessage.Query("LISTEN fuzz"));
            untilReady(new ByteArrayOutputStream());
        }

        /** Reads frames until ReadyForQuery; false when Warden closed the session. */
        private boolean untilReady(ByteArrayOutputStream into) throws IOException {
            while (true) {
                byte[] frame;
                try {
                    frame = client.readFrame();
                } catch (java.io.EOFException | java.net.SocketException e) {
                    return false;
                }
                into.write(frame);
                if (frame[0] == 'Z') {
                    return true;
                }
            }
        }

        private boolean query(String sql, ByteArrayOutputStream into) throws IOException {
            client.send(new FrontendMessage.Query(sql));
            return untilReady(into);
        }

        private boolean extended(List<String> sqls, short format, boolean describe, int maxRows,
                                 ByteArrayOutputStream into) throws IOException {
            for (String sql : sqls) {
                client.send(new FrontendMessage.Parse("", sql, List.of()));
                client.send(new FrontendMessage.Bind("", "", List.of(), List.of(), List.of(format)));
                if (describe) {
                    client.send(new FrontendMessage.Describe('P', ""));
                }
                if (maxRows > 0) {
                    client.send(new FrontendMessage.Execute("", maxRows));
                    client.send(new FrontendMessage.Execute("", maxRows));
                }
                client.send(new FrontendMessage.Execute("", 0));
            }
            client.send(new FrontendMessage.Sync());
            return untilReady(into);
        }

        /** Runs {@code sql} on {@code path}; everything received, as lower-case text. */
        String run(String sql, Path path) throws IOException {
            try {
                return runOnce(sql, path);
            } catch (java.net.SocketException closedBefore) {
                // Warden closed the session between two statements (its token expired in a long run): the
                // statement did not reach it. Log in again and run it there.
                reconnects++;
                closures.add(path + " | " + sql + " | closed before it was sent: " + closedBefore.getMessage());
                client.close();
                connect();
                return runOnce(sql, path);
            }
        }

        private String runOnce(String sql, Path path) throws IOException {
            ByteArrayOutputStream into = new ByteArrayOutputStream();
            boolean alive = switch (path) {
                case SIMPLE -> query(sql, into);
                case EXTENDED_TEXT -> extended(List.of(sql), (short) 0, true, 0, into);
                case EXTENDED_BINARY -> extended(List.of(sql), (short) 1, true, 0, into);
                case EXTENDED_UNDESCRIBED -> extended(List.of(sql), (short) 0, false, 0, into);
                case PORTAL_ROWS -> extended(List.of(sql), (short) 0, true, 1, into);
                case PIPELINE -> extended(List.of(sql, "SELECT 1", sql), (short) 0, true, 0, into);
                case CURSOR -> query("BEGIN", into) && query("DECLARE fz NO SCROLL CURSOR FOR " + sql, into)
                        && query("FETCH 1 FROM fz", into) && query("FETCH ALL FROM fz", into)
                        && query("COMMIT", into);
                case COPY_TEXT -> query(copy(sql, ""), into);
                case COPY_CSV -> query(copy(sql, " WITH (FORMAT csv)"), into);
                case COPY_BINARY -> query(copy(sql, " WITH (FORMAT binary)"), into);
                case COPY_OPTIONS -> query(copy(sql, COPY_OPTION_SETS.get(copies++ % COPY_OPTION_SETS.size())), into);
            };
            if (!alive) {
                reconnects++;
                String text = into.toString(StandardCharsets.UTF_8).replaceAll("[^\\x20-\\x7e]", " ");
                closures.add(path + " | " + sql + " | " + text.substring(Math.max(0, text.length() - 300)));
                client.close();
                connect();
            }
            return into.toString(StandardCharsets.UTF_8).toLowerCase(Locale.ROOT);
        }

        private static String copy(String sql, String options) {
            return sql.startsWith("COPY ") ? sql : "COPY (" + sql + ") TO STDOUT" + options;
        }

        @Override
        public void close() throws IOException {
            client.close();
        }
    }

    private static List<Path> paths() {
        List<Path> paths = new ArrayList<>(List.of(Path.values()));
        if (!Boolean.parseBoolean(System.getProperty("warden.fuzz.pipeline", "true"))) {
            paths.remove(Path.PIPELINE);
        }
        return paths;
    }

    @Test
    void noSeededValueLeavesWardenOnAnyPath() throws Exception {
        int statements = Integer.getInteger("warden.fuzz.statements", CI_STATEMENTS);
        long seed = Long.getLong("warden.fuzz.seed", CI_SEED);
        Random random = new Random(seed);
        List<String> needles = needles();
        List<Path> paths = paths();
        Map<Path, Integer> perPath = new EnumMap<>(Path.class);
        Map<Path, Long> millis = new EnumMap<>(Path.class);
        List<String> leaks = new ArrayList<>();
        long started = System.nanoTime();
        int reconnects;
        int differential = 0;
        try (Session session = new Session(warden::token); Connection direct = warden.direct()) {
            for (int i = 0; i < statements; i++) {
                String sql = statement(random);
                Path path = paths.get(random.nextInt(paths.size()));
                List<String> answers = SIDE_CHANNELS.contains(sql) ? List.of() : serverAnswers(direct, sql);
                differential += answers.isEmpty() ? 0 : 1;
                long t0 = System.nanoTime();
                String received = session.run(sql, path);
                millis.merge(path, (System.nanoTime() - t0) / 1_000_000, Long::sum);
                perPath.merge(path, 1, Integer::sum);
                for (String needle : needles) {
                    if (received.contains(needle) && leaks.size() < 20) {
                        leaks.add(path + " | " + sql + " | leaked " + needle);
                    }
                }
                // Split by a delimiter, an escape or a quote: the letters and digits of a value still in order.
                String folded = folded(received);
                for (String needle : needles) {
                    String f = folded(needle);
                    if (f.length() >= 8 && !received.contains(needle) && folded.contains(f) && leaks.size() < 20) {
                        leaks.add(path + " | " + sql + " | leaked, split, " + needle);
                    }
                }
                for (String answer : answers) {
                    if (received.contains(answer) && leaks.size() < 20) {
                        leaks.add(path + " | " + sql + " | leaked the server's answer " + answer);
                    }
                }
            }
            String trailing = session.run("SELECT 1", Path.SIMPLE); // notifications delivered after the last one
            needles.stream().filter(trailing::contains).forEach(n -> leaks.add("trailing notification | " + n));
            reconnects = session.reconnects;
            session.closures.forEach(c -> System.out.println("leak fuzzer: session closed: " + c));
        }
        System.out.printf("leak fuzzer: seed=%d statements=%d per path=%s ms per path=%s sessions closed by Warden=%d"
                + " statements with server answers searched for=%d in %d ms%n", seed, statements, perPath, millis,
                reconnects, differential, (System.nanoTime() - started) / 1_000_000);
        assertTrue(leaks.isEmpty(), "seeded values reached a masked client:\n" + String.join("\n", leaks));
    }

    /**
     * The same generator as an exempt identity does see seeded values and the server's own answers: both searches
     * above can find what they look for.
     */
    @Test
    void theSearchFindsSeededValuesWhenTheIdentityIsExempt() throws Exception {
        Random random = new Random(CI_SEED);
        List<String> needles = needles();
        java.util.function.Supplier<String> token = () -> warden.issuer.token().email(WardenHarness.USER)
                .groups("eng", "pii-readers").sign();
        int found = 0;
        int answered = 0;
        int withAnswers = 0;
        try (Session session = new Session(token); Connection direct = warden.direct()) {
            for (int i = 0; i < 60; i++) {
                String sql = statement(random);
                List<String> answers = SIDE_CHANNELS.contains(sql) ? List.of() : serverAnswers(direct, sql);
                String received = session.run(sql, Path.SIMPLE);
                if (needles.stream().anyMatch(received::contains)) {
                    found++;
                }
                if (!answers.isEmpty()) {
                    withAnswers++;
                    answered += answers.stream().allMatch(received::contains) ? 1 : 0;
                }
            }
        }
        assertTrue(found > 20, "only " + found + " of 60 statements returned a seeded value to an exempt identity");
        // About a third of the generated reads answer a value long enough to search for (a cast fails, a filter
        // or an ORDER BY answers ids): each of those must reach the exempt identity as the server gave it.
        assertTrue(withAnswers > 10, "only " + withAnswers + " of 60 statements had answers to search for");
        assertEquals(withAnswers, answered, "statements whose server answers the exempt identity received");
    }
}
