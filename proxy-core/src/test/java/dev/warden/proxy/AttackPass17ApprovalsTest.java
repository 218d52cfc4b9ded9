package dev.warden.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.proxy.approvals.ApprovalJson;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attacker pass 17 (admin API and approvals), through the real proxy, admin listener, issuer and server: the
 * requester approving with a second token of theirs, approving after expiry, a denied statement sent again, a revoked
 * approver token, and requests the admin API must refuse without touching what is held.
 */
class AttackPass17ApprovalsTest {

    static WardenHarness warden;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        warden = WardenHarness.start("", WardenHarness.APPROVALS_PROD, """
                admin: { address: "127.0.0.1:0" }
                approvals:
                  timeout: 4s
                  store: { type: file, path: "${APPROVALS_DIR}" }
                guardrails:
                  rules:
                    - { name: prod-writes-reviewed, environments: [prod], match: { writes: true }, unless: { groups: [dba] }, action: require_approval, approvers: [eng, dba] }
                """);
    }

    @AfterAll
    static void stop() {
        warden.close();
    }

    @BeforeEach
    void seed() throws SQLException {
        warden.directly("DROP TABLE IF EXISTS billing", "CREATE TABLE billing (id int primary key, amount int)",
                "INSERT INTO billing VALUES (1, 100)");
    }

    private static int amount() throws SQLException {
        try (Connection c = warden.direct()) {
            return Integer.parseInt(WardenHarness.scalar(c, "SELECT amount FROM billing WHERE id = 1"));
        }
    }

    private static String bob(String jti) {
        return warden.issuer.token().subject("bob").email("bob@example.com").groups("dba").claim("jti", jti).sign();
    }

    private static String alice(String jti) {
        return warden.issuer.token().email(WardenHarness.USER).groups("eng").claim("jti", jti).sign();
    }

    /** {@code sql} sent on {@code st} in the background: its update count, or the SQLException it ended with. */
    private static CompletableFuture<Object> hold(Statement st, String sql) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return st.executeUpdate(sql);
            } catch (SQLException e) {
                return e;
            }
        });
    }

    private HttpResponse<String> post(String path, String token, String json) throws Exception {
        return send("POST", path, token, json, "application/json");
    }

    private HttpResponse<String> send(String method, String path, String token, String body, String type)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + warden.server().adminPort()
                + path)).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (type != null) {
            b.header("Content-Type", type);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The id of the one pending request, as bob lists it. */
    private String awaitPendingId() throws Exception {
        for (int i = 0; i < 100; i++) {
            JsonNode list = ApprovalJson.MAPPER.readTree(send("GET", "/approvals", bob("lister"), null, null).body())
                    .get("approvals");
            for (JsonNode a : list) {
                if (a.get("status").asText().equals("pending")) {
                    return a.get("id").asText();
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no pending approval request");
    }

    private static String status(HttpResponse<String> r) {
        return r.statusCode() + " " + r.body();
    }

    @Test
    void theRequesterCannotApproveTheirOwnHeldStatementWithASecondTokenEvenAsAnApprover() throws Exception {
        try (Connection a = warden.connect("prod", WardenHarness.USER, alice("session"), "")) {
            Statement st = a.createStatement();
            CompletableFuture<Object> update = hold(st, "UPDATE billing SET amount = 1 WHERE id = 1");
            String id = awaitPendingId();
            HttpResponse<String> self = post("/approvals/" + id + "/approve", alice("second-token"), "{}");
            assertEquals(403, self.statusCode(), status(self));
            assertFalse(update.isDone(), "still held");
            HttpResponse<String> deny = post("/approvals/" + id + "/deny", bob("bob-1"), "{}");
            assertEquals(200, deny.statusCode(), status(deny));
            assertEquals("42501", ((SQLException) update.get(10, TimeUnit.SECONDS)).getSQLState());
            assertEquals(100, amount());
        }
    }

    @Test
    void aRequestThatExpiredCannotBeApprovedAfterwards() throws Exception {
        try (Connection a = warden.connect("prod", WardenHarness.USER, alice("expiring"), "")) {
            Statement st = a.createStatement();
            CompletableFuture<Object> update = hold(st, "UPDATE billing SET amount = 2 WHERE id = 1");
            String id = awaitPendingId();
            assertEquals("57014", ((SQLException) update.get(15, TimeUnit.SECONDS)).getSQLState());
            HttpResponse<String> late = post("/approvals/" + id + "/approve", bob("bob-2"), "{}");
            assertEquals(409, late.statusCode(), status(late));
            assertEquals(100, amount());
            assertEquals(1, st.executeQuery("SELECT 1").next() ? 1 : 0, "the session stays usable");
        }
        assertEquals(100, amount());
    }

    @Test
    void aDeniedStatementSentAgainIsHeldAgainUnderANewIdAndTheOldIdApprovesNothing() throws Exception {
        try (Connection a = warden.connect("prod", WardenHarness.USER, alice("retrier"), "")) {
            Statement st = a.createStatement();
            String sql = "UPDATE billing SET amount = 3 WHERE id = 1";
            CompletableFuture<Object> first = hold(st, sql);
            String denied = awaitPendingId();
            assertEquals(200, post("/approvals/" + denied + "/deny", bob("bob-3"), "{}").statusCode());
            assertEquals("42501", ((SQLException) first.get(10, TimeUnit.SECONDS)).getSQLState());
            CompletableFuture<Object> again = hold(st, sql);
            String second = awaitPendingId();
            assertNotEquals(denied, second);
            HttpResponse<String> old = post("/approvals/" + denied + "/approve", bob("bob-4"), "{}");
            assertEquals(409, old.statusCode(), status(old));
            assertFalse(again.isDone(), "approving the denied id released nothing");
            assertEquals(100, amount());
            assertEquals("57014", ((SQLException) again.get(15, TimeUnit.SECONDS)).getSQLState());
        }
        assertEquals(100, amount());
    }

    @Test
    void aRevokedApproverTokenWrongMethodsHugeBodiesAndOddIdsReleaseNothing() throws Exception {
        try (Connection a = warden.connect("prod", WardenHarness.USER, alice("held"), "")) {
            Statement st = a.createStatement();
            CompletableFuture<Object> update = hold(st, "UPDATE billing SET amount = 4 WHERE id = 1");
            String id = awaitPendingId();
            String path = "/approvals/" + id + "/approve";
            // The harness's policy lists leaked-token-1 in denied_token_ids.
            assertEquals(401, post(path, bob("leaked-token-1"), "{}").statusCode());
            assertEquals(405, send("GET", path, bob("bob-5"), null, null).statusCode());
            assertEquals(405, send("PUT", path, bob("bob-5"), "{}", "application/json").statusCode());
            // A browser form (CSRF) carries no bearer token.
            assertEquals(401, send("POST", path, null, "comment=ok", "application/x-www-form-urlencoded")
                    .statusCode());
            assertEquals(401, send("POST", path, "", "{}", "application/json").statusCode());
            HttpResponse<String> twoHeaders = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + warden.server().adminPort() + path)).POST(HttpRequest.BodyPublishers.ofString("{}"))
                    .header("Authorization", "Bearer " + alice("two-a")).header("Authorization", "Bearer " + bob("two-b"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertNotEquals(200, twoHeaders.statusCode(), status(twoHeaders));
            int huge = send("POST", path, bob("bob-6"), "{\"comment\": \"" + "x".repeat(2_000_000) + "\"}",
                    "application/json").statusCode();
            assertTrue(huge == 413 || huge == 400, "a 2 MB body: " + huge);
            for (String odd : new String[] {"/approvals/..%2F..%2Fetc%2Fpasswd/approve", "/approvals/%2e%2e/approve",
                    "/approvals/" + id + "%00/approve", "/approvals/" + id.toUpperCase() + "/approve",
                    "/approvals/" + id + "/approve/", "/approvals//" + id + "/approve"}) {
                int code = post(odd, bob("bob-7"), "{}").statusCode();
                assertTrue(code == 404 || code == 400, odd + ": " + code);
            }
            assertEquals(405, send("POST", "/approvals", bob("bob-8"), "{\"id\": \"" + id + "\"}",
                    "application/json").statusCode());
            assertFalse(update.isDone(), "nothing released the held statement");
            assertEquals(100, amount());
            assertEquals(200, send("POST", path, bob("bob-9"), "{\"comment\": \"ok\"}", "application/json")
                    .statusCode(), "precision: the real approval works");
            assertEquals(1, update.get(10, TimeUnit.SECONDS));
            assertEquals(4, amount());
        }
    }
}
