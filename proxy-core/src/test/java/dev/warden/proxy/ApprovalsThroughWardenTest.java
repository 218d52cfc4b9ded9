package dev.warden.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A prod write waits in its session for an approver; only an approval lets it reach the database. */
class ApprovalsThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", WardenHarness.APPROVALS_PROD, TOP_LEVEL);
    }

    private static final String TOP_LEVEL = """
                admin: { address: "127.0.0.1:0" }
                approvals:
                  timeout: 3s
                  store: { type: file, path: "${APPROVALS_DIR}" }
                guardrails:
                  rules:
                    - { name: batch-cleanup-retry, environments: [prod], match: { statements: [DELETE], tables: [batch_log] }, unless: { groups: [dba] }, action: require_approval, approvers: [dba], mode: retry }
                    - { name: billing-audit-kept, environments: [prod], match: { statements: [DELETE, UPDATE, TRUNCATE], tables: [public.billing_audit] }, action: block }
                    - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [dba] }
                    - { name: billing-frozen-kept, environments: [prod], match: { statements: [INSERT], tables: [public.billing_frozen] }, action: block }
                    - { name: cursor-log-retry, environments: [dev], match: { statements: [DELETE], tables: [cursor_log] }, unless: { groups: [dba] }, action: require_approval, approvers: [dba], mode: retry }
                """;

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS billing");
            s.execute("CREATE TABLE billing (id int primary key, amount int)");
            s.execute("INSERT INTO billing VALUES (1, 100)");
            s.execute("DROP TABLE IF EXISTS batch_log");
            s.execute("CREATE TABLE batch_log (id int primary key)");
            s.execute("INSERT INTO batch_log SELECT generate_series(1, 5)");
        }
    }

    @Test
    void anApprovedUpdateRunsInTheSessionThatIssuedIt() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "/* reason: refund ticket 42 */ UPDATE billing SET amount = 50 WHERE id = 1"));
            String id = awaitPendingId();
            assertEquals(100, amount(), "nothing reaches the database while the statement waits");
            Cli approve = cli(bobToken(), "approve", id, "--comment", "refund ok");
            assertEquals(0, approve.exit, approve.out + approve.err);
            assertEquals(1, update.get(10, TimeUnit.SECONDS));
            assertEquals(50, amount());
            SQLWarning notice = st.getWarnings();
            assertNotNull(notice, "the client was told its statement waits for approval");
            assertTrue(notice.getMessage().contains(id), notice.getMessage());
        }
    }

    /**
     * An approval can take minutes, and the statement was judged when it was sent. Before, a trigger made
     * meanwhile (through Warden, in another environment on the same database) ran with the approved UPDATE and
     * emptied a table a block rule keeps: the approver saw only the UPDATE. Now an approved statement whose names
     * DDL redefined while it waited is refused (42501, approval-outdated); run again, it is judged with the
     * trigger and blocked.
     */
    @Test
    void anApprovedUpdateWhoseTableGotATriggerWhileItWaitedIsJudgedAgain() throws Exception {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS billing_audit");
            s.execute("CREATE TABLE billing_audit (id int)");
            s.execute("INSERT INTO billing_audit VALUES (1), (2)");
        }
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "");
             Connection admin = warden.connect("")) {
            Statement st = alice.createStatement();
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "UPDATE billing SET amount = 60 WHERE id = 1"));
            String bob = bobToken();
            String id = awaitPendingId();
            try (Statement a = admin.createStatement()) {
                a.execute("CREATE FUNCTION billing_wipe() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                        + "DELETE FROM public.billing_audit; RETURN NEW; END$$");
                a.execute("CREATE TRIGGER billing_t BEFORE UPDATE ON billing FOR EACH ROW EXECUTE FUNCTION "
                        + "billing_wipe()");
            }
            Cli approve = cli(bob, "approve", id);
            assertEquals(0, approve.exit, approve.out + approve.err);
            Object result = update.get(10, TimeUnit.SECONDS);
            assertEquals(2, count("billing_audit"), "the trigger ran with the approved UPDATE: " + result);
            assertTrue(result instanceof SQLException e && "42501".equals(e.getSQLState())
                    && e.getMessage().contains("approval-outdated"), String.valueOf(result));
            assertEquals(100, amount());
            Object again = run(st, "UPDATE billing SET amount = 60 WHERE id = 1");
            assertTrue(again instanceof SQLException e && e.getMessage().contains("billing-audit-kept"),
                    String.valueOf(again));
            assertEquals(2, count("billing_audit"));
        } finally {
            // Through Warden, so that its catalog drops the trigger at once (the other tests update billing).
            try (Connection admin = warden.connect(""); Statement s = admin.createStatement()) {
                s.execute("DROP TRIGGER IF EXISTS billing_t ON billing");
                s.execute("DROP FUNCTION IF EXISTS billing_wipe()");
                s.execute("DROP TABLE IF EXISTS billing_audit");
            }
        }
    }

    /**
     * A write held for approval pipelined behind its own session's DDL (a Query whose transaction lasts a second).
     * It used to be judged while that DDL was open (its view unreadable), held, and run once approved. Since a121 a
     * statement held for approval waits for the ReadyForQuery of a batch before it that may have changed a setting
     * (every statement but a few may: see RelayHandler#settingsNeutral), so it is judged with the DDL committed: the
     * view's DELETE reaches billing's trigger, which deletes from billing_audit, and the block rule refuses it.
     */
    @Test
    void aWriteHeldBehindItsOwnSessionsDdlInAPipelineIsJudgedWithTheDdlCommitted() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Query("CREATE VIEW public.billing_v AS SELECT * FROM "
                    + "public.billing; SELECT pg_sleep(1)"));
            c.send(new dev.warden.pg.message.FrontendMessage.Query("DELETE FROM public.billing_v WHERE id > 1000"));
            String ddl = ApprovalsCli.awaitPendingId(warden, "CREATE VIEW");
            assertEquals(0, cli(bobToken(), "approve", ddl).exit);
            java.util.List<dev.warden.pg.message.BackendMessage> first = c.untilReady();
            assertEquals(java.util.List.of(), RawClient.errors(first), "the view is made");
            java.util.List<dev.warden.pg.message.BackendMessage> second = c.untilReady();
            assertTrue(second.toString().contains("billing-audit-kept"), String.valueOf(second));
        } finally {
            try (Connection admin = warden.connect(""); Statement s = admin.createStatement()) {
                s.execute("DROP VIEW IF EXISTS public.billing_v");
            }
        }
    }

    /**
     * A rule that asks for approval decided before a rule that blocks: an UPDATE of billing (approval) whose
     * trigger deletes from billing_audit (block) asked an approver, who saw only the UPDATE, and the approved
     * UPDATE ran the trigger. Now the block decides at once, and no approval is asked for.
     */
    @Test
    void aBlockInWhatATriggerRunsOutranksTheStatementsApproval() throws Exception {
        try (Connection admin = warden.connect(""); Statement a = admin.createStatement()) {
            a.execute("CREATE TABLE billing_audit (id int)");
            a.execute("INSERT INTO billing_audit VALUES (1), (2)");
            a.execute("CREATE TABLE billing_frozen (id int)");
            a.execute("CREATE FUNCTION billing_wipe() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                    + "DELETE FROM public.billing_audit; RETURN NEW; END$$");
            a.execute("CREATE TRIGGER billing_t BEFORE UPDATE ON billing FOR EACH ROW EXECUTE FUNCTION "
                    + "billing_wipe()");
            try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
                long started = System.nanoTime();
                Object result = run(alice.createStatement(), "UPDATE billing SET amount = 70 WHERE id = 1");
                assertTrue(result instanceof SQLException e && "42501".equals(e.getSQLState())
                        && e.getMessage().contains("billing-audit-kept"), String.valueOf(result));
                assertTrue(System.nanoTime() - started < 2_000_000_000L, "refused at once, not held for approval");
                // And one rule over another for the same statement: the block listed after the approval rule.
                Object insert = run(alice.createStatement(), "INSERT INTO billing_frozen VALUES (1)");
                assertTrue(insert instanceof SQLException e && e.getMessage().contains("billing-frozen-kept"),
                        String.valueOf(insert));
            } finally {
                a.execute("DROP TRIGGER IF EXISTS billing_t ON billing");
                a.execute("DROP FUNCTION IF EXISTS billing_wipe()");
                a.execute("DROP TABLE IF EXISTS billing_audit, billing_frozen");
            }
            assertEquals(100, amount());
        }
    }

    private static long count(String table) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void aDeniedUpdateNeverReachesTheDatabaseAndCarriesTheComment() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "UPDATE billing SET amount = 0 WHERE id = 1"));
            String id = awaitPendingId();
            Cli deny = cli(bobToken(), "deny", id, "--comment", "not during the freeze");
            assertEquals(0, deny.exit, deny.out + deny.err);
            SQLException e = (SQLException) update.get(10, TimeUnit.SECONDS);
            assertEquals("42501", e.getSQLState());
            assertTrue(e.getMessage().contains("not during the freeze"), e.getMessage());
            assertEquals(100, amount());
            assertEquals(1, scalar(alice, "SELECT 1"), "the session stays usable");
        }
    }

    @Test
    void anUnansweredRequestExpiresWith57014() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            long start = System.nanoTime();
            Object result = run(alice.createStatement(), "UPDATE billing SET amount = 1 WHERE id = 1");
            SQLException e = (SQLException) result;
            assertEquals("57014", e.getSQLState());
            assertTrue(e.getMessage().contains("3s"), e.getMessage());
            assertTrue(System.nanoTime() - start >= 2_500_000_000L);
            assertEquals(100, amount());
        }
    }

    /**
     * A simple Query's SQL EXECUTE of a prepared read, with constants for arguments, is a read (attacker pass a139, F2:
     * it was held for approval as a write); one whose argument calls a function that writes is still held, and so is
     * an EXECUTE in the text that prepares its statement.
     */
    @Test
    void anExecuteOfAPreparedReadIsARead() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "preferQueryMode=simple");
             Statement st = alice.createStatement()) {
            st.execute("PREPARE pr(int) AS SELECT amount FROM billing WHERE id = $1");
            long start = System.nanoTime();
            try (ResultSet rs = st.executeQuery("EXECUTE pr(1)")) {
                assertTrue(rs.next());
                assertEquals(100, rs.getInt(1));
            }
            try (ResultSet rs = st.executeQuery("execute PR ( -1 ) ;")) {
                assertFalse(rs.next());
            }
            assertTrue(System.nanoTime() - start < 2_500_000_000L, "neither waited for an approval");
            for (String held : List.of("EXECUTE pr(lo_unlink(424242))", "PREPARE pr2 AS SELECT 1; EXECUTE pr2")) {
                Object result = run(st, held);
                assertTrue(result instanceof SQLException e && "57014".equals(e.getSQLState()), held + ": " + result);
            }
        }
    }

    /**
     * The constants of an EXECUTE (or a plain EXPLAIN EXECUTE) of a statement a Parse made with a domain's type for its
     * parameter are converted to the domain, which runs its CHECK: held as a write (a helper's pass, a143 F0: the
     * CHECK's DELETE ran unheld once an EXECUTE of a read with constants was judged as a read).
     */
    @Test
    void anExecuteOfAParsedStatementWithADomainParameterIsAWrite() throws Exception {
        int oid;
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION ap_w(text) RETURNS boolean LANGUAGE plpgsql AS "
                    + "$$BEGIN DELETE FROM public.batch_log WHERE id > 0; RETURN true; END$$");
            s.execute("DROP DOMAIN IF EXISTS ap_dom");
            s.execute("CREATE DOMAIN ap_dom AS text CHECK (ap_w(VALUE))");
            oid = scalar(c, "SELECT 'ap_dom'::regtype::oid::int");
        }
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Parse("q", "SELECT $1", List.of(oid)));
            c.send(new dev.warden.pg.message.FrontendMessage.Sync());
            assertEquals(List.of(), RawClient.errors(c.untilReady()));
            for (String sql : List.of("EXECUTE q('x')", "EXPLAIN EXECUTE q('x')")) {
                c.send(new dev.warden.pg.message.FrontendMessage.Query(sql));
                List<String> errors = RawClient.errors(c.untilReady());
                assertTrue(errors.toString().contains("57014"), sql + ": held until it expired, " + errors);
            }
        }
        assertEquals(5, count(), "the domain's CHECK never ran");
    }

    /**
     * An EXPLAIN without ANALYZE of a write plans it and runs nothing: a rule on writes does not hold it (attacker pass
     * a139, F3: it was held). With ANALYZE, in the old and the parenthesised spelling, it runs the write and is held.
     */
    @Test
    void aPlanOfAWriteIsNotHeldButAnAnalyzedOneIs() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "");
             Statement st = alice.createStatement()) {
            long start = System.nanoTime();
            for (String plan : List.of("EXPLAIN UPDATE billing SET amount = 5 WHERE id = 1",
                    "EXPLAIN (ANALYZE off, VERBOSE) DELETE FROM billing WHERE id = 1",
                    "EXPLAIN (ANALYZE 0) UPDATE billing SET amount = 6 WHERE id = 1")) {
                try (ResultSet rs = st.executeQuery(plan)) {
                    assertTrue(rs.next(), plan);
                }
            }
            assertTrue(System.nanoTime() - start < 2_500_000_000L, "no plan waited for an approval");
            for (String analyzed : List.of("EXPLAIN ANALYZE UPDATE billing SET amount = 7 WHERE id = 1",
                    "EXPLAIN (\"analyze\", COSTS off) DELETE FROM billing WHERE id = 1")) {
                Object result = run(st, analyzed);
                assertTrue(result instanceof SQLException e && "57014".equals(e.getSQLState()), analyzed + ": " + result);
            }
            assertEquals(100, amount(), "nothing ran");
        }
    }

    @Test
    void cancellingWhileWaitingWithdrawsTheRequest() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "UPDATE billing SET amount = 7 WHERE id = 1"));
            String id = awaitPendingId();
            st.cancel();
            SQLException e = (SQLException) update.get(10, TimeUnit.SECONDS);
            assertEquals("57014", e.getSQLState(), e.getMessage());
            Cli approve = cli(bobToken(), "approve", id);
            assertTrue(approve.exit != 0, "a withdrawn request cannot be approved: " + approve.out + approve.err);
            assertEquals(100, amount());
        }
    }

    @Test
    void dbaWritesNeedNoApprovalAndReadsNeverDo() throws Exception {
        try (Connection bob = warden.connect("prod", "bob@example.com", bobToken(), "")) {
            assertEquals(1, bob.createStatement().executeUpdate("UPDATE billing SET amount = 99 WHERE id = 1"));
        }
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            assertEquals(99, scalar(alice, "SELECT amount FROM billing"));
        }
    }

    @Test
    void inRetryModeTheFirstAttemptFailsAtOnceAndTheSameStatementRunsOnceAfterApproval() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            String delete = "DELETE FROM batch_log WHERE id = 1";
            SQLException first = (SQLException) run(alice.createStatement(), delete);
            assertEquals("42501", first.getSQLState());
            Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
            assertTrue(m.find(), first.getMessage());
            String id = m.group(1);
            assertEquals(5, count(), "nothing ran");
            Cli approve = cli(bobToken(), "approve", id);
            assertEquals(0, approve.exit, approve.out + approve.err);
            // From another session: its approval.used record names the session that ran it (a144 F3: it named the
            // one that filed the request).
            try (Connection later = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
                assertEquals(1, run(later.createStatement(), delete), "the approved statement runs");
            }
            assertEquals(4, count());
            SQLException again = (SQLException) run(alice.createStatement(), "DELETE FROM batch_log WHERE id = 1");
            assertEquals("42501", again.getSQLState(), "an approval is used once");
            SQLException other = (SQLException) run(alice.createStatement(), "DELETE FROM batch_log WHERE id = 2");
            assertEquals("42501", other.getSQLState(), "it covers only the statement that was approved");
            String requested = null;
            String used = null;
            String ran = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while ((used == null || ran == null) && System.nanoTime() < deadline) {
                for (var line : dev.warden.audit.query.AuditReader.of(warden.auditDir())
                        .search(dev.warden.audit.query.AuditFilter.all())) {
                    var r = line.record();
                    boolean ofIt = r.get("approval_id") != null && r.get("approval_id").asText().equals(id);
                    if (ofIt && r.type().equals("approval.requested")) {
                        requested = r.get("session").asText();
                    } else if (ofIt && r.type().equals("approval.used")) {
                        used = r.get("session").asText();
                    } else if (ofIt && r.type().equals("query") && !r.get("session").asText().equals(requested)) {
                        ran = r.get("session").asText();
                    }
                }
                Thread.sleep(50);
            }
            assertNotNull(ran, "the retry's query record names the approval");
            assertNotEquals(requested, ran);
            assertEquals(ran, used, "approval.used names the session that used it");
        }
    }

    /**
     * a144 F2: an approval given with a token revoked since (denied_token_ids, by a reload: a leaked token) let the
     * retry run. Now the retry files a new request. a145 F6: the approval was only set aside while the id stayed in
     * the list (taking it out made it usable again), the set-aside was not audited, and approval.approved did not
     * name the token. Now the approval ends as revoked, approval.revoked records it, and both records carry the
     * token id.
     */
    @Test
    void inRetryModeAnApprovalGivenWithATokenRevokedSinceIsNotUsed() throws Exception {
        String delete = "DELETE FROM batch_log WHERE id = 4";
        String leaked = warden.issuer.token().subject("user-bob").email("bob@example.com").groups("dba")
                .claim("jti", "bob-leaked-a144").sign();
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            SQLException first = (SQLException) run(alice.createStatement(), delete);
            Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
            assertTrue(m.find(), first.getMessage());
            String id = m.group(1);
            Cli approve = cli(leaked, "approve", id);
            assertEquals(0, approve.exit, approve.out + approve.err);
            String second;
            warden.server().reload(warden.policyWith("  allow_plaintext_on_loopback: true\n",
                    WardenHarness.APPROVALS_PROD, TOP_LEVEL, "bob-leaked-a144"));
            try {
                SQLException retried = (SQLException) run(alice.createStatement(), delete);
                assertEquals("42501", retried.getSQLState(), "approved with a revoked token: not used");
                Matcher again = Pattern.compile("request (apr_[a-z0-9]+)").matcher(retried.getMessage());
                assertTrue(again.find() && !again.group(1).equals(id), retried.getMessage());
                second = again.group(1);
                assertEquals(5, count(), "nothing ran");
            } finally {
                warden.server().reload(warden.policyWith("  allow_plaintext_on_loopback: true\n",
                        WardenHarness.APPROVALS_PROD, TOP_LEVEL));
            }
            // With the token no longer revoked, the revoked approval stays ended: the retry asks again.
            SQLException afterwards = (SQLException) run(alice.createStatement(), delete);
            assertEquals("42501", afterwards.getSQLState(), "a revoked approval does not come back");
            Matcher latest = Pattern.compile("request (apr_[a-z0-9]+)").matcher(afterwards.getMessage());
            assertTrue(latest.find() && !latest.group(1).equals(id), afterwards.getMessage());
            second = latest.group(1);
            assertEquals(5, count());
            Cli shown = cli(bobToken(), "show", id, "--json");
            assertTrue(shown.out.contains("\"status\":\"revoked\"") || shown.out.contains("\"status\" : \"revoked\""),
                    shown.out);
            // The control: the second request, approved with a token in force, runs.
            assertEquals(0, cli(bobToken(), "approve", second).exit);
            assertEquals(1, run(alice.createStatement(), delete));
            assertEquals(4, count());
            String approvedToken = null;
            String revokedToken = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (revokedToken == null && System.nanoTime() < deadline) {
                for (var line : dev.warden.audit.query.AuditReader.of(warden.auditDir())
                        .search(dev.warden.audit.query.AuditFilter.all())) {
                    var r = line.record();
                    if (r.get("approval_id") == null || !r.get("approval_id").asText().equals(id)) {
                        continue;
                    }
                    if (r.type().equals("approval.approved")) {
                        approvedToken = r.json().path("token_id").asText(null);
                    } else if (r.type().equals("approval.revoked")) {
                        revokedToken = r.json().path("token_id").asText(null);
                    }
                }
                Thread.sleep(50);
            }
            assertEquals("bob-leaked-a144", approvedToken, "approval.approved names the approver's token");
            assertEquals("bob-leaked-a144", revokedToken, "approval.revoked records the set-aside and its token");
        }
    }

    /**
     * a147 F5, F6: "the same person" folded Unicode case, so {@code \u212Aate@example.com} (KELVIN SIGN: another
     * identity, with a database login of its own) was kate@example.com to approvals: in retry mode it ran kate's
     * approved DELETE, and kate's own retry was held again. a147 F4: another account claiming kate's address,
     * unverified, was kate. Now neither is kate.
     */
    @Test
    void anApprovalIsUsedOnlyByTheIdentityItWasGivenTo() throws Exception {
        String delete = "DELETE FROM batch_log WHERE id = 2";
        String kate = "kate@example.com";
        String kelvin = "\u212Aate@example.com";
        String kateToken = warden.issuer.token().subject("user-kate").email(kate).groups("eng").sign();
        String kelvinToken = warden.issuer.token().subject("user-kelvin").email(kelvin).groups("eng").sign();
        String unverified = warden.issuer.token().subject("user-other").email(kate).groups("eng")
                .claim("email_verified", false).sign();
        SQLException refused = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                () -> warden.connect("prod", kate, unverified, ""));
        assertTrue(refused.getMessage().contains("is not verified"), refused.getMessage());
        try (Connection k = warden.connect("prod", kate, kateToken, "");
             Connection look = warden.connect("prod", kelvin, kelvinToken, "")) {
            SQLException first = (SQLException) run(k.createStatement(), delete);
            Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
            assertTrue(m.find(), first.getMessage());
            assertEquals(0, cli(bobToken(), "approve", m.group(1)).exit);
            SQLException other = (SQLException) run(look.createStatement(), delete);
            assertEquals("42501", other.getSQLState(), "kate's approval is not the look-alike's: "
                    + other.getMessage());
            assertEquals(5, count());
            Cli mine = cli(kelvinToken, "show", m.group(1));
            assertTrue(mine.exit != 0, "nor may it read kate's request: " + mine.out);
            assertEquals(1, run(k.createStatement(), delete), "kate's retry runs under her approval");
            assertEquals(4, count());
        }
    }

    /**
     * a121 (4): in retry mode an approval covered the same text whatever it ran by then: the function the approved
     * DELETE calls was replaced to delete another row, and the retry ran under the approval. Now the approval binds
     * the bodies the statement was judged with (and its rule and approvers).
     */
    @Test
    void inRetryModeAnApprovalDoesNotCoverAStatementWhoseFunctionWasReplacedSince() throws Exception {
        try (Connection admin = warden.connect(""); Statement s = admin.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION public.batch_pick(i int) RETURNS int LANGUAGE sql AS 'SELECT $1'");
        }
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "");
             Connection bob = warden.connect("prod", "bob@example.com", bobToken(), "")) {
            String delete = "DELETE FROM batch_log WHERE id = public.batch_pick(3)";
            SQLException first = (SQLException) run(alice.createStatement(), delete);
            Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
            assertTrue(m.find(), first.getMessage());
            Cli show = cli(bobToken(), "show", m.group(1), "--json");
            assertTrue(show.out.contains("-- function bodies it runs: sha256 ")
                    && show.out.contains("-- rule: batch-cleanup-retry (approvers: dba)"), show.out);
            assertEquals(0, cli(bobToken(), "approve", m.group(1)).exit);
            bob.createStatement().execute("CREATE OR REPLACE FUNCTION public.batch_pick(i int) RETURNS int LANGUAGE "
                    + "sql AS $$DELETE FROM batch_log WHERE id = 5; SELECT $1$$");
            SQLException retried = (SQLException) run(alice.createStatement(), delete);
            assertEquals("42501", retried.getSQLState(), retried.getMessage());
            assertTrue(retried.getMessage().contains("was filed"), retried.getMessage());
            assertEquals(5, count(), "nothing ran under the approval of the statement as it was");
        } finally {
            try (Connection admin = warden.connect(""); Statement s = admin.createStatement()) {
                s.execute("DROP FUNCTION IF EXISTS public.batch_pick(int)");
            }
        }
    }

    /**
     * a122 (3): the digest is of the bodies as the catalog holds them, committed: a function replaced inside the
     * session's open transaction went unseen, and the retry ran the new body under the approval. Now a retry that
     * reaches what its own open transaction redefined is refused.
     */
    @Test
    void inRetryModeAStatementReachingItsOwnTransactionsDdlIsRefused() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            heldThenApproved(st, "CREATE FUNCTION pg_temp.pick3(i int) RETURNS int LANGUAGE sql AS 'SELECT $1'");
            String delete = "DELETE FROM batch_log WHERE id = pg_temp.pick3(3)";
            SQLException first = (SQLException) run(st, delete);
            Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
            assertTrue(m.find(), first.getMessage());
            assertEquals(0, cli(bobToken(), "approve", m.group(1)).exit);
            alice.setAutoCommit(false);
            heldThenApproved(st, "CREATE OR REPLACE FUNCTION pg_temp.pick3(i int) RETURNS int LANGUAGE sql AS "
                    + "$$DELETE FROM batch_log WHERE id = 5; SELECT $1$$");
            Object retried = run(st, delete);
            assertTrue(retried instanceof SQLException e && e.getMessage().contains("approval-open-ddl"),
                    String.valueOf(retried));
            alice.rollback();
        }
        assertEquals(5, count(), "nothing ran under the approval");
    }

    /**
     * a122 (2): the digest covered function bodies only: a temporary table shadowing the approved statement's table
     * (or a view redefined, a trigger added) let the retry run under the approval on something else. Now the
     * definitions of the relations it names, resolved by the session's search_path, are bound too.
     */
    @Test
    void inRetryModeAnApprovalDoesNotCoverTheSameTextOnAnotherRelation() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            String delete = "DELETE FROM batch_log WHERE id = 4";
            SQLException first = (SQLException) run(st, delete);
            Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
            assertTrue(m.find(), first.getMessage());
            Cli show = cli(bobToken(), "show", m.group(1), "--json");
            assertTrue(show.out.contains("-- definitions of what it reaches (relations, views, triggers, rules, "
                    + "policies, defaults, functions, operators): md5 "), show.out);
            assertEquals(0, cli(bobToken(), "approve", m.group(1)).exit);
            heldThenApproved(st, "CREATE TEMP TABLE batch_log (id int)");
            Object retried = run(st, delete);
            assertTrue(retried instanceof SQLException e && e.getMessage().contains("was filed"),
                    "the approval covers the statement on public.batch_log only: " + retried);
        }
        assertEquals(5, count());
    }

    /**
     * a123 (2-5, 7): the definitions digest was of the relations the statement names: a view over a view whose inner
     * view was redefined, and a function a trigger function calls, replaced, let the retry run under the approval
     * (also bound now: the function a column's domain checks with, the action of a foreign key referencing the
     * table);
     * an approval filed by a session with a temporary object was usable only there. Each change below is made after
     * the approval; the retry must file a new request and delete nothing. Then an approval filed by a session with a
     * temporary table is used from a fresh session, where the statement runs.
     */
    @Test
    void inRetryModeAnApprovalCoversWhatTheStatementReachesNotJustWhatItNames() throws Exception {
        String delete = "DELETE FROM batch_log WHERE id IN (SELECT id FROM public.bl_out)";
        List<String> changes = List.of(
                "CREATE OR REPLACE VIEW public.bl_in AS SELECT id FROM batch_log WHERE id >= 3",
                "CREATE OR REPLACE FUNCTION public.bl_note() RETURNS int LANGUAGE plpgsql AS "
                        + "'BEGIN DELETE FROM batch_log WHERE id = 5; RETURN 2; END'",
                "CREATE OR REPLACE FUNCTION public.bl_pick() RETURNS int LANGUAGE sql AS 'SELECT 3'",
                "CREATE OR REPLACE FUNCTION public.bl_ok(i int) RETURNS bool LANGUAGE sql AS 'SELECT $1 < 100'",
                "ALTER TABLE public.bl_child DROP CONSTRAINT bl_child_pid_fkey, ADD CONSTRAINT bl_child_pid_fkey "
                        + "FOREIGN KEY (pid) REFERENCES batch_log (id) ON DELETE CASCADE",
                "ALTER DOMAIN public.bl_id SET DEFAULT 7",
                "ALTER FUNCTION public.bl_pick() SECURITY DEFINER",
                "CREATE UNIQUE INDEX bl_idx ON batch_log (id)",
                "ALTER VIEW public.bl_in SET (security_barrier = true)");
        try {
            for (String change : changes) {
                // Its own text each time: an approval the retry did not use stays valid for the text as it was.
                String attempt = delete + " AND " + change.length() + " > 0";
                try (Connection admin = warden.direct(); Statement s = admin.createStatement()) {
                    s.execute("DROP VIEW IF EXISTS public.bl_out, public.bl_in");
                    s.execute("DROP TABLE IF EXISTS public.bl_child");
                    s.execute("DROP INDEX IF EXISTS bl_idx");
                    s.execute("CREATE OR REPLACE FUNCTION public.bl_ok(i int) RETURNS bool LANGUAGE sql AS "
                            + "'SELECT true'");
                    s.execute("ALTER TABLE batch_log ALTER COLUMN id TYPE int");
                    s.execute("DROP DOMAIN IF EXISTS public.bl_id");
                    s.execute("CREATE DOMAIN public.bl_id AS int CHECK (public.bl_ok(VALUE))");
                    s.execute("ALTER TABLE batch_log ALTER COLUMN id TYPE public.bl_id");
                    s.execute("CREATE TABLE public.bl_child (pid int CONSTRAINT bl_child_pid_fkey REFERENCES "
                            + "batch_log (id))");
                    s.execute("CREATE OR REPLACE FUNCTION public.bl_pick() RETURNS int LANGUAGE sql AS 'SELECT 4'");
                    s.execute("CREATE VIEW public.bl_in AS SELECT id FROM batch_log WHERE id = public.bl_pick()");
                    s.execute("CREATE VIEW public.bl_out AS SELECT id FROM public.bl_in");
                    s.execute("CREATE OR REPLACE FUNCTION public.bl_note() RETURNS int LANGUAGE plpgsql AS "
                            + "'BEGIN RETURN 1; END'");
                    s.execute("CREATE OR REPLACE FUNCTION public.bl_keep() RETURNS trigger LANGUAGE plpgsql AS "
                            + "'BEGIN PERFORM public.bl_note(); RETURN OLD; END'");
                    s.execute("DROP TRIGGER IF EXISTS bl_keep ON batch_log");
                    s.execute("CREATE TRIGGER bl_keep BEFORE DELETE ON batch_log FOR EACH ROW EXECUTE FUNCTION "
                            + "public.bl_keep()");
                }
                try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
                    SQLException first = (SQLException) run(alice.createStatement(), attempt);
                    Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
                    assertTrue(m.find(), first.getMessage());
                    assertEquals(0, cli(bobToken(), "approve", m.group(1)).exit);
                    try (Connection admin = warden.direct(); Statement s = admin.createStatement()) {
                        s.execute(change);
                    }
                    Object retried = run(alice.createStatement(), attempt);
                    assertTrue(retried instanceof SQLException e && e.getMessage().contains("was filed"),
                            "after " + change + ": " + retried);
                }
                assertEquals(5, count(), "nothing ran under the approval after " + change);
            }
            try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
                Statement st = alice.createStatement();
                heldThenApproved(st, "CREATE TEMP TABLE bl_scratch (id int)");
                SQLException first = (SQLException) run(st, delete);
                Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(first.getMessage());
                assertTrue(m.find(), first.getMessage());
                Cli show = cli(bobToken(), "show", m.group(1), "--json");
                assertFalse(show.out.matches("(?s).*pg_temp_[0-9].*"), "no temporary schema's number: " + show.out);
                assertEquals(0, cli(bobToken(), "approve", m.group(1)).exit);
            }
            try (Connection other = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
                assertEquals(1, run(other.createStatement(), delete), "the approval is used from another session");
            }
            assertEquals(4, count());
        } finally {
            try (Connection admin = warden.direct(); Statement s = admin.createStatement()) {
                s.execute("DROP VIEW IF EXISTS public.bl_out, public.bl_in");
                s.execute("DROP TRIGGER IF EXISTS bl_keep ON batch_log");
                s.execute("DROP TABLE IF EXISTS public.bl_child");
                s.execute("DROP DOMAIN IF EXISTS public.bl_id CASCADE");
                s.execute("DROP FUNCTION IF EXISTS public.bl_keep(), public.bl_note(), public.bl_pick(), "
                        + "public.bl_ok(int)");
            }
        }
    }

    /**
     * a124 (F13): in hold mode the statement ran once approved without what it reaches being read again: a view it
     * reads, replaced outside Warden (a migration) while it waited, ran under the approval of the view as it was.
     * Now it is read again once approved, and the statement is refused (approval-outdated) when it changed.
     */
    @Test
    void aHeldStatementWhoseViewWasReplacedOutsideWardenWhileHeldIsRefusedOnceApproved() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            assertEquals(1, viewReplacedWhileHeld("public.bl_hv", sql -> run(st, sql)));
        } finally {
            direct("DROP VIEW IF EXISTS public.bl_hv");
        }
    }

    /**
     * Sends (with {@code send}) an UPDATE of billing through {@code view}, held for approval: the approver is shown
     * what it reaches, read; the view is replaced outside Warden and the statement approved: refused
     * (approval-outdated), nothing ran. Sent again, approved with nothing changed: it runs; its result is returned.
     */
    private Object viewReplacedWhileHeld(String view, java.util.function.Function<String, Object> send)
            throws Exception {
        direct("CREATE OR REPLACE VIEW " + view + " AS SELECT 1 AS id");
        String update = "UPDATE billing SET amount = 8 WHERE id IN (SELECT id FROM " + view + ")";
        CompletableFuture<Object> held = CompletableFuture.supplyAsync(() -> send.apply(update));
        String id = awaitPendingId();
        Cli show = cli(bobToken(), "show", id, "--json");
        assertTrue(show.out.contains("search_path=") && !show.out.contains("not read")
                && Pattern.compile("operators\\): md5 [0-9a-f]{32}").matcher(show.out).find(),
                "what it reaches is read: " + show.out);
        direct("CREATE OR REPLACE VIEW " + view + " AS SELECT 1 AS id UNION SELECT 2");
        assertEquals(0, cli(bobToken(), "approve", id).exit);
        Object result = held.get(10, TimeUnit.SECONDS);
        assertTrue(String.valueOf(result).contains("approval-outdated"), String.valueOf(result));
        assertEquals(100, amount(), "nothing ran");
        CompletableFuture<Object> again = CompletableFuture.supplyAsync(() -> send.apply(update));
        assertEquals(0, cli(bobToken(), "approve", awaitPendingId()).exit);
        Object ran = again.get(10, TimeUnit.SECONDS);
        assertEquals(8, amount());
        return ran;
    }

    /**
     * a125 (G4): in hold mode a statement that is not first in its extended-protocol batch (a JDBC batch, a
     * pipeline) was read neither when held (the approver was shown "not read") nor once approved: a view replaced
     * outside Warden during the hold ran under the approval. Now it is read inside the client's batch. In retry mode
     * such a statement was refused (approval-settings-unknown): it is read there too, and its approval binds.
     */
    @Test
    void aHeldStatementInsideABatchIsReadAndReadAgainOnceApproved() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            // LISTEN changes no setting (a statement that may would have the held one refused: settingsUnknown).
            assertEquals("[0, 1]", viewReplacedWhileHeld("public.bl_tv", sql -> batch(st, "LISTEN bl_ch", sql)));
            // Retry mode: read there too and filed; approved, the retry runs.
            String delete = "DELETE FROM batch_log WHERE id = 1";
            String filedId = filed(batch(st, "LISTEN bl_ch", delete), delete);
            Cli filedShow = cli(bobToken(), "show", filedId, "--json");
            assertTrue(filedShow.out.contains("search_path=") && !filedShow.out.contains("not read"), filedShow.out);
            assertEquals(0, cli(bobToken(), "approve", filedId).exit);
            assertEquals("[0, 1]", String.valueOf(batch(st, "LISTEN bl_ch", delete)));
            assertEquals(4, count());
            // An earlier statement of the batch fails: the server skips the held one, with or without the read sent
            // (whether the error came back before it is a race): the client gets that error, with no hang.
            for (int i = 0; i < 5; i++) {
                Object failed = batch(st, "SELECT 1/0", "UPDATE billing SET amount = 9 WHERE id = 1");
                assertTrue(String.valueOf(failed).contains("division by zero"), String.valueOf(failed));
            }
            assertEquals(8, amount());
            // The read itself fails inside the batch (a 1 ms statement_timeout cancels it): its error goes to the
            // client for the held statement, which the server then skips; no hang, and the session goes on.
            st.execute("SET statement_timeout = '1ms'");
            for (int i = 0; i < 3; i++) {
                Object failed = batch(st, "LISTEN bl_ch", "UPDATE billing SET amount = 9 WHERE id = 1");
                assertTrue(failed instanceof SQLException e && "57014".equals(e.getSQLState()), String.valueOf(failed));
            }
            st.execute("RESET statement_timeout");
            assertEquals(8, amount());
            assertEquals("[0]", String.valueOf(batch(st, "LISTEN bl_ch")));
        } finally {
            direct("DROP VIEW IF EXISTS public.bl_tv");
        }
    }

    /**
     * A JDBC batch of two statements held for approval: the second was refused (approval-settings-unknown), since the
     * first, a write, may change the settings the server reports only at the batch's end (a trigger's set_config).
     * The read inside the batch now tells them: the same as Warden read the statement with, it is held and runs. A
     * SET DateStyle before it in the batch still has it refused (DMY, not the MDY the approver would be shown).
     */
    @Test
    void aBatchOfHeldStatementsRunsWhenItsSettingsAreReadUnchanged() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            String first = "UPDATE billing SET amount = 11 WHERE id = 1";
            String second = "UPDATE billing SET amount = amount + 1 WHERE id = 1";
            CompletableFuture<Object> both = CompletableFuture.supplyAsync(() -> batch(st, first, second));
            assertEquals(0, cli(bobToken(), "approve", ApprovalsCli.awaitPendingId(warden, first)).exit);
            assertEquals(0, cli(bobToken(), "approve", ApprovalsCli.awaitPendingId(warden, second)).exit);
            assertEquals("[1, 1]", String.valueOf(both.get(10, TimeUnit.SECONDS)));
            assertEquals(12, amount());
            Object dmy = batch(st, "SET DateStyle = 'ISO, DMY'", first);
            assertTrue(String.valueOf(dmy).contains("approval-settings-unknown"), String.valueOf(dmy));
            assertEquals(12, amount());
        }
    }

    /**
     * a127 (P1): one approved DECLARE of a cursor whose query writes ran its write again at every rewind (MOVE
     * ABSOLUTE 0, FETCH ALL: thirty large objects under an approval for three), each FETCH recorded as a read. Such a
     * DECLARE is refused where it needs an approval; the query itself is held as before.
     */
    @Test
    void aCursorWhoseQueryWritesIsNotHeldButRefused() throws Exception {
        direct("CREATE SEQUENCE IF NOT EXISTS bl_seq; GRANT ALL ON bl_seq TO PUBLIC");
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            alice.setAutoCommit(false);
            Statement st = alice.createStatement();
            Object declared = run(st, "DECLARE c CURSOR FOR SELECT lo_from_bytea(0, 'x') FROM generate_series(1, 3)");
            assertTrue(String.valueOf(declared).contains("approval-cursor-writes"), String.valueOf(declared));
            alice.rollback();
            Object scroll = run(st, "DECLARE c SCROLL CURSOR WITH HOLD FOR SELECT nextval('bl_seq')");
            assertTrue(String.valueOf(scroll).contains("approval-cursor-writes"), String.valueOf(scroll));
            alice.rollback();
            // A cursor over a read is not held at all.
            assertFalse(run(st, "DECLARE r CURSOR FOR SELECT id FROM batch_log") instanceof SQLException);
            alice.rollback();
        }
    }

    /** Runs {@code sqls} as one JDBC batch: its update counts as a list, or its first error's cause. */
    private static Object batch(Statement st, String... sqls) {
        try {
            for (String sql : sqls) {
                st.addBatch(sql);
            }
            return java.util.Arrays.toString(st.executeBatch());
        } catch (SQLException e) {
            return e.getNextException() != null ? e.getNextException() : e;
        } finally {
            try {
                st.clearBatch();
            } catch (SQLException ignored) {
                // the connection is closed: nothing to clear
            }
        }
    }

    /**
     * a125 (G2, G8), retry mode: a setting read under a computed name (current_setting('bl' || '.x')) could be set
     * after the approval to other rows; WHERE CURRENT OF ran on the row a cursor declared again stood on (in staging).
     * Both are refused (in production both were and are refused earlier, as unparsed: this test, on production, only
     * shows that nothing runs; the read's refusal was checked with psql). (G3, an aggregate's initial value, is in
     * the digest: checked with psql; in production a statement calling a user aggregate is refused as unparsed.)
     */
    @Test
    void inRetryModeComputedSettingsAndCursorPositionsAreNotCovered() throws Exception {
        direct("CREATE OR REPLACE FUNCTION public.bl_cs() RETURNS int LANGUAGE sql AS "
                + "$$SELECT coalesce(current_setting('bl' || '.x', true), '4')::int$$");
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            // (In production a body reading a setting under a computed name is not analysed either: refused as
            // unparsed before any approval. The read's refusal, for other environments, was checked with psql.)
            Object computed = run(st, "DELETE FROM batch_log WHERE id = public.bl_cs()");
            assertTrue(computed instanceof SQLException e && (e.getMessage().contains("approval-settings-unknown")
                    || e.getMessage().contains("unparsed-in-production")), String.valueOf(computed));
            alice.setAutoCommit(false);
            st.execute("DECLARE bl_c CURSOR FOR SELECT id FROM batch_log");
            st.execute("FETCH bl_c");
            Object atCursor = run(st, "DELETE FROM batch_log WHERE CURRENT OF bl_c");
            // (In production JSqlParser's failure on WHERE CURRENT OF refuses it as unparsed first.)
            assertTrue(atCursor instanceof SQLException e && (e.getMessage().contains("approval-cursor-position")
                    || e.getMessage().contains("unparsed-in-production")), String.valueOf(atCursor));
            alice.rollback();
        } finally {
            direct("DROP FUNCTION IF EXISTS public.bl_cs()");
        }
        assertEquals(5, count(), "nothing ran");
    }

    /**
     * WHERE CURRENT OF in retry mode (a125 G8, outside production, where the statement is analysed) is refused in
     * every spelling the server reads as one: before, it was matched as text ({@code current\s+of}), so a comment in
     * place of the space filed an approval whose retry would run on whatever row the cursor then stood on.
     */
    @Test
    void inRetryModeCursorPositionsAreRefusedWhateverSeparatesTheWords() throws Exception {
        direct("DROP TABLE IF EXISTS cursor_log; CREATE TABLE cursor_log (id int); "
                + "INSERT INTO cursor_log SELECT generate_series(1, 3); GRANT ALL ON cursor_log TO PUBLIC");
        try (Connection alice = warden.connect("dev", WardenHarness.USER, warden.token(), "")) {
            alice.setAutoCommit(false);
            Statement st = alice.createStatement();
            st.execute("DECLARE cl_c CURSOR FOR SELECT id FROM cursor_log");
            st.execute("FETCH cl_c");
            for (String spelling : List.of("CURRENT OF", "CURRENT/* x */OF", "current--x\nof", "CURRENT\tOF")) {
                st.execute("SAVEPOINT s");
                Object atCursor = run(st, "DELETE FROM cursor_log WHERE " + spelling + " cl_c");
                assertTrue(atCursor instanceof SQLException e && e.getMessage().contains("approval-cursor-position"),
                        spelling + ": " + atCursor);
                st.execute("ROLLBACK TO SAVEPOINT s");
            }
            // A string that reads so is no cursor position: the DELETE is held as usual (filed, in retry mode).
            Object literal = run(st, "DELETE FROM cursor_log WHERE 'current of' = 'x'");
            assertTrue(literal instanceof SQLException e && !e.getMessage().contains("approval-cursor-position"),
                    String.valueOf(literal));
            alice.rollback();
        } finally {
            try (Connection c = warden.direct()) {
                assertEquals(3, scalar(c, "SELECT count(*) FROM cursor_log"), "nothing ran");
            }
            direct("DROP TABLE IF EXISTS cursor_log");
        }
    }

    /**
     * a124 (F7, F6, F4): an SQL EXECUTE's approval bound nothing its prepared statement reaches (the function it calls
     * was replaced after the approval, and the retry ran; its request now names their digests); settings but
     * search_path and transform_null_equals were not bound (a custom setting a view reads, array_nulls); in a
     * repeatable read transaction block the digest was read from the transaction's old snapshot of the catalog.
     */
    @Test
    void inRetryModeAnExecuteSettingsAndSnapshotsAreBound() throws Exception {
        direct("CREATE OR REPLACE FUNCTION public.bl_four() RETURNS int LANGUAGE sql AS 'SELECT 4'");
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            String prepare = "PREPARE bl_p AS DELETE FROM batch_log WHERE id = public.bl_four()";
            Object prepared = run(st, prepare);
            if (prepared instanceof SQLException e) {
                assertEquals(0, cli(bobToken(), "approve", filed(e, prepare)).exit);
                assertFalse(run(st, prepare) instanceof SQLException, prepare);
            }
            // EXECUTE is held (prod-writes-reviewed): its request's key must hold what bl_p reaches.
            CompletableFuture<Object> executed = CompletableFuture.supplyAsync(() -> run(st, "EXECUTE bl_p"));
            String id = ApprovalsCli.awaitPendingId(warden, "EXECUTE bl_p");
            Cli show = cli(bobToken(), "show", id, "--json");
            assertTrue(show.out.contains("-- EXECUTE runs: DELETE FROM batch_log WHERE id = public.bl_four()")
                    && Pattern.compile("operators\\): md5 [0-9a-f]{32}").matcher(show.out).find()
                    && !show.out.contains("d41d8cd98f00b204e9800998ecf8427e"), "its digest is of no definition (the "
                    + "MD5 of nothing): " + show.out);
            assertEquals(0, cli(bobToken(), "deny", id).exit);
            assertTrue(executed.get(10, TimeUnit.SECONDS) instanceof SQLException);
            // A setting the session changed after the approval.
            String delete = "DELETE FROM batch_log WHERE id = 2";
            assertEquals(0, cli(bobToken(), "approve", filed(run(st, delete), delete)).exit);
            st.execute("SET array_nulls = off");
            Object again = run(st, delete);
            assertTrue(again instanceof SQLException e && e.getMessage().contains("was filed"),
                    "after SET array_nulls: " + again);
            // A repeatable read transaction block: its snapshot of the catalog may be older than what runs.
            alice.setAutoCommit(false);
            st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            st.execute("SELECT 1");
            Object inBlock = run(st, "DELETE FROM batch_log WHERE id = 1");
            assertTrue(inBlock instanceof SQLException e && e.getMessage().contains("approval-settings-unknown"),
                    "in a repeatable read block: " + inBlock);
            alice.rollback();
        } finally {
            direct("DROP FUNCTION IF EXISTS public.bl_four()");
        }
        assertEquals(5, count(), "nothing ran under an approval");
    }

    /**
     * Generated (seed printed; {@code -Dwarden.approvalBinding.seed=N} repeats a run): a chain of objects the approved
     * statement reaches, of random depth and make (views over views, SQL and PL/pgSQL functions calling functions,
     * a trigger function calling one), then one of them, chosen at random, is redefined after the approval so that
     * the statement would delete other rows. The retry must file a new request and delete nothing. A control of each
     * round: after a change to a function the statement does not reach, the retry runs under the approval.
     */
    @Test
    void generatedChangesToWhatAnApprovedStatementReachesAreNotCovered() throws Exception {
        long seed = Long.getLong("warden.approvalBinding.seed", System.nanoTime());
        System.out.println("ApprovalsThroughWardenTest approval binding seed=" + seed);
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        int rounds = Integer.getInteger("warden.approvalBinding.rounds", 3);
        try {
            for (int round = 0; round < rounds; round++) {
                int views = random.nextInt(3); // 0: the statement calls the function chain itself
                int functions = 1 + random.nextInt(3);
                boolean trigger = random.nextBoolean();
                List<String> setup = new java.util.ArrayList<>();
                List<String> changes = new java.util.ArrayList<>();
                // The functions' chain: gb_f0() calls gb_f1() ... the last returns 4.
                for (int i = functions - 1; i >= 0; i--) {
                    boolean last = i == functions - 1;
                    boolean plpgsql = random.nextBoolean();
                    String value = last ? "4" : "public.gb_f" + (i + 1) + "()";
                    String changed = last ? "3" : "public.gb_f" + (i + 1) + "() - 1";
                    setup.add(function("gb_f" + i, value, plpgsql));
                    changes.add(function("gb_f" + i, changed, plpgsql));
                }
                String inner = "SELECT id FROM batch_log WHERE id = public.gb_f0()";
                for (int v = views - 1; v >= 0; v--) {
                    String body = v == views - 1 ? inner : "SELECT id FROM public.gb_v" + (v + 1);
                    setup.add("CREATE VIEW public.gb_v" + v + " AS " + body);
                    changes.add("CREATE OR REPLACE VIEW public.gb_v" + v + " AS " + body + " UNION SELECT 2");
                }
                if (trigger) {
                    setup.add(function("gb_tcall", "1", random.nextBoolean()));
                    setup.add("CREATE FUNCTION public.gb_t() RETURNS trigger LANGUAGE plpgsql AS "
                            + "'BEGIN PERFORM public.gb_tcall(); RETURN OLD; END'");
                    setup.add("CREATE TRIGGER gb_t BEFORE DELETE ON batch_log FOR EACH ROW EXECUTE FUNCTION "
                            + "public.gb_t()");
                    changes.add("CREATE OR REPLACE FUNCTION public.gb_tcall() RETURNS int LANGUAGE plpgsql AS "
                            + "'BEGIN DELETE FROM batch_log WHERE id = 1; RETURN 1; END'");
                }
                setup.add(function("gb_unrelated", "7", false));
                String delete = "DELETE FROM batch_log WHERE id IN ("
                        + (views > 0 ? "SELECT id FROM public.gb_v0" : "SELECT public.gb_f0()") + ") AND " + round
                        + " >= 0";
                String change = changes.get(random.nextInt(changes.size()));
                String shape = "views=" + views + " functions=" + functions + " trigger=" + trigger + " change: "
                        + change + " (seed " + seed + ", round " + round + ")";
                reset(setup);
                try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
                    String id = filed(run(alice.createStatement(), delete), shape);
                    assertEquals(0, cli(bobToken(), "approve", id).exit, shape);
                    direct(change);
                    Object retried = run(alice.createStatement(), delete);
                    assertTrue(retried instanceof SQLException e && e.getMessage().contains("was filed"),
                            shape + ": " + retried);
                    assertEquals(5, count(), "nothing ran under the approval: " + shape);
                }
                reset(setup);
                // Warden's own reading of the bodies (the "function bodies it runs" line) comes from its catalog,
                // which sees DDL made outside Warden within its TTL: the control is filed once its entries from
                // before the reset have lapsed, or its retry could read them afresh and not match.
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(dev.warden.proxy.catalog.CatalogCache.TTL_NANOS) + 500);
                try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
                    String control = delete + " AND 1 = 1";
                    String id = filed(run(alice.createStatement(), control), shape);
                    assertEquals(0, cli(bobToken(), "approve", id).exit, shape);
                    direct(function("gb_unrelated", "8", false));
                    assertEquals(1, run(alice.createStatement(), control), "the control runs: " + shape);
                }
                direct("INSERT INTO batch_log VALUES (4)");
            }
        } finally {
            reset(List.of());
        }
    }

    /** {@code CREATE OR REPLACE FUNCTION public.NAME() RETURNS int} returning {@code value}, in SQL or PL/pgSQL. */
    private static String function(String name, String value, boolean plpgsql) {
        return "CREATE OR REPLACE FUNCTION public." + name + "() RETURNS int LANGUAGE " + (plpgsql
                ? "plpgsql AS 'BEGIN RETURN " + value + "; END'" : "sql AS 'SELECT " + value + "'");
    }

    /** Drops the generated objects, then runs {@code setup} on the server directly. */
    private static void reset(List<String> setup) throws SQLException {
        direct("DROP TRIGGER IF EXISTS gb_t ON batch_log");
        direct("DROP VIEW IF EXISTS public.gb_v0, public.gb_v1, public.gb_v2");
        direct("DROP FUNCTION IF EXISTS public.gb_t(), public.gb_tcall(), public.gb_unrelated(), public.gb_f0(), "
                + "public.gb_f1(), public.gb_f2()");
        for (String sql : setup) {
            direct(sql);
        }
    }

    private static void direct(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** The id of the request a refused retry-mode statement filed. */
    private static String filed(Object refused, String what) {
        assertTrue(refused instanceof SQLException, what + ": " + refused);
        Matcher m = Pattern.compile("request (apr_[a-z0-9]+)").matcher(((SQLException) refused).getMessage());
        assertTrue(m.find(), what + ": " + refused);
        return m.group(1);
    }

    /**
     * a123 (1): a read that failed kept a fixed text in the approval's key, so a retry matched whatever it then ran;
     * a client can fail it on purpose (a search_path name its client encoding cannot carry). In retry mode such a
     * statement is now refused.
     */
    @Test
    void inRetryModeAStatementWhoseReadFailedIsRefused() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Query("SET search_path = \"\u0436\", public"));
            c.untilReady();
            c.send(new dev.warden.pg.message.FrontendMessage.Query("SET client_encoding = 'LATIN1'"));
            c.untilReady();
            c.send(new dev.warden.pg.message.FrontendMessage.Query("DELETE FROM batch_log WHERE id = 2"));
            String answer = c.untilReady().toString();
            assertTrue(answer.contains("approval-settings-unknown"), answer);
        }
        assertEquals(5, count());
    }

    /** Runs {@code sql}, held for approval, approving it as bob once its request is there; fails if it fails. */
    private static void heldThenApproved(Statement st, String sql) throws Exception {
        CompletableFuture<Object> ran = CompletableFuture.supplyAsync(() -> run(st, sql));
        assertEquals(0, cli(bobToken(), "approve", ApprovalsCli.awaitPendingId(warden, sql.substring(0, 20))).exit);
        Object result = ran.get(10, TimeUnit.SECONDS);
        assertFalse(result instanceof SQLException, sql + " -> " + result);
    }

    @Test
    void anApprovedPreparedUpdateRunsOnceWithTheParametersTheApproverSaw() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "prepareThreshold=1")) {
            java.sql.PreparedStatement update = alice.prepareStatement("UPDATE billing SET amount = ? WHERE id = ?");
            update.setInt(1, 50);
            update.setInt(2, 1);
            CompletableFuture<Object> first = CompletableFuture.supplyAsync(() -> runPrepared(update));
            String id = awaitPendingId();
            Cli list = cli(bobToken(), "list", "--json");
            assertTrue(list.out.contains("$1 = '50', $2 = '1'"), "the approver sees the values: " + list.out);
            assertEquals(0, cli(bobToken(), "approve", id).exit);
            assertEquals(1, first.get(10, TimeUnit.SECONDS));
            assertEquals(50, amount());
            // The same prepared statement again, with other values: a new approval, not the old one reused.
            update.setInt(1, 60);
            CompletableFuture<Object> second = CompletableFuture.supplyAsync(() -> runPrepared(update));
            String again = awaitPendingId();
            assertTrue(!again.equals(id), "a second execution needs its own approval");
            assertEquals(0, cli(bobToken(), "deny", again).exit);
            SQLException denied = (SQLException) second.get(10, TimeUnit.SECONDS);
            assertEquals("42501", denied.getSQLState());
            assertEquals(50, amount(), "the second execution did not run");
            assertEquals(1, scalar(alice, "SELECT 1"), "the session stays usable");
        }
    }

    /**
     * A later Execute of a portal an approval let start continues under it only while what the approver was shown
     * holds (attacker pass a142, F5): the requester SETs the setting the function's code reads between two batches;
     * the next batch is held for an approval of its own (denied here), and the function's other branch never runs.
     * Before, the batch ran under the first approval and emptied the table.
     */
    @Test
    void aFetchAfterWhatTheApproverSawChangedAsksAgain() throws Exception {
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("CREATE OR REPLACE FUNCTION ws_f(x int) RETURNS int LANGUAGE plpgsql AS $$BEGIN "
                    + "IF current_setting('app.mode', true) = 'purge' THEN DELETE FROM batch_log WHERE id > 0; "
                    + "ELSE UPDATE batch_log SET id = id WHERE id = x; END IF; RETURN x; END$$");
        }
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            alice.setAutoCommit(false);
            alice.createStatement().execute("SET app.mode = 'safe'");
            java.sql.PreparedStatement select = alice.prepareStatement("SELECT ws_f(g) FROM generate_series(1, 3) g");
            select.setFetchSize(1);
            CompletableFuture<ResultSet> first = CompletableFuture.supplyAsync(() -> {
                try {
                    ResultSet rs = select.executeQuery();
                    assertTrue(rs.next());
                    return rs;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            String id = awaitPendingId();
            assertEquals(0, cli(bobToken(), "approve", id).exit);
            ResultSet rs = first.get(10, TimeUnit.SECONDS);
            assertEquals(1, rs.getInt(1));
            alice.createStatement().execute("SET app.mode = 'purge'");
            CompletableFuture<Object> more = CompletableFuture.supplyAsync(() -> {
                try {
                    return rs.next();
                } catch (SQLException e) {
                    return e;
                }
            });
            String second = awaitPendingId();
            assertTrue(!second.equals(id), "the changed run needs its own approval");
            assertEquals(0, cli(bobToken(), "deny", second).exit);
            Object denied = more.get(10, TimeUnit.SECONDS);
            assertTrue(denied instanceof SQLException e && "42501".equals(e.getSQLState()), String.valueOf(denied));
            alice.rollback();
        }
        assertEquals(5, count(), "the purge branch never ran");
    }

    /**
     * An approver sees a bound value whole (attacker pass a142, F4: only its first 256 characters were shown, and ids
     * after 300 spaces were not); one longer than an approver can be shown is refused, not held.
     */
    @Test
    void anApproverSeesALongBoundValueWhole() throws Exception {
        String ids = "{1" + " ".repeat(300) + ",2,3,4,5}";
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "prepareThreshold=1")) {
            java.sql.PreparedStatement delete = alice.prepareStatement(
                    "UPDATE billing SET amount = 0 WHERE id = ANY(?::int[])");
            delete.setString(1, ids);
            CompletableFuture<Object> first = CompletableFuture.supplyAsync(() -> runPrepared(delete));
            String id = awaitPendingId();
            Cli list = cli(bobToken(), "list", "--json");
            assertTrue(list.out.contains(",2,3,4,5}"), "the approver sees the whole value: " + list.out);
            assertEquals(0, cli(bobToken(), "deny", id).exit);
            assertTrue(first.get(10, TimeUnit.SECONDS) instanceof SQLException);
            delete.setString(1, "{1" + " ".repeat(65_536) + ",2}");
            Object refused = runPrepared(delete);
            assertTrue(refused instanceof SQLException e && e.getMessage().contains("approval-value-unshown"),
                    String.valueOf(refused));
        }
        assertEquals(100, amount());
    }

    /**
     * JDBC with {@code setFetchSize} sends an Execute of the same portal for each batch of rows. Before, each batch
     * was held for an approval of its own (on the demo, three approvals for the 119 rows of one UPDATE ... RETURNING
     * at a fetch size of 50). The server never runs a portal's statement afresh: the later Executes fetch from the
     * approved run, and continue under its approval. A new execution (a new Bind) still asks again.
     */
    @Test
    void aFetchSizedWriteFetchesEveryBatchUnderItsOneApproval() throws Exception {
        String sql = "UPDATE batch_log SET id = id + 100 WHERE id > 0 RETURNING id";
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            alice.setAutoCommit(false);
            java.sql.PreparedStatement update = alice.prepareStatement(sql);
            update.setFetchSize(2);
            CompletableFuture<Object> rows = CompletableFuture.supplyAsync(() -> fetchAll(update));
            String id = awaitPendingId();
            assertEquals(0, cli(bobToken(), "approve", id).exit);
            assertEquals(5, rows.get(10, TimeUnit.SECONDS), "every batch of the approved run came back");
            alice.commit();
            assertEquals(1, requestsFor(sql), "one approval for the run, not one per batch");
            // Run again: a new portal, a new execution, a new request (denied here).
            update.setFetchSize(2);
            CompletableFuture<Object> again = CompletableFuture.supplyAsync(() -> fetchAll(update));
            String second = awaitPendingId();
            assertTrue(!second.equals(id), second);
            assertEquals(0, cli(bobToken(), "deny", second).exit);
            assertEquals("42501", ((SQLException) again.get(10, TimeUnit.SECONDS)).getSQLState());
            alice.rollback();
        }
        try (Connection c = warden.direct()) {
            assertEquals(101, scalar(c, "SELECT min(id) FROM batch_log"), "the approved run ran once");
        }
    }

    /**
     * a119 (1): the approval of a {@code COPY ... FROM STDIN} covered whatever rows came after it, and no record held
     * them (500 rows under an approval of "import 1 row"). Now the approver is told the rows are not shown, and the
     * {@code copy.data} record (their size and SHA-256, under the COPY's query record) is written before the COPY
     * ends.
     */
    @Test
    void aCopyFromStdinTellsTheApproverAndRecordsItsData() throws Exception {
        String data = "10\n11\n12\n";
        String sql = "COPY batch_log (id) FROM STDIN";
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            org.postgresql.copy.CopyManager copy = alice.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
            CompletableFuture<Object> loaded = CompletableFuture.supplyAsync(() -> {
                try {
                    return copy.copyIn(sql, new java.io.StringReader(data));
                } catch (Exception e) {
                    return e;
                }
            });
            String id = awaitPendingId();
            Cli show = cli(bobToken(), "show", id, "--json");
            assertTrue(show.out.contains("the rows are sent after the approval and are not shown"), show.out);
            assertEquals(0, cli(bobToken(), "approve", id).exit);
            assertEquals(3L, loaded.get(10, TimeUnit.SECONDS));
        }
        try (Connection c = warden.direct()) {
            assertEquals(8, scalar(c, "SELECT count(*) FROM batch_log"));
        }
        String digest = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(data.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        com.fasterxml.jackson.databind.JsonNode record = null;
        long querySeq = -2;
        while (record == null && System.nanoTime() < deadline) {
            for (var line : dev.warden.audit.query.AuditReader.of(warden.auditDir())
                    .search(dev.warden.audit.query.AuditFilter.all())) {
                var r = line.record();
                if (r.type().equals("query") && r.get("statement").asText().equals(sql)) {
                    querySeq = r.seq();
                }
                if (r.type().equals("copy.data") && r.get("query_seq").asLong() == querySeq) {
                    record = r.json();
                }
            }
            Thread.sleep(50);
        }
        assertNotNull(record, "a copy.data record under the COPY's query record");
        assertEquals(data.length(), record.get("bytes").asLong(), record.toString());
        assertEquals(digest, record.get("sha256").asText(), record.toString());
    }

    /**
     * a119 (2): an approval bound the text and values only, and the approver read them under settings of its own: a
     * helper's pass set DateStyle to DMY, and a date the approver read as 12 January meant 1 December. Now the settings
     * that change what a statement means are shown with it and bound into the approval.
     */
    @Test
    void anApprovalShowsTheSettingsThatChangeWhatTheStatementMeans() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            st.execute("SET DateStyle = 'ISO, DMY'");
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "UPDATE billing SET amount = 7 WHERE id = 1 AND '01/12/2025'::date = DATE '2025-12-01'"));
            String id = awaitPendingId();
            Cli show = cli(bobToken(), "show", id, "--json");
            assertTrue(show.out.contains("session settings: ") && show.out.contains("DateStyle=ISO, DMY"), show.out);
            assertEquals(0, cli(bobToken(), "approve", id).exit);
            assertEquals(1, update.get(10, TimeUnit.SECONDS), "under DMY the date is 1 December, as shown");
        }
        assertEquals(7, amount());
    }

    /**
     * a121 (2, 3): a SET pipelined before the held statement had not run when the approval was asked for (the server
     * reports settings at the ReadyForQuery that ends its batch), so the approver was shown, and the approval bound
     * with, the settings before it: an UPDATE approved under MDY ran under DMY. Such a statement is now refused in
     * the SET's batch (its report would come at the Sync after it), also when a view read there sets it (a122);
     * pipelined behind the SET's Sync it waits for that batch's answer, and is shown with the setting.
     * The types the Parse declared were not shown or bound either.
     */
    @Test
    void aSetPipelinedBeforeAHeldStatementIsShownAsItRunsAndSoAreTheDeclaredTypes() throws Exception {
        try (Connection admin = warden.direct(); Statement s = admin.createStatement()) {
            s.execute("CREATE OR REPLACE VIEW public.billing_dmy AS SELECT pg_catalog.set_config('datestyle', "
                    + "'ISO, DMY', false) AS style");
            s.execute("GRANT SELECT ON public.billing_dmy TO PUBLIC");
        }
        String update = "UPDATE billing SET amount = 8 WHERE id = 1 AND '01/12/2025'::date = DATE '2025-12-01' "
                + "AND $1::text IS NOT NULL";
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            for (String how : new String[] {"same batch", "a view's set_config", "pipelined after a Sync",
                    "after the answer"}) {
                c.send(new dev.warden.pg.message.FrontendMessage.Query("SET DateStyle = 'ISO, MDY'"));
                c.untilReady();
                // a122: a view whose code sets it, read in a statement that looked like it could set nothing
                String setting = how.equals("a view's set_config") ? "SELECT * FROM public.billing_dmy"
                        : "SET DateStyle = 'ISO, DMY'";
                for (String sql : new String[] {setting, update}) {
                    boolean set = sql == setting;
                    c.send(new dev.warden.pg.message.FrontendMessage.Parse("", sql, set ? java.util.List.of()
                            : java.util.List.of(17)));
                    c.send(new dev.warden.pg.message.FrontendMessage.Bind("", "", java.util.List.of(), set
                            ? java.util.List.of() : java.util.List.of("\\x41".getBytes(
                                    java.nio.charset.StandardCharsets.UTF_8)), java.util.List.of()));
                    c.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
                    if (set && (how.equals("pipelined after a Sync") || how.equals("after the answer"))) {
                        c.send(new dev.warden.pg.message.FrontendMessage.Sync());
                        if (how.equals("after the answer")) {
                            assertEquals(java.util.List.of(), RawClient.errors(c.untilReady()));
                        }
                    }
                }
                c.send(new dev.warden.pg.message.FrontendMessage.Sync());
                if (how.equals("same batch") || how.equals("a view's set_config")) {
                    String answers = c.untilReady().toString();
                    assertTrue(answers.contains("approval-settings-unknown"), how + ": " + answers);
                    assertEquals(100, amount(), how + ": nothing ran");
                    continue;
                }
                if (how.equals("pipelined after a Sync")) {
                    // The held statement waits for the SET's batch to end, whose ReadyForQuery brings the report.
                    assertEquals(java.util.List.of(), RawClient.errors(c.untilReady()));
                }
                String id = awaitPendingId();
                Cli show = cli(bobToken(), "show", id, "--json");
                assertTrue(show.out.contains("DateStyle=ISO, DMY"), show.out);
                assertTrue(show.out.contains("-- parameter types: $1 bytea"), show.out);
                assertEquals(0, cli(bobToken(), "approve", id).exit);
                java.util.List<dev.warden.pg.message.BackendMessage> answers = c.untilReady();
                assertTrue(answers.stream().anyMatch(a -> a instanceof dev.warden.pg.message.BackendMessage.CommandComplete
                        cc && cc.tag().equals("UPDATE 1")), "under DMY the date is 1 December, as shown: " + answers);
            }
        }
        assertEquals(8, amount());
    }

    /**
     * a119 (2), the rest: settings the server does not report were not shown to the approver: under {@code
     * transform_null_equals} a {@code note = NULL} that reads as matching nothing matches every NULL, and a
     * search_path may make a table's name the requester's own. Now they are read for the held statement and shown
     * and bound with it, over the extended protocol (JDBC) and the simple one.
     */
    @Test
    void anApprovalShowsTheSettingsTheServerDoesNotReport() throws Exception {
        try (Connection alice = warden.connect("prod", WardenHarness.USER, warden.token(), "")) {
            Statement st = alice.createStatement();
            st.execute("SET transform_null_equals = on");
            st.execute("SET search_path = public, pg_temp");
            CompletableFuture<Object> update = CompletableFuture.supplyAsync(() -> run(st,
                    "UPDATE billing SET amount = 9 WHERE id = 1 AND NULL = NULL"));
            String id = awaitPendingId();
            Cli show = cli(bobToken(), "show", id, "--json");
            assertTrue(show.out.contains("transform_null_equals=on") && show.out.contains("search_path=public, "
                    + "pg_temp (schemas: "), show.out);
            assertEquals(0, cli(bobToken(), "approve", id).exit);
            assertEquals(1, update.get(10, TimeUnit.SECONDS), "under transform_null_equals NULL = NULL is true");
        }
        assertEquals(9, amount());
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Query("SET transform_null_equals = on"));
            c.untilReady();
            c.send(new dev.warden.pg.message.FrontendMessage.Query("UPDATE billing SET amount = 10 WHERE id = 1"));
            String id = awaitPendingId();
            Cli show = cli(bobToken(), "show", id, "--json");
            assertTrue(show.out.contains("transform_null_equals=on"), show.out);
            assertEquals(0, cli(bobToken(), "deny", id).exit);
            assertTrue(c.untilReady().toString().contains("ErrorResponse"));
        }
        assertEquals(9, amount());
    }

    /**
     * A helper's pass (a135 F2): an approver read {@code UPDATE orders ... WHERE id = 8} as a write of public.orders,
     * while orders was the requester's temporary view (its id public.orders.customer_id), and the approved statement
     * updated three rows. The approval text now names what resolves to the session's temporary relations.
     */
    @Test
    void anApprovalNamesWhatIsTheRequestersTemporaryRelation() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Query(
                    "CREATE TEMP VIEW billing AS SELECT amount AS id, id AS amount FROM public.billing"));
            String ddl = awaitPendingId();
            assertEquals(0, cli(bobToken(), "approve", ddl).exit);
            assertEquals(java.util.List.of(), RawClient.errors(c.untilReady()));
            c.send(new dev.warden.pg.message.FrontendMessage.Query("UPDATE billing SET amount = amount WHERE id = 1"));
            String id = awaitPendingId();
            Cli show = cli(bobToken(), "show", id, "--json");
            assertTrue(show.out.contains("names of this session's temporary relations") && show.out.contains(
                    "the server finds those first): billing"), show.out);
            assertEquals(0, cli(bobToken(), "deny", id).exit);
            assertTrue(c.untilReady().toString().contains("ErrorResponse"));
            // A statement naming no temporary relation of the session shows no such line.
            c.send(new dev.warden.pg.message.FrontendMessage.Query("UPDATE public.billing SET amount = amount "
                    + "WHERE id = 1"));
            String plain = awaitPendingId();
            Cli shown = cli(bobToken(), "show", plain, "--json");
            assertFalse(shown.out.contains("temporary relations"), shown.out);
            assertEquals(0, cli(bobToken(), "deny", plain).exit);
            assertTrue(c.untilReady().toString().contains("ErrorResponse"));
        }
    }

    /**
     * A helper's pass (a135 F7): a requester wrote Warden's own annotation lines into a comment, with {@code OR id > 0}
     * after blank lines, and the request read like a one-row UPDATE. The statement's comment lines are now marked.
     */
    @Test
    void aStatementsOwnCommentLinesAreMarkedInTheApprovalText() throws Exception {
        String sql = "UPDATE billing SET amount = 0 WHERE id = 1\n-- session settings: client_encoding=UTF8\n"
                + "  -- rule: prod-writes-reviewed (approvers: dba)\n\n\nOR id > 0";
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            c.send(new dev.warden.pg.message.FrontendMessage.Query(sql));
            String id = awaitPendingId();
            Cli show = cli(bobToken(), "show", id, "--json");
            assertTrue(show.out.contains("-- [a line of the statement:] -- session settings: client_encoding=UTF8")
                    && show.out.contains("-- [a line of the statement:]   -- rule: prod-writes-reviewed"), show.out);
            assertEquals(0, cli(bobToken(), "deny", id).exit);
            assertTrue(c.untilReady().toString().contains("ErrorResponse"));
        }
    }

    private static Object fetchAll(java.sql.PreparedStatement ps) {
        try (ResultSet rs = ps.executeQuery()) {
            int n = 0;
            while (rs.next()) {
                n++;
            }
            return n;
        } catch (SQLException e) {
            return e;
        }
    }

    /** How many approval requests the store holds for {@code sql}. */
    private static int requestsFor(String sql) throws Exception {
        Cli list = cli(bobToken(), "list", "--json");
        assertEquals(0, list.exit, list.err);
        int n = 0;
        for (var r : dev.warden.proxy.approvals.ApprovalJson.MAPPER.readTree(list.out).path("approvals")) {
            n += r.path("statement").asText().startsWith(sql) ? 1 : 0;
        }
        return n;
    }

    @Test
    void anSqlPreparedUpdateExecutedThroughProtocolBindWaitsForApproval() throws Exception {
        try (RawClient c = new RawClient(warden.port())) {
            c.login("prod", WardenHarness.USER, warden.token());
            // If PREPARE itself is judged as the write it prepares, approve that once.
            c.send(new dev.warden.pg.message.FrontendMessage.Query("PREPARE up AS UPDATE billing SET amount = 5 WHERE id = 1"));
            String prepare = "";
            dev.warden.pg.message.BackendMessage first;
            while (!((first = c.read()) instanceof dev.warden.pg.message.BackendMessage.ReadyForQuery)) {
                if (first instanceof dev.warden.pg.message.BackendMessage.NoticeResponse) {
                    prepare = awaitPendingId();
                    assertEquals(0, cli(bobToken(), "approve", prepare).exit);
                }
                assertTrue(!(first instanceof dev.warden.pg.message.BackendMessage.ErrorResponse), first.toString());
            }
            c.send(new dev.warden.pg.message.FrontendMessage.Bind("", "up", java.util.List.of(), java.util.List.of(),
                    java.util.List.of()));
            c.send(new dev.warden.pg.message.FrontendMessage.Execute("", 0));
            c.send(new dev.warden.pg.message.FrontendMessage.Sync());
            String execute = awaitPendingId();
            assertTrue(!execute.equals(prepare), "the Execute of the prepared UPDATE waits for its own approval");
            assertEquals(100, amount(), "nothing ran while it waits");
            assertEquals(0, cli(bobToken(), "approve", execute).exit);
            java.util.List<dev.warden.pg.message.BackendMessage> answers = new java.util.ArrayList<>();
            dev.warden.pg.message.BackendMessage m;
            do {
                m = c.read();
                answers.add(m);
            } while (!(m instanceof dev.warden.pg.message.BackendMessage.ReadyForQuery));
            assertTrue(answers.stream().anyMatch(a -> a instanceof dev.warden.pg.message.BackendMessage.CommandComplete cc
                    && cc.tag().equals("UPDATE 1")), answers.toString());
            assertEquals(5, amount());
        }
    }

    private static Object runPrepared(java.sql.PreparedStatement ps) {
        try {
            return ps.executeUpdate();
        } catch (SQLException e) {
            return e;
        }
    }

    private static int count() throws SQLException {
        try (Connection c = warden.direct()) {
            return scalar(c, "SELECT count(*) FROM batch_log");
        }
    }

    private static Object run(Statement st, String sql) {
        try {
            return st.executeUpdate(sql);
        } catch (SQLException e) {
            return e;
        }
    }

    private static String awaitPendingId() throws Exception {
        return ApprovalsCli.awaitPendingId(warden);
    }

    private static String bobToken() {
        return ApprovalsCli.bobToken(warden);
    }

    record Cli(int exit, String out, String err) {
    }

    private static Cli cli(String token, String... args) {
        CliRun r = ApprovalsCli.run(warden, token, args);
        return new Cli(r.exitCode(), r.out(), r.err());
    }

    private static int amount() throws SQLException {
        try (Connection c = warden.direct()) {
            return scalar(c, "SELECT amount FROM billing WHERE id = 1");
        }
    }

    private static int scalar(Connection c, String sql) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }
}
