package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code approvals.max_pending_per_requester} through Warden: a requester at the bound is refused with 53400 and
 * nothing runs, in retry mode and in hold mode (before any NOTICE says the statement is held); another requester
 * still files; an approver's list still shows what they may decide.
 */
class ApprovalFloodThroughWardenTest {

    static WardenHarness warden;

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("  allow_plaintext_on_loopback: true\n", WardenHarness.APPROVALS_PROD, """
                admin: { address: "127.0.0.1:0" }
                approvals:
                  timeout: 60s
                  store: { type: file, path: "${APPROVALS_DIR}" }
                  max_pending_per_requester: 3
                guardrails:
                  rules:
                    - { name: retry-reviewed, environments: [prod], match: { writes: true, tables: [public.retry_t] }, unless: { groups: [dba] }, action: require_approval, approvers: [dba], mode: retry }
                    - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [dba] }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        warden.directly("DROP TABLE IF EXISTS billing", "CREATE TABLE billing (id int primary key, amount int)",
                "INSERT INTO billing SELECT g, 100 FROM generate_series(1, 5) g",
                "DROP TABLE IF EXISTS retry_t", "CREATE TABLE retry_t (id int primary key, v int)",
                "INSERT INTO retry_t SELECT g, 100 FROM generate_series(1, 5) g");
    }

    private static RawClient as(String user) throws Exception {
        RawClient c = new RawClient(warden.port());
        c.login("prod", user, warden.issuer.token().subject("user-" + user).email(user).groups("eng").sign());
        return c;
    }

    /** The answers to one simple Query, as {@code N} (notice), {@code E <sqlstate> <message>}, {@code C <tag>}. */
    private static String query(RawClient c, String sql) throws Exception {
        c.send(new FrontendMessage.Query(sql));
        StringBuilder sb = new StringBuilder();
        for (BackendMessage m : c.untilReady()) {
            if (m instanceof BackendMessage.ErrorResponse e) {
                sb.append("E ").append(e.sqlState()).append(' ').append(e.message()).append("; ");
            } else if (m instanceof BackendMessage.CommandComplete cc) {
                sb.append("C ").append(cc.tag()).append("; ");
            } else if (m instanceof BackendMessage.NoticeResponse) {
                sb.append("N; ");
            }
        }
        return sb.toString();
    }

    private static String scalar(String sql) throws SQLException {
        try (Connection c = warden.direct(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    @Test
    void aRequesterAtTheBoundIsRefusedWith53400AndNothingRunsWhileOthersStillFile() throws Exception {
        try (RawClient mallory = as("mallory@example.com"); RawClient carol = as("carol@example.com")) {
            for (int i = 0; i < 3; i++) {
                String filed = query(mallory, "UPDATE retry_t SET v = " + i + " WHERE id = 1");
                assertTrue(filed.startsWith("E 42501 approval required by Warden rule \"retry-reviewed\""), filed);
            }
            String refused = query(mallory, "UPDATE retry_t SET v = 3 WHERE id = 1");
            assertTrue(refused.startsWith("E 53400 approval could not be requested: mallory@example.com already has 3 "
                    + "approval requests waiting"), refused);
            assertTrue(refused.contains("approvals.max_pending_per_requester"), refused);

            // Hold mode: refused at once, without a NOTICE that it is held.
            String held = query(mallory, "UPDATE billing SET amount = 0 WHERE id = 1");
            assertTrue(held.startsWith("E 53400 approval could not be requested"), held);
            assertFalse(held.contains("N;"), held);
            assertEquals("100", scalar("SELECT v FROM retry_t WHERE id = 1"));
            assertEquals("100", scalar("SELECT amount FROM billing WHERE id = 1"));

            // Another requester's room is their own.
            String carols = query(carol, "UPDATE retry_t SET v = 7 WHERE id = 2");
            assertTrue(carols.startsWith("E 42501 approval required"), carols);

            CliRun list = ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "list", "--json");
            assertEquals(0, list.exitCode(), list.err());
            assertEquals(3, list.out().split("\"username\":\"mallory@example.com\"", -1).length - 1, list.out());
            assertEquals(1, list.out().split("\"username\":\"carol@example.com\"", -1).length - 1, list.out());
        }
        // The refused statements are audited, with no request: none was filed.
        List<String> refusedRecords = warden.awaitSessionEnd("mallory@example.com").stream()
                .map(dev.warden.audit.query.AuditRecord::text)
                .filter(t -> t.contains("SET v = 3 WHERE") || t.contains("SET amount = 0 WHERE")).toList();
        assertEquals(2, refusedRecords.size(), refusedRecords.toString());
        refusedRecords.forEach(t -> assertTrue(t.contains("\"approval_id\":null"), t));
    }

    /**
     * 67 people, each at the bound of 3, file 201 retry-mode requests after Dora's one: the approver's list of 200
     * was all theirs. With pending requests taking turns by requester, Dora's is in the first turn of 68; paging and
     * the requester filter reach it too.
     */
    @Test
    void manyRequestersAtTheirBoundNoLongerHideAnotherRequestFromTheApproversList() throws Exception {
        String doras;
        try (RawClient dora = as("dora@example.com")) {
            String filed = query(dora, "UPDATE retry_t SET v = 40 WHERE id = 4");
            assertTrue(filed.startsWith("E 42501 approval required"), filed);
            java.util.regex.Matcher id = java.util.regex.Pattern.compile("apr_[a-z2-9]{12}").matcher(filed);
            assertTrue(id.find(), filed);
            doras = id.group();
        }
        for (int p = 0; p < 67; p++) {
            try (RawClient flooder = as("flood-" + p + "@example.com")) {
                for (int i = 0; i < 3; i++) {
                    String filed = query(flooder, "UPDATE retry_t SET v = " + (p * 10 + i) + " WHERE id = 5");
                    assertTrue(filed.startsWith("E 42501 approval required"), filed);
                }
            }
        }
        CliRun list = ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "list", "--json");
        assertEquals(0, list.exitCode(), list.err());
        com.fasterxml.jackson.databind.JsonNode approvals = dev.warden.proxy.approvals.ApprovalJson.MAPPER
                .readTree(list.out()).get("approvals");
        assertEquals(200, approvals.size());
        List<String> ids = new java.util.ArrayList<>();
        approvals.forEach(r -> ids.add(r.get("id").asText()));
        assertTrue(ids.contains(doras), "Dora's request is not on the approver's list");
        assertTrue(ids.indexOf(doras) < 70, "not in the first turn: " + ids.indexOf(doras));

        CliRun hers = ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "list", "--requester",
                "Dora@Example.com");
        assertTrue(hers.out().contains(doras), hers.out() + hers.err());
        CliRun all = ApprovalsCli.run(warden, ApprovalsCli.bobToken(warden), "list", "--all");
        assertEquals(0, all.exitCode(), all.err());
        assertTrue(all.out().contains(doras), all.out());
        assertTrue(all.out().lines().filter(l -> l.contains("flood-")).count() >= 201, "every flooder's request too");
    }
}
