package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A statement held for approval writes two records besides its own: the request (with the reason the client gave)
 * and its end (approved, denied, expired). The audit budget charges them before the statement is judged. Here one
 * identity files requests in retry mode as fast as it can (each attempt fails at once; a request expires after 1 s,
 * and up to 200 may be pending at a time), with a reason of 1,000 characters, and the log may grow by no more than
 * its budget allows.
 */
class AuditBudgetApprovalsTest {

    static final long BURST = 64 * 1024;
    static final long PER_SECOND = 16 * 1024;
    static final String REASON = "r".repeat(1000);

    static WardenHarness warden;

    @BeforeAll
    static void start() throws SQLException {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", "",
                AuditBudgetThroughWardenTest.TOP.formatted(BURST, PER_SECOND) + """
                approvals:
                  timeout: 1s
                  max_pending_per_requester: 200
                  store: { type: file, path: "${APPROVALS_DIR}" }
                guardrails:
                  rules:
                    - { name: ab-reviewed, environments: [dev], match: { statements: [INSERT], tables: [ab_t] }, action: require_approval, approvers: [dba], mode: retry }
                """);
        try (Connection c = warden.direct(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS ab_t");
            s.execute("CREATE TABLE ab_t (id int)");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        warden.closeAfterVerifyingAudit();
    }

    /** The reason given once for the session: {@code SET warden.reason}. */
    @Test
    void heldStatementsWithTheSessionsReasonAreChargedForTheirApprovalRecords() throws Exception {
        flood("setreason@example.com", "SET warden.reason = '" + REASON + "'", "INSERT INTO ab_t VALUES (%d)");
    }

    /**
     * The reason given in each statement ({@code /* reason: ... *\/}): the statement's text holds it once, and the
     * request's record again. Of three-byte characters, so that it outweighs what the charge estimates for the
     * records themselves.
     */
    @Test
    void heldStatementsWithAReasonInTheirTextAreChargedForItAgain() throws Exception {
        flood("commentreason@example.com", null, "/* reason: " + "\u20ac".repeat(1000)
                + " */ INSERT INTO ab_t VALUES (%d)");
    }

    private static void flood(String user, String first, String statement) throws Exception {
        long before = auditBytes();
        long lastSeq = lastSeq();
        Map<String, Integer> answers = new TreeMap<>();
        long t0 = System.nanoTime();
        try (Connection c = warden.connect("dev", user, warden.issuer.token().email(user).groups("eng").sign(),
                "preferQueryMode=simple"); Statement s = c.createStatement()) {
            if (first != null) {
                s.execute(first);
            }
            for (int i = 0; System.nanoTime() - t0 < 4_000_000_000L; i++) {
                try {
                    s.execute(statement.formatted(i));
                    answers.merge("ran", 1, Integer::sum);
                } catch (SQLException e) {
                    String m = e.getMessage();
                    answers.merge(e.getSQLState() + (m.contains("was filed for") ? " filed"
                            : m.contains("audit-capacity") ? " audit-capacity" : ""), 1, Integer::sum);
                }
            }
        }
        long sent = System.nanoTime() - t0;
        // The last requests expire 1 s after they were filed, and their records follow.
        Thread.sleep(1_500);
        long grew = auditBytes() - before;
        long uncharged = unchargedSince(lastSeq);
        // The budget, and the session's share it may take from its identity at once (BURST / 64).
        long allowed = AuditBudgetThroughWardenTest.allowedFor(BURST, PER_SECOND, sent, 1);
        String r = user + ": log grew " + grew + " bytes in " + sent / 1_000_000 + " ms, " + uncharged
                + " of them in records no statement pays for; the budget allows " + allowed + "; answers " + answers
                + "; approval records " + approvalRecordSizes(lastSeq);
        System.out.println("approval records: " + r);
        assertTrue(answers.getOrDefault("42501 filed", 0) > 0, "no request was filed: " + r);
        assertTrue(answers.getOrDefault("42501 audit-capacity", 0) > 0, "the budget never ran out: " + r);
        assertTrue(grew - uncharged <= allowed, r);
    }

    /** How many approval records follow {@code seq}, and their bytes at least and at most. */
    private static String approvalRecordSizes(long seq) throws Exception {
        var sizes = new java.util.LongSummaryStatistics();
        for (var line : dev.warden.audit.query.AuditReader.of(warden.auditDir())
                .search(dev.warden.audit.query.AuditFilter.all())) {
            if (line.record().seq() > seq && line.record().type().startsWith("approval.")) {
                sizes.accept(line.record().bytes().length + 1);
            }
        }
        return sizes.getCount() + " of " + sizes.getMin() + "-" + sizes.getMax() + " bytes";
    }

    private static long lastSeq() throws Exception {
        long seq = 0;
        for (var line : dev.warden.audit.query.AuditReader.of(warden.auditDir())
                .search(dev.warden.audit.query.AuditFilter.all())) {
            seq = Math.max(seq, line.record().seq());
        }
        return seq;
    }

    /**
     * The bytes (with their newlines) of the records after {@code seq} that no statement is charged for: the
     * session's start and end, checkpoints, and the refusals past the budget (32 at once and 4 a second, each
     * counting those not recorded). Every other record after it is this test's session's, and charged.
     */
    private static long unchargedSince(long seq) throws Exception {
        long bytes = 0;
        for (var line : dev.warden.audit.query.AuditReader.of(warden.auditDir())
                .search(dev.warden.audit.query.AuditFilter.all())) {
            var r = line.record();
            boolean refusedForBudget = r.type().equals("query") && r.text().contains("audit-capacity");
            if (r.seq() > seq && (r.type().startsWith("session.") || r.type().equals("checkpoint")
                    || refusedForBudget)) {
                bytes += r.bytes().length + 1;
            }
        }
        return bytes;
    }

    private static long auditBytes() throws java.io.IOException {
        try (var files = java.nio.file.Files.walk(warden.auditDir())) {
            return files.filter(java.nio.file.Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
