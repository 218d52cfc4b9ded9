package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.query.AuditRecord;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code budgets.audit.per_identity}: one identity cannot grow the audit trail faster than its budget, whatever
 * carries its text (a simple Query, a prepared statement's every Execute, Bind values, many sessions), while other
 * identities run and are recorded whole. Each test uses its own identity: budgets are per identity. Bounds are byte
 * counts computed from the budget and the measured elapsed time, not latencies.
 */
class AuditBudgetThroughWardenTest {

    /** 1 MiB at once, 256 KiB a second. */
    static final long BURST = 1 << 20;
    static final long PER_SECOND = 256 * 1024;
    static final String TOP = """
            audit:
              sinks: [ { type: file, dir: "${AUDIT_DIR}" } ]
              statement_literals: keep
            budgets:
              audit:
                per_identity: { bytes_burst: %d, bytes_per_second: %d }
            """;

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "", TOP.formatted(BURST, PER_SECOND));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            warden.assertAuditVerifies();
        } finally {
            warden.close();
        }
    }

    private static Connection connect(String user, String extra) throws SQLException {
        return warden.connect("dev", user, warden.issuer.token().email(user).groups("eng").sign(), extra);
    }

    /** {@code SELECT n} and a comment: a statement of {@code bytes} characters that runs. */
    private static String big(int n, int bytes) {
        String head = "SELECT " + n + " AS n /* ";
        return head + "x".repeat(bytes - head.length() - 3) + " */";
    }

    /** Sends statements of 400 KiB until one is refused (after two or three: the burst is 1 MiB); at most ten. */
    private static void spend(Statement s) {
        String refusedState = null;
        for (int i = 0; i < 10 && refusedState == null; i++) {
            try {
                s.execute(big(i, 400 * 1024));
            } catch (SQLException e) {
                refusedState = e.getSQLState();
            }
        }
        assertEquals("42501", refusedState, "the budget was spent");
    }

    /** The query records of {@code user}, all sessions. */
    private static List<AuditRecord> queries(String user) throws Exception {
        return dev.warden.audit.query.AuditReader.of(warden.auditDir()).search(dev.warden.audit.query.AuditFilter.all())
                .stream().map(dev.warden.audit.query.AuditReader.Line::record)
                .filter(r -> r.type().equals("query") && user.equals(r.get("username").asText())).toList();
    }

    private static long auditBytes() throws java.io.IOException {
        try (var files = java.nio.file.Files.walk(warden.auditDir())) {
            return files.filter(java.nio.file.Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static boolean refusedForAuditCapacity(AuditRecord r) {
        return "audit-capacity".equals(r.get("rule").asText());
    }

    /** Bytes of statement text the records of {@code user} hold whole. */
    private static long recordedText(String user) throws Exception {
        long sum = 0;
        for (AuditRecord r : queries(user)) {
            if (!refusedForAuditCapacity(r)) {
                sum += r.get("statement").asText().length();
            }
        }
        return sum;
    }

    /** What {@code user} may have recorded in {@code nanos}: the burst, the refill, and a chunk per session. */
    static long allowed(long nanos, int sessions) {
        return allowedFor(BURST, PER_SECOND, nanos, sessions);
    }

    /** As above, under a budget of {@code burst} and {@code perSecond}. */
    static long allowedFor(long burst, long perSecond, long nanos, int sessions) {
        return burst + (long) (perSecond * (nanos / 1e9)) + sessions * Math.min(64 * 1024, burst / 64);
    }

    /**
     * The flood of attacker pass 18, scaled to this budget: one session sending statements of 512 KiB (a comment
     * after {@code SELECT n}). Before the budget every one was recorded whole (10 MiB here; 27 MiB/s on the
     * development machine); now the log grows by the budget, and the rest are refused with 42501, rule
     * {@code audit-capacity}, by records that name the text by its length and SHA-256 and stay small.
     */
    @Test
    void oneIdentitysHugeStatementsAreRefusedOnceItsAuditBudgetIsSpentAndTheLogStopsGrowing() throws Exception {
        String user = "flood@example.com";
        long before = auditBytes();
        List<String> states = new ArrayList<>();
        List<String> sent = new ArrayList<>();
        long t0 = System.nanoTime();
        try (Connection c = connect(user, "preferQueryMode=simple"); Statement s = c.createStatement()) {
            for (int i = 0; i < 20; i++) {
                String sql = big(i, 512 * 1024);
                sent.add(sql);
                try {
                    s.execute(sql);
                    states.add("ok");
                } catch (SQLException e) {
                    states.add(e.getSQLState());
                    assertTrue(e.getMessage().contains("audit-capacity")
                            && e.getMessage().contains("budgets.audit.per_identity"), e.getMessage());
                }
            }
        }
        long elapsed = System.nanoTime() - t0;
        long grew = auditBytes() - before;
        String summary = "answers " + states + "; log grew by " + grew + " bytes in " + elapsed / 1_000_000 + " ms";
        assertTrue(states.contains("42501"), summary);
        assertTrue(states.stream().allMatch(st -> st.equals("ok") || st.equals("42501")), summary);
        // Records of the refused are a few hundred bytes; those of the run hold their 512 KiB once.
        assertTrue(grew <= allowed(elapsed, 1) + 64 * 1024, summary);
        assertTrue(recordedText(user) <= allowed(elapsed, 1), summary);

        List<AuditRecord> refused = queries(user).stream().filter(AuditBudgetThroughWardenTest::refusedForAuditCapacity)
                .toList();
        assertEquals(states.stream().filter("42501"::equals).count(), refused.size(), summary);
        for (AuditRecord r : refused) {
            assertTrue(r.text().length() < 1500, "a refusal's record stays small: " + r.text());
            assertEquals("block", r.get("decision").asText(), r.text());
            String statement = r.get("statement").asText();
            assertTrue(statement.contains((512 * 1024) + " characters"), statement);
            // With statement_literals: keep, the SHA-256 of its first 64 KiB names which text it was.
            assertTrue(sent.stream().anyMatch(sql -> statement.contains(dev.warden.audit.event.CanonicalJson.sha256(
                    sql.substring(0, 65536).getBytes(StandardCharsets.UTF_8)))), statement);
        }
    }

    /**
     * A text is charged by the bytes its record takes, not by its characters. Before, a control character cost one
     * byte of the budget and six in the record ({@code \u0001}): statements of 170 K of them (a comment after
     * {@code SELECT n}) grew the log six times faster than the budget allowed. Now the log grows by the budget.
     */
    @Test
    void controlCharactersAreChargedByTheBytesTheirRecordTakes() throws Exception {
        String user = "escapes@example.com";
        long before = auditBytes();
        List<String> states = new ArrayList<>();
        long t0 = System.nanoTime();
        try (Connection c = connect(user, "preferQueryMode=simple"); Statement s = c.createStatement()) {
            for (int i = 0; i < 20; i++) {
                String sql = "SELECT " + i + " AS n /* " + "\u0001".repeat(170 * 1024) + " */";
                try {
                    s.execute(sql);
                    states.add("ok");
                } catch (SQLException e) {
                    states.add(e.getSQLState());
                }
            }
        }
        long elapsed = System.nanoTime() - t0;
        long grew = auditBytes() - before;
        String summary = "answers " + states + "; log grew by " + grew + " bytes in " + elapsed / 1_000_000 + " ms";
        assertTrue(states.contains("ok") && states.contains("42501"), summary);
        assertTrue(states.stream().allMatch(st -> st.equals("ok") || st.equals("42501")), summary);
        assertTrue(grew <= allowed(elapsed, 1) + 64 * 1024, summary);
    }

    /**
     * What no identity's budget pays for stays small in each record: the application_name of a login, and the user
     * name a failed login claimed, are cut to 63 characters (what PostgreSQL keeps of either) with their length.
     * Before, each was recorded whole, up to the pre-login message limit (16 KiB) a connection.
     */
    @Test
    void startUpNamesAreRecordedCutToWhatPostgresqlKeeps() throws Exception {
        String app = "app-" + "a".repeat(8000);
        try (Connection c = warden.connect("dev", "names@example.com",
                warden.issuer.token().email("names@example.com").groups("eng").sign(),
                "assumeMinServerVersion=12&ApplicationName=" + app)) {
            assertEquals("1", WardenHarness.scalar(c, "SELECT 1"));
        }
        String claimed = "claimed-" + "u".repeat(8000);
        try (Connection c = warden.connect("dev", claimed, "not-a-token", "")) {
            throw new AssertionError("logged in with a bad token");
        } catch (SQLException expected) {
            assertEquals("28P01", expected.getSQLState(), expected.getMessage());
        }
        // A failed login's record is written off the session's thread: it may land a moment after the refusal.
        List<AuditRecord> all = List.of();
        java.util.Optional<AuditRecord> failed = java.util.Optional.empty();
        for (int tries = 0; failed.isEmpty() && tries < 100; tries++) {
            Thread.sleep(tries == 0 ? 0 : 100);
            all = dev.warden.audit.query.AuditReader.of(warden.auditDir())
                    .search(dev.warden.audit.query.AuditFilter.all()).stream()
                    .map(dev.warden.audit.query.AuditReader.Line::record).toList();
            failed = all.stream().filter(r -> r.type().equals("auth.failure")
                    && r.get("username").asText().startsWith("claimed-")).findFirst();
        }
        AuditRecord start = all.stream().filter(r -> r.type().equals("session.start")
                && r.text().contains("names@example.com")).findFirst().orElseThrow();
        String recordedApp = start.get("client").get("application_name").asText();
        assertEquals(app.substring(0, 63) + "...[cut: 8004 characters]", recordedApp);
        AuditRecord failure = failed.orElseThrow();
        assertEquals(claimed.substring(0, 63) + "...[cut: 8008 characters]", failure.get("username").asText());
        assertTrue(failure.text().length() < 1000, failure.text());
    }

    /**
     * The budget is the identity's, not a session's: eight sessions of one identity, each sending less than the
     * burst (three statements of 256 KiB), together record no more than one identity's budget.
     */
    @Test
    void manySessionsOfOneIdentityShareItsBudget() throws Exception {
        String user = "many-sessions@example.com";
        int sessions = 8;
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        List<Future<List<String>>> answers = new ArrayList<>();
        long t0 = System.nanoTime();
        try {
            for (int k = 0; k < sessions; k++) {
                int session = k;
                answers.add(pool.submit(() -> {
                    List<String> states = new ArrayList<>();
                    try (Connection c = connect(user, "preferQueryMode=simple"); Statement s = c.createStatement()) {
                        for (int i = 0; i < 3; i++) {
                            try {
                                s.execute(big(session * 10 + i, 256 * 1024));
                                states.add("ok");
                            } catch (SQLException e) {
                                states.add(e.getSQLState());
                            }
                        }
                    }
                    return states;
                }));
            }
            List<String> all = new ArrayList<>();
            for (Future<List<String>> f : answers) {
                all.addAll(f.get(120, TimeUnit.SECONDS));
            }
            long elapsed = System.nanoTime() - t0;
            long recorded = recordedText(user);
            String summary = "answers " + all + "; recorded " + recorded + " bytes of text in " + elapsed / 1_000_000
                    + " ms";
            assertTrue(all.contains("42501"), summary);
            assertTrue(recorded <= allowed(elapsed, sessions), summary);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A prepared statement is recorded with its text at every Execute: a Parse of 300 KiB (which records nothing
     * while it is allowed) executed again and again spends the budget at each Execute, and is refused at the
     * Execute that would overdraw it, before it runs.
     */
    @Test
    void eachExecuteOfAPreparedHugeTextSpendsTheBudget() throws Exception {
        String user = "prepared@example.com";
        List<String> states = new ArrayList<>();
        long t0 = System.nanoTime();
        try (Connection c = connect(user, "prepareThreshold=1");
             PreparedStatement ps = c.prepareStatement("SELECT ?::int AS n /* " + "y".repeat(300 * 1024) + " */")) {
            for (int i = 0; i < 12; i++) {
                ps.setInt(1, i);
                try {
                    ps.executeQuery().close();
                    states.add("ok");
                } catch (SQLException e) {
                    states.add(e.getSQLState());
                }
            }
        }
        long elapsed = System.nanoTime() - t0;
        String summary = "answers " + states + " in " + elapsed / 1_000_000 + " ms";
        assertTrue(states.contains("42501"), summary);
        assertTrue(states.get(0).equals("ok"), summary);
        assertTrue(recordedText(user) <= allowed(elapsed, 1), summary);
        List<AuditRecord> refused = queries(user).stream().filter(AuditBudgetThroughWardenTest::refusedForAuditCapacity)
                .toList();
        assertTrue(!refused.isEmpty(), summary);
        for (AuditRecord r : refused) {
            assertEquals("extended", r.get("protocol").asText(), r.text());
            assertTrue(r.get("statement").asText().contains("1 bound values, not recorded"), r.text());
            assertTrue(r.text().length() < 1500, r.text());
        }
    }

    /**
     * Bind values: each is recorded cut at 256 characters plus its length and SHA-256 (BoundParameters), so one value
     * is bounded; but a Bind may carry 65,535 of them. 4,000 values of 1,000 characters would record about 1.3 MB:
     * more than the burst, so the Execute is refused, and its record holds none of them.
     */
    @Test
    void aBindOfManyLongValuesIsChargedForWhatItsRecordWouldHold() throws Exception {
        String user = "binds@example.com";
        int n = 4000;
        StringBuilder sql = new StringBuilder("SELECT array_length(ARRAY[");
        for (int i = 1; i <= n; i++) {
            sql.append(i == 1 ? "" : ",").append("?::text");
        }
        sql.append("], 1)");
        String value = "v".repeat(1000);
        try (Connection c = connect(user, "")) {
            // One long value: recorded cut, not whole (the statement runs, its record holds 256 of its characters).
            try (PreparedStatement one = c.prepareStatement("SELECT length(?::text)")) {
                one.setString(1, "w".repeat(100_000));
                try (var rs = one.executeQuery()) {
                    rs.next();
                    assertEquals(100_000, rs.getInt(1));
                }
            }
            SQLException refused = null;
            try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                for (int i = 1; i <= n; i++) {
                    ps.setString(i, value);
                }
                ps.executeQuery().close();
            } catch (SQLException e) {
                refused = e;
            }
            assertTrue(refused != null && "42501".equals(refused.getSQLState())
                    && refused.getMessage().contains("audit-capacity"), String.valueOf(refused));
        }
        List<AuditRecord> records = queries(user);
        AuditRecord cut = records.stream().filter(r -> r.get("statement").asText().startsWith("SELECT length"))
                .findFirst().orElseThrow();
        assertTrue(cut.text().length() < 2000, "one value is recorded cut: " + cut.text().length() + " bytes");
        AuditRecord capacity = records.stream().filter(AuditBudgetThroughWardenTest::refusedForAuditCapacity)
                .findFirst().orElseThrow();
        assertTrue(capacity.get("statement").asText().contains(n + " bound values, not recorded"), capacity.text());
        assertTrue(capacity.text().length() < 1500, capacity.text());
    }

    /**
     * One simple Query of many statements is one text and one record: 120,000 {@code SELECT 1;} (1.2 MB, more than
     * the burst) is refused whole, and none of it runs.
     */
    @Test
    void aQueryOfManyStatementsLongerThanTheBurstIsRefusedWhole() throws Exception {
        String user = "many-statements@example.com";
        try (Connection c = connect(user, "preferQueryMode=simple"); Statement s = c.createStatement()) {
            s.execute("CREATE TEMP TABLE ran (n int)");
            String sql = "INSERT INTO ran VALUES (1);" + "SELECT 1;".repeat(120_000);
            SQLException refused = null;
            try {
                s.execute(sql);
            } catch (SQLException e) {
                refused = e;
            }
            assertTrue(refused != null && "42501".equals(refused.getSQLState())
                    && refused.getMessage().contains("audit-capacity"), String.valueOf(refused));
            try (var rs = s.executeQuery("SELECT count(*) FROM ran")) {
                rs.next();
                assertEquals(0, rs.getInt(1), "nothing of the refused text ran");
            }
        }
    }

    /**
     * Another identity is not touched by one identity's spent budget: its statements run and are recorded whole.
     * The spent identity runs again once its bucket refilled.
     */
    @Test
    void anotherIdentityRunsWhileOneIsOutAndTheOneRunsAgainAfterTheRefill() throws Exception {
        String spent = "spent@example.com";
        String other = "other@example.com";
        try (Connection c = connect(spent, "preferQueryMode=simple"); Statement s = c.createStatement()) {
            spend(s);

            String whole = big(77, 100 * 1024);
            try (Connection o = connect(other, "preferQueryMode=simple"); Statement os = o.createStatement()) {
                for (int i = 0; i < 3; i++) {
                    os.execute(whole);
                }
            }
            long recordedWhole = queries(other).stream().filter(r -> r.get("statement").asText().equals(whole))
                    .count();
            assertEquals(3, recordedWhole, "the other identity's statements are recorded whole");

            // 400 KiB at 256 KiB a second: refilled within two seconds; up to 30 s on a loaded machine.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            boolean ran = false;
            while (!ran && System.nanoTime() < deadline) {
                Thread.sleep(500);
                try {
                    s.execute(big(99, 400 * 1024));
                    ran = true;
                } catch (SQLException e) {
                    assertEquals("42501", e.getSQLState(), e.getMessage());
                }
            }
            assertTrue(ran, "the identity runs again once its budget refilled");
        }
    }

    /**
     * A reload applies the new budget to the next statement: turned off, a spent identity's next statement runs at
     * once; restored, it is refused again.
     */
    @Test
    void aReloadAppliesTheNewBudgetToTheNextStatement() throws Exception {
        String user = "reloaded@example.com";
        dev.warden.config.Policy original = warden.policy();
        try (Connection c = connect(user, "preferQueryMode=simple"); Statement s = c.createStatement()) {
            spend(s);
            warden.server().reload(warden.policyWith("  allow_plaintext_on_loopback: true\n", "",
                    TOP.replaceAll("per_identity: .*", "per_identity: off")));
            for (int i = 0; i < 5; i++) {
                s.execute(big(100 + i, 400 * 1024)); // 2 MB in a moment: over the old budget, none refused
            }
            warden.server().reload(warden.policyWith("  allow_plaintext_on_loopback: true\n", "",
                    TOP.formatted(65536, 1024)));
            SQLException refused = null;
            try {
                s.execute(big(200, 400 * 1024));
            } catch (SQLException e) {
                refused = e;
            }
            assertTrue(refused != null && "42501".equals(refused.getSQLState()), "longer than the new burst: "
                    + refused);
        } finally {
            warden.server().reload(original);
        }
    }
}
