package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.sql.DifferentialGenerator.Case;
import dev.warden.sql.DifferentialGenerator.CorpusStatement;
import dev.warden.sql.WireClient.Complete;
import dev.warden.sql.WireClient.Empty;
import dev.warden.sql.WireClient.Event;
import dev.warden.sql.WireClient.Failure;
import dev.warden.sql.WireClient.QueryResult;
import dev.warden.testkit.TestPostgres;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Differential test of Warden's split and classification against a real PostgreSQL (issue 11): for every
 * generated text ({@link DifferentialGenerator}), how many statements Warden sees and of which kind must be
 * what the server sees. Two oracles, neither of which trusts Warden's lexer:
 *
 * <ul>
 *   <li><b>tags</b> (texts that execute on the scratch database): the text is sent as one simple-protocol Query
 *       inside {@code BEGIN ... ROLLBACK}; the server's CommandComplete tags must match Warden's statements
 *       one for one, in order, up to an error, and their number must be equal when nothing failed;
 *   <li><b>Parse</b> (corpus texts, and any executed text that failed): an extended-protocol Parse of the whole
 *       text says whether the server reads one statement or several ("cannot insert multiple commands into a
 *       prepared statement"); then every statement Warden found must parse alone.
 * </ul>
 *
 * <p>The session's {@code standard_conforming_strings} and {@code client_encoding} are set on the server and
 * given to Warden alike, and followed from ParameterStatus between messages, as the proxy does. Short run by
 * default (CI); the long run and reproduction of a failure take system properties, see {@code sql/README.md}.
 */
class LexerDifferentialTest {

    /** The SQL the Debian {@code postgresql-15} package ships: the CI corpus, read at run time. */
    static final Path DEBIAN_CORPUS = Path.of("/usr/share/postgresql/15");

    /**
     * Every SQLSTATE the server can raise before or while raw-parsing a text: the codes of the scanner, the
     * grammar and the helpers they call (as vendored by pganalyze/libpg_query for PostgreSQL 16, PL/pgSQL's
     * parser left out), encoding conversion, and resource or cancel errors. A Parse that fails with any other
     * code got past the raw parse and the multiple-commands check, so the server read one statement.
     */
    private static final Set<String> RAW_PARSE_CODES = Set.of("42601", "0A000", "53200", "42P20", "42939", "22023",
            "22P06", "54000", "54001", "XX000", "42710", "22000", "57014", "22003", "22P02", "42622", "22021",
            "22025", "22P05");

    private static TestPostgres postgres;
    private static String database;

    @BeforeAll
    static void startPostgres() throws Exception {
        postgres = TestPostgres.start();
        database = Utf8Scratch.create(postgres, "warden_diff");
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (postgres != null) {
            try (Connection c = postgres.connect("postgres"); Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
            } finally {
                postgres.close();
            }
        }
    }

    @Test
    void wardenSplitsAndClassifiesEveryGeneratedTextAsPostgresDoes() throws Exception {
        long seed = seed();
        long count = Long.getLong("warden.diff.count", 3000);
        String only = System.getProperty("warden.diff.case");
        List<CorpusStatement> corpus = corpus();
        System.out.printf("LexerDifferentialTest: seed=%d count=%d corpus=%d statements (%s)%n", seed, count,
                corpus.size(), corpusSources());
        DifferentialGenerator generator = new DifferentialGenerator(seed, corpus);
        long started = System.nanoTime();
        Oracles oracles = new Oracles(connect());
        try {
            oracles.resetScratch();
            if (only != null) {
                for (String index : only.split(",")) {
                    oracles.run(Long.parseLong(index.strip()), generator.generate(Long.parseLong(index.strip())));
                }
            } else {
                for (long i = 0; i < count; i++) {
                    oracles.run(i, generator.generate(i));
                    if ((i + 1) % 10_000 == 0) {
                        System.out.printf("  %d texts, %d disagreements, %.0f s%n", i + 1,
                                oracles.disagreements.size(), (System.nanoTime() - started) / 1e9);
                    }
                }
            }
        } finally {
            oracles.client.close();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        long ran = only != null ? only.split(",").length : count;
        String report = oracles.report(seed, ran, seconds, 50);
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "lexer-differential.txt"),
                oracles.report(seed, ran, seconds, Integer.MAX_VALUE));
        assertTrue(only != null || oracles.tags.agreed + oracles.parse.agreed > count / 4,
                "too few texts were comparable\n" + report);
        boolean knownFail = "fail".equals(System.getProperty("warden.diff.known"));
        assertEquals(0, oracles.failing(knownFail).size(), report);
    }

    /**
     * The smallest texts of a class this test found: a BEGIN ATOMIC body using CASE or END as a column label.
     * The server runs two statements for each; the splitter once read one or three, counting CASE and END as
     * psql does instead of ending the body where the grammar does.
     */
    @Test
    void beginAtomicBodyWithCaseOrEndAsLabelEndsWhereTheServerEndsIt() throws Exception {
        Oracles oracles = new Oracles(connect());
        try {
            oracles.resetScratch();
            String[] texts = {
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS case; END; DELETE FROM u",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS end; END; SELECT 1",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 case; END; DELETE FROM u",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 end; END; DELETE FROM u",
            };
            for (String text : texts) {
                oracles.run(0, new Case("minimal", true, true, "UTF8", List.of(text), false));
            }
        } finally {
            oracles.client.close();
        }
        assertEquals(List.of(), oracles.disagreements.stream().map(d -> d.oracle() + ": " + d.warden()).toList());
    }

    private static long seed() {
        String value = System.getProperty("warden.diff.seed", "20261130");
        return value.equals("random") ? new java.util.Random().nextLong() : Long.parseLong(value);
    }

    private static WireClient connect() throws IOException {
        return WireClient.connect(postgres.host(), postgres.port(), postgres.superuser(),
                postgres.superuserPassword(), database,
                Map.of("lc_messages", "C", "statement_timeout", "10s", "client_min_messages", "warning"));
    }

    private static String corpusSources() {
        String extra = System.getProperty("warden.diff.corpus");
        String debian = Files.isDirectory(DEBIAN_CORPUS) ? DEBIAN_CORPUS.toString()
                : DEBIAN_CORPUS + " absent (install postgresql-15 for the corpus part; templates still run)";
        return extra == null ? debian : debian + " + " + extra;
    }

    /** Statements of the corpus directories, split by Warden (the oracles judge every text built from them). */
    private static List<CorpusStatement> corpus() throws IOException {
        List<Path> dirs = new ArrayList<>();
        if (Files.isDirectory(DEBIAN_CORPUS)) {
            dirs.add(DEBIAN_CORPUS);
        }
        String extra = System.getProperty("warden.diff.corpus");
        if (extra != null) {
            Path dir = Path.of(extra);
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException("warden.diff.corpus is not a directory: " + dir);
            }
            dirs.add(dir);
        }
        Analyzer analyzer = new Analyzer(0);
        List<CorpusStatement> statements = new ArrayList<>();
        for (Path dir : dirs) {
            List<Path> files;
            try (Stream<Path> walk = Files.walk(dir)) {
                files = walk.filter(p -> p.toString().endsWith(".sql")).sorted().toList();
            }
            for (Path file : files) {
                String text;
                try {
                    text = withoutPsqlCommands(Files.readString(file, StandardCharsets.UTF_8));
                } catch (java.nio.charset.MalformedInputException e) {
                    System.out.println("  corpus: skipping " + file + " (not UTF-8)");
                    continue;
                }
                for (StatementFacts f : analyzer.analyze(text).statements()) {
                    if (f.kind() != StatementKind.EMPTY && f.text().length() < 20_000) {
                        statements.add(new CorpusStatement(dir.relativize(file).toString(), f.text()));
                    }
                }
            }
        }
        return statements;
    }

    /**
     * The SQL of a psql script: meta-command lines (a backslash first) and the data lines of
     * {@code COPY ... FROM stdin} dropped; extension script placeholders replaced.
     */
    static String withoutPsqlCommands(String script) {
        StringBuilder out = new StringBuilder();
        boolean copyData = false;
        for (String line : script.split("\n", -1)) {
            if (copyData) {
                copyData = !line.startsWith("\\.");
                continue;
            }
            if (line.stripLeading().startsWith("\\")) {
                continue;
            }
            out.append(line.replace("@extschema@", "public").replace("@extowner@", "CURRENT_USER")).append('\n');
            String lower = line.strip().toLowerCase(java.util.Locale.ROOT);
            copyData = lower.startsWith("copy ") && lower.endsWith("from stdin;");
        }
        return out.toString();
    }

    /** Per-oracle tallies. */
    static final class Tally {
        long agreed;
        long refused;
        long disagreed;
        final Map<String, Long> refusals = new TreeMap<>();

        void refused(String why) {
            refused++;
            refusals.merge(why, 1L, Long::sum);
        }
    }

    /** One difference between Warden and the server, with everything needed to see it again. */
    record Disagreement(long index, String origin, String oracle, boolean scs, String encoding, byte[] bytes,
            String text, String warden, String server, Known known) {}

    /**
     * Disagreements already found and handed to the owner of the lexer and splitter, recognised by the shape of
     * Warden's reading. They are counted and printed in every run but fail it only with
     * {@code -Dwarden.diff.known=fail}; delete an entry once the splitter is fixed, so that it fails again.
     */
    enum Known {
        ; // none today: the BEGIN ATOMIC label class (SELECT 1 AS case/end in a body) was fixed in SqlSplitter

        final String description = "";

        /** Whether {@code text} has the shape of a known class; add a constant and its test here when one appears. */
        static Known of(String text, boolean scs) {
            return null;
        }
    }

    /** The two oracles over one server session. */
    static final class Oracles {
        final WireClient client;
        final Analyzer analyzer = new Analyzer(0);
        final Tally tags = new Tally();
        final Tally parse = new Tally();
        final Tally decoding = new Tally();
        final Tally boundaries = new Tally();
        final Tally settingIndependence = new Tally();
        long executedMessages;
        long otherKinds;
        long stoppedByError;
        long skipped;
        final List<Disagreement> disagreements = new ArrayList<>();
        private long index;
        private String origin;

        Oracles(WireClient client) {
            this.client = client;
        }

        void run(long caseIndex, Case c) throws IOException {
            index = caseIndex;
            origin = c.origin();
            ensureSettings(c.standardConformingStrings(), c.encoding());
            if (c.executable()) {
                execute(c);
            } else {
                byte[] bytes = encode(c.messages().get(0), c.encoding(), c.corruptBytes());
                if (bytes == null) {
                    skipped++;
                    return;
                }
                String text = decode(bytes, c.encoding());
                if (text == null) {
                    checkRefusedUndecodable(bytes, c.standardConformingStrings(), c.encoding());
                    return;
                }
                parseOracle(bytes, text, c.standardConformingStrings(), c.encoding(), parse);
            }
        }

        /** The tag oracle: every message inside one transaction, rolled back. */
        private void execute(Case c) throws IOException {
            client.query("BEGIN");
            List<Runnable> afterwards = new ArrayList<>();
            boolean dirty = false;
            boolean prepared = false;
            for (int m = 0; m < c.messages().size(); m++) {
                boolean scs = "on".equals(client.parameter("standard_conforming_strings"));
                String encoding = client.parameter("client_encoding");
                boolean last = m == c.messages().size() - 1;
                byte[] bytes = encode(c.messages().get(m), encoding, c.corruptBytes() && last);
                if (bytes == null) {
                    skipped++;
                    break;
                }
                String text = decode(bytes, encoding);
                QueryResult result = client.query(bytes).get(0);
                executedMessages++;
                dirty |= result.transactionStatus() == 'I';
                prepared |= result.tags().stream().anyMatch(t -> t.startsWith("PREPARE"));
                if (text == null) {
                    if (!result.events().isEmpty() && result.events().get(0) instanceof Failure f
                            && isConversionError(f)) {
                        decoding.agreed++;
                    } else {
                        disagree("decoding", scs, encoding, bytes, null, "cannot decode in " + encoding,
                                describe(result));
                        decoding.disagreed++;
                    }
                    break;
                }
                Analysis analysis = analyzer.analyze(text, scs);
                checkSettingIndependence(analysis, bytes, text, scs, encoding);
                boolean agreed = compareTags(analysis, result, scs, encoding, bytes, text);
                if (result.failed()) {
                    if (!isConversionError(result.failure())) {
                        afterwards.add(() -> parseLater(bytes, text, scs, encoding));
                    }
                    break;
                }
                if (agreed && analysis.statements().size() > 1) {
                    afterwards.add(() -> checkBoundaries(analysis, bytes, text, scs, encoding));
                }
            }
            List<QueryResult> end = client.query("ROLLBACK".getBytes(StandardCharsets.US_ASCII));
            if (prepared) {
                client.query("DEALLOCATE ALL");
            }
            if (dirty || end.get(0).transactionStatus() != 'I') {
                resetScratch();
            }
            for (Runnable r : afterwards) {
                r.run();
            }
        }

        private void parseLater(byte[] bytes, String text, boolean scs, String encoding) {
            try {
                ensureSettings(scs, encoding);
                parseOracle(bytes, text, scs, encoding, parse);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** Whether the tags agree with Warden's statements (a text refused before any statement also counts). */
        private boolean compareTags(Analysis analysis, QueryResult result, boolean scs, String encoding,
                byte[] bytes, String text) {
            List<StatementFacts> warden = analysis.statements();
            List<Event> events = result.events();
            String problem = null;
            int completed = 0;
            for (Event e : events) {
                if (e instanceof Complete complete) {
                    if (completed >= warden.size()) {
                        problem = "the server ran more statements";
                        break;
                    }
                    StatementKind kind = warden.get(completed).kind();
                    if (kind == StatementKind.OTHER) {
                        otherKinds++;
                    } else if (!compatible(kind, complete.tag())) {
                        problem = "statement " + (completed + 1) + ": tag " + complete.tag() + " vs " + kind;
                        break;
                    }
                    completed++;
                } else if (e instanceof Empty) {
                    if (!(warden.size() == 1 && warden.get(0).kind() == StatementKind.EMPTY)) {
                        problem = "the server saw an empty query";
                    }
                    completed++;
                }
            }
            if (problem == null && !result.failed() && completed != warden.size()) {
                problem = "the server ran " + completed + " statements, Warden saw " + warden.size();
            }
            if (problem == null && result.failed() && completed > 0 && warden.size() <= completed) {
                problem = "the server ran " + completed + " statements before an error, Warden saw " + warden.size();
            }
            if (problem != null) {
                tags.disagreed++;
                disagree("tags: " + problem, scs, encoding, bytes, text, reading(analysis), describe(result));
                return false;
            }
            if (result.failed() && completed == 0) {
                tags.refused(result.failure().sqlState() + " before any statement completed (Parse oracle follows)");
            } else {
                tags.agreed++;
                if (result.failed()) {
                    stoppedByError++;
                }
            }
            return true;
        }

        /**
         * {@link Analyzer#dependsOnStringSetting}: when it says a text reads the same under both settings of
         * {@code standard_conforming_strings}, Warden's reading under the other setting must be the same
         * statements of the same kinds. (The server's reading under the setting used is what the oracles
         * check; since the setting of each text is drawn at random, both settings are checked against it.)
         */
        private void checkSettingIndependence(Analysis analysis, byte[] bytes, String text, boolean scs,
                String encoding) {
            if (Analyzer.dependsOnStringSetting(text)) {
                settingIndependence.refused("dependsOnStringSetting: true");
                return;
            }
            Analysis other = analyzer.analyze(text, !scs);
            if (readingOf(other).equals(readingOf(analysis))) {
                settingIndependence.agreed++;
            } else {
                settingIndependence.disagreed++;
                disagree("dependsOnStringSetting is false, but the other setting reads " + reading(other), scs,
                        encoding, bytes, text, reading(analysis), "(not asked: Warden against itself)");
            }
        }

        private static List<String> readingOf(Analysis analysis) {
            return analysis.statements().stream().map(f -> f.kind() + " " + f.text()).toList();
        }

        /** The Parse oracle for one text under the current session settings. */
        void parseOracle(byte[] bytes, String text, boolean scs, String encoding, Tally tally) throws IOException {
            Analysis analysis = analyzer.analyze(text, scs);
            if (tally == parse) {
                checkSettingIndependence(analysis, bytes, text, scs, encoding);
            }
            int wardenCount = analysis.statements().size();
            RawParse whole = rawParse(bytes);
            if (whole.statements() == 0) {
                tally.refused(whole.failure().sqlState() + " " + firstWords(whole.failure().message()));
                return;
            }
            if (whole.statements() == 1) {
                if (wardenCount != 1) {
                    tally.disagreed++;
                    disagree("parse: the server reads one statement, Warden " + wardenCount, scs, encoding, bytes, text,
                            reading(analysis), "Parse: " + whole);
                } else {
                    tally.agreed++;
                }
                return;
            }
            if (wardenCount < 2) {
                tally.disagreed++;
                disagree("parse: the server reads several statements, Warden one", scs, encoding, bytes, text,
                        reading(analysis), "Parse: " + whole);
                return;
            }
            if (!statementsParseAlone(analysis, bytes, text, scs, encoding, tally)) {
                return;
            }
            tally.agreed++;
        }

        /**
         * What the server's raw parser makes of a text: 0 statements (it refuses the text: nothing would run),
         * 1 (or none, for an empty text), or 2 meaning "several".
         */
        record RawParse(int statements, Failure failure) {
            @Override
            public String toString() {
                String read = statements == 0 ? "refused" : statements == 1 ? "one statement" : "several statements";
                return failure == null ? read : read + " (" + failure.sqlState() + " " + failure.message() + ")";
            }
        }

        /**
         * Parse (extended protocol) answers "several" with the multiple-commands error before it analyses
         * anything, and analyses only a single statement. An error that the raw parser cannot raise therefore
         * means one statement. For one it can raise (a 42601 may also come from analysis, for instance "SELECT
         * ... INTO is not allowed here"), the text is parsed again followed by a newline and a second statement:
         * "several" then proves that the text alone got through the raw parser, so it was one statement (had it
         * been several, the first Parse would have said so). A semicolon cannot complete a broken statement, so
         * the suffix never makes a refused text acceptable.
         */
        RawParse rawParse(byte[] bytes) throws IOException {
            Failure f = client.parse(bytes);
            if (f == null) {
                return new RawParse(1, null);
            }
            if (f.multipleCommands()) {
                return new RawParse(2, f);
            }
            if (!RAW_PARSE_CODES.contains(f.sqlState())) {
                return new RawParse(1, f);
            }
            byte[] probe = java.util.Arrays.copyOf(bytes, bytes.length + PROBE.length);
            System.arraycopy(PROBE, 0, probe, bytes.length, PROBE.length);
            Failure again = client.parse(probe);
            return new RawParse(again != null && again.multipleCommands() ? 1 : 0, f);
        }

        private static final byte[] PROBE = "\n;SELECT 1".getBytes(StandardCharsets.US_ASCII);

        /**
         * Whether each of Warden's statements is, alone, exactly one statement for the server's raw parser (the
         * whole text got through it, so a piece that does not was cut in the wrong place).
         */
        boolean statementsParseAlone(Analysis analysis, byte[] bytes, String text, boolean scs, String encoding,
                Tally tally) throws IOException {
            for (StatementFacts f : analysis.statements()) {
                byte[] statement = encode(f.text(), encoding, false);
                if (statement == null) {
                    // Impossible while Warden's statements are pieces of the decoded text; say so if it happens.
                    throw new IllegalStateException("Warden's statement is not encodable in " + encoding);
                }
                RawParse alone = rawParse(statement);
                if (alone.statements() != 1) {
                    tally.disagreed++;
                    disagree("parse: a statement of Warden's is not one statement alone: " + escape(f.text()), scs,
                            encoding, bytes, text, reading(analysis), "Parse of the statement alone: " + alone);
                    return false;
                }
            }
            return true;
        }

        /** After the tag oracle agreed on several statements: are they cut where the server cuts them? */
        private void checkBoundaries(Analysis analysis, byte[] bytes, String text, boolean scs, String encoding) {
            try {
                ensureSettings(scs, encoding);
                if (statementsParseAlone(analysis, bytes, text, scs, encoding, boundaries)) {
                    boundaries.agreed++;
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** Bytes Warden cannot decode: the server must refuse the whole text too. */
        private void checkRefusedUndecodable(byte[] bytes, boolean scs, String encoding) throws IOException {
            Failure failure = client.parse(bytes);
            if (failure != null && isConversionError(failure)) {
                decoding.agreed++;
            } else {
                decoding.disagreed++;
                disagree("decoding", scs, encoding, bytes, null, "cannot decode in " + encoding,
                        failure == null ? "Parse: ok" : "Parse: " + failure);
            }
        }

        private static boolean isConversionError(Failure f) {
            return f.sqlState().equals("22021") || f.sqlState().equals("22P05");
        }

        void ensureSettings(boolean scs, String encoding) throws IOException {
            String want = scs ? "on" : "off";
            if (!want.equals(client.parameter("standard_conforming_strings"))
                    || !encoding.equalsIgnoreCase(client.parameter("client_encoding"))) {
                QueryResult r = client.query("SET standard_conforming_strings = " + want + "; SET client_encoding = '"
                        + encoding + "'");
                if (r.failed() || !want.equals(client.parameter("standard_conforming_strings"))) {
                    throw new IllegalStateException("cannot set the session up: " + r);
                }
            }
        }

        void resetScratch() throws IOException {
            // A text that ended the test's transaction may have left session state behind (temporary tables,
            // prepared statements, settings).
            client.query("DISCARD ALL");
            ensureSettings(true, "UTF8");
            QueryResult r = client.query(String.join("\n",
                    "DROP SCHEMA IF EXISTS scratch_s CASCADE;",
                    "DROP SCHEMA IF EXISTS public CASCADE;",
                    "CREATE SCHEMA public;",
                    "CREATE TABLE t (id int PRIMARY KEY, a text, b int);",
                    "INSERT INTO t SELECT g, 'row' || g, g FROM generate_series(1, 5) g;",
                    "CREATE TABLE u (id int, note text);",
                    "INSERT INTO u VALUES (1, 'one');",
                    "CREATE MATERIALIZED VIEW scratch_mv AS SELECT id FROM t;",
                    "CREATE PROCEDURE scratch_proc() LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
                    "CREATE FUNCTION scratch_fn() RETURNS int LANGUAGE sql RETURN 1;",
                    "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scratch_owner')"
                            + " THEN CREATE ROLE scratch_owner; END IF; END$$;",
                    "SELECT 1;"));
            if (r.failed()) {
                throw new IllegalStateException("cannot create the scratch tables: " + r);
            }
        }

        /** The text's bytes in the client encoding; null when it has a character the encoding lacks. */
        private static byte[] encode(String text, String encoding, boolean corrupt) {
            java.nio.charset.Charset cs = DifferentialGenerator.charset(encoding);
            if (!cs.newEncoder().canEncode(text)) {
                return null;
            }
            byte[] bytes = text.getBytes(cs);
            if (!corrupt || bytes.length == 0) {
                return bytes;
            }
            // A lone lead byte before some ASCII byte: valid or not, server and Warden must read it alike.
            int at = Math.floorMod(java.util.Arrays.hashCode(bytes), bytes.length);
            byte lead = (byte) (encoding.equals("UTF8") ? 0xC3 : encoding.equals("SJIS") ? 0x95 : 0xB3);
            byte[] out = new byte[bytes.length + 1];
            System.arraycopy(bytes, 0, out, 0, at);
            out[at] = lead;
            System.arraycopy(bytes, at, out, at + 1, bytes.length - at);
            return out;
        }

        /** What Warden lexes: the bytes decoded as the server would; null when they are not valid. */
        private String decode(byte[] bytes, String encoding) {
            ClientEncoding ce = ClientEncoding.of(encoding, client.parameter("server_encoding")).orElseThrow();
            try {
                return ce.decode(bytes);
            } catch (CharacterCodingException e) {
                return null;
            }
        }

        private void disagree(String oracle, boolean scs, String encoding, byte[] bytes, String text, String warden,
                String server) {
            Known known = text == null ? null : Known.of(text, scs);
            disagreements.add(new Disagreement(index, origin, oracle, scs, encoding, bytes, text, warden, server,
                    known));
        }

        List<Disagreement> failing(boolean knownFail) {
            return disagreements.stream().filter(d -> knownFail || d.known() == null).toList();
        }

        String report(long seed, long count, double seconds, int limit) {
            StringBuilder out = new StringBuilder();
            out.append(String.format("Lexer differential test: seed=%d count=%d in %.1f s (%d messages executed, "
                    + "%d texts skipped as not encodable)%n", seed, count, seconds, executedMessages, skipped));
            out.append(String.format("  reproduce: -Dwarden.diff.seed=%d -Dwarden.diff.count=%d "
                    + "(some cases only: -Dwarden.diff.case=INDEX,INDEX...)%n", seed, count));
            line(out, "tag oracle", tags);
            out.append(String.format("    (of the agreed: %d stopped by an error after at least one statement, their"
                    + " prefix compared; statements Warden classified OTHER, accepted for any tag: %d)%n",
                    stoppedByError, otherKinds));
            line(out, "Parse oracle", parse);
            line(out, "boundaries", boundaries);
            line(out, "decoding", decoding);
            line(out, "setting-free", settingIndependence, "not applicable (a plain string holds a backslash)");
            long known = disagreements.stream().filter(d -> d.known() != null).count();
            out.append(String.format("  disagreements: %d (%d new, %d of known classes)%n", disagreements.size(),
                    disagreements.size() - known, known));
            for (Known k : Known.values()) {
                long n = disagreements.stream().filter(d -> d.known() == k).count();
                if (n > 0) {
                    out.append(String.format("    known %s (%d): %s%n", k, n, k.description));
                }
            }
            int shown = 0;
            List<Disagreement> ordered = new ArrayList<>(disagreements);
            ordered.sort(java.util.Comparator.comparing(d -> d.known() != null));
            for (Disagreement d : ordered) {
                if (shown++ == limit) {
                    out.append("  ... ").append(disagreements.size() - limit)
                            .append(" more in target/lexer-differential.txt\n");
                    break;
                }
                out.append(String.format("  #%d [%s] %s%s%n    standard_conforming_strings=%s client_encoding=%s%n",
                        d.index(), d.origin(), d.oracle(), d.known() == null ? "" : " (known: " + d.known() + ")",
                        d.scs() ? "on" : "off", d.encoding()));
                out.append("    text:   ").append(d.text() == null ? hex(d.bytes()) : escape(d.text())).append('\n');
                out.append("    warden: ").append(d.warden()).append('\n');
                out.append("    server: ").append(d.server()).append('\n');
            }
            return out.toString();
        }

        private static void line(StringBuilder out, String name, Tally t) {
            line(out, name, t, "server refused");
        }

        private static void line(StringBuilder out, String name, Tally t, String refused) {
            out.append(String.format("  %-13s agreed %d, %s %d, disagreements %d%n", name, t.agreed, refused,
                    t.refused, t.disagreed));
            t.refusals.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(8)
                    .forEach(e -> out.append(String.format("      %6d  %s%n", e.getValue(), escape(e.getKey()))));
        }
    }

    /** Whether a CommandComplete tag is what a statement of Warden's kind reports. */
    static boolean compatible(StatementKind kind, String tag) {
        String verb = tag.split(" ", 2)[0];
        Set<StatementKind> allowed = switch (verb) {
            case "SELECT" -> EnumSet.of(StatementKind.SELECT, StatementKind.CREATE, StatementKind.EXECUTE);
            case "INSERT", "UPDATE", "DELETE", "MERGE" -> EnumSet.of(StatementKind.valueOf(verb),
                    StatementKind.EXECUTE);
            case "ALTER" -> EnumSet.of(tag.equals("ALTER SYSTEM") ? StatementKind.ALTER_SYSTEM : StatementKind.ALTER);
            case "DROP" -> EnumSet.of(tag.equals("DROP OWNED") ? StatementKind.DROP_OWNED : StatementKind.DROP);
            case "REASSIGN" -> EnumSet.of(StatementKind.REASSIGN_OWNED);
            case "SET" -> EnumSet.of(StatementKind.SET, StatementKind.SET_ROLE,
                    StatementKind.SET_SESSION_AUTHORIZATION);
            case "RESET" -> EnumSet.of(StatementKind.RESET, StatementKind.RESET_ROLE,
                    StatementKind.SET_SESSION_AUTHORIZATION);
            case "START" -> EnumSet.of(StatementKind.BEGIN);
            case "ROLLBACK" -> EnumSet.of(StatementKind.ROLLBACK, StatementKind.COMMIT);
            case "SECURITY" -> EnumSet.of(StatementKind.SECURITY_LABEL);
            case "IMPORT" -> EnumSet.of(StatementKind.IMPORT_FOREIGN_SCHEMA);
            default -> {
                try {
                    yield EnumSet.of(StatementKind.valueOf(verb));
                } catch (IllegalArgumentException e) {
                    yield EnumSet.noneOf(StatementKind.class);
                }
            }
        };
        return allowed.contains(kind);
    }

    private static String reading(Analysis analysis) {
        StringBuilder out = new StringBuilder();
        out.append(analysis.statements().size()).append(" statement(s)");
        for (StatementFacts f : analysis.statements()) {
            out.append(" | ").append(f.kind()).append(": ").append(escape(abbreviate(f.text())));
        }
        return out.toString();
    }

    private static String describe(QueryResult result) {
        StringBuilder out = new StringBuilder();
        for (Event e : result.events()) {
            out.append(out.length() == 0 ? "" : ", ");
            if (e instanceof Complete c) {
                out.append(c.tag());
            } else if (e instanceof Failure f) {
                out.append("ERROR ").append(f.sqlState()).append(' ').append(f.message());
            } else {
                out.append("EmptyQueryResponse");
            }
        }
        return out.length() == 0 ? "(nothing)" : out.toString();
    }

    private static String abbreviate(String s) {
        return s.length() <= 160 ? s : s.substring(0, 150) + "...(" + s.length() + " chars)";
    }

    private static String firstWords(String message) {
        String m = message.replaceAll("\"[^\"]*\"", "\"...\"");
        return m.length() <= 60 ? m : m.substring(0, 60);
    }

    /** Java-style escapes for control characters, backslashes and non-ASCII. */
    static String escape(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\f' -> out.append("\\f");
                case '\u000B' -> out.append("\\v");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    private static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder("bytes ");
        for (byte b : bytes) {
            if (b >= 0x20 && b < 0x7f && b != '\\') {
                out.append((char) b);
            } else {
                out.append(String.format("\\x%02x", b & 0xff));
            }
        }
        return out.toString();
    }
}
