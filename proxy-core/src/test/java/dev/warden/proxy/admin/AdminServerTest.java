package dev.warden.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.proxy.approvals.ApprovalJson;
import dev.warden.proxy.approvals.ApprovalRequest;
import dev.warden.proxy.approvals.Outcome;
import dev.warden.testkit.TestOidcIssuer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminServerTest {

    @TempDir
    Path dir;

    private AdminFixture f;

    @BeforeEach
    void start() throws Exception {
        f = new AdminFixture(dir, 1);
    }

    @AfterEach
    void stop() {
        f.close();
    }

    private static JsonNode json(HttpResponse<String> response) throws Exception {
        return ApprovalJson.MAPPER.readTree(response.body());
    }

    @Test
    void healthAndReadinessNeedNoToken() throws Exception {
        HttpResponse<String> health = f.get("/healthz", null);
        assertEquals(200, health.statusCode());
        assertEquals("ok", json(health).get("status").asText());
        HttpResponse<String> ready = f.get("/readyz", null);
        assertEquals(200, ready.statusCode());
        assertEquals("application/json; charset=utf-8", ready.headers().firstValue("Content-Type").orElseThrow());
        f.approvals.close();
        assertEquals(503, f.get("/readyz", null).statusCode());
    }

    @Test
    void approvalsNeedAValidBearerToken() throws Exception {
        HttpResponse<String> none = f.get("/approvals", null);
        assertEquals(401, none.statusCode());
        assertEquals("missing Authorization: Bearer <token> header", json(none).get("error").asText());
        assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElseThrow());

        HttpResponse<String> forged = f.get("/approvals", TestOidcIssuer.tamperPayload(f.token("bob", "dba")));
        assertEquals(401, forged.statusCode());
        assertEquals("token signature is invalid", json(forged).get("error").asText());

        HttpResponse<String> garbage = f.get("/approvals", "not-a-jwt");
        assertEquals(401, garbage.statusCode());
        assertEquals("token is not a JWT", json(garbage).get("error").asText());
    }

    @Test
    void anApproverApprovesOverHttpAndTheHeldStatementIsReleased() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        CompletableFuture<Outcome> held = f.approvals.request(request);
        String bob = f.token("bob", "dba");

        HttpResponse<String> list = f.get("/approvals", bob);
        assertEquals(200, list.statusCode());
        JsonNode items = json(list).get("approvals");
        assertEquals(1, items.size());
        assertEquals(request.id(), items.get(0).get("id").asText());
        assertEquals("pending", items.get(0).get("status").asText());
        assertEquals("alice@example.com", items.get(0).get("requester").get("username").asText());

        HttpResponse<String> one = f.get("/approvals/" + request.id(), bob);
        assertEquals(200, one.statusCode());
        assertEquals("ticket 42", json(one).get("reason").asText());

        HttpResponse<String> approved = f.post("/approvals/" + request.id() + "/approve", bob,
                "{\"comment\": \"ship it\"}");
        assertEquals(200, approved.statusCode(), approved.body());
        assertEquals("approved", json(approved).get("status").asText());
        assertEquals(new Outcome.Approved(request.id(), "bob@example.com", "ship it"), held.get(2, TimeUnit.SECONDS));
        assertEquals(List.of("approval.requested by alice@example.com", "approval.approved by bob@example.com"),
                f.audit.trail(request.id()));

        HttpResponse<String> again = f.post("/approvals/" + request.id() + "/deny", f.token("carol", "dba"), "");
        assertEquals(409, again.statusCode());
        assertEquals("approval " + request.id() + " is already approved (by bob@example.com)",
                json(again).get("error").asText());
    }

    /**
     * Attacker pass a113 A6: an escaped slash in the path, two Authorization headers, and a body with trailing text or
     * a repeated key are refused, and approve nothing. Before, {@code /approvals/ID%2Fapprove} approved, the first of
     * two tokens was taken, and {@code {"uses":1,"uses":5}} was read as 5.
     */
    @Test
    void anAmbiguousRequestIsRefusedAndApprovesNothing() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        CompletableFuture<Outcome> held = f.approvals.request(request);
        String bob = f.token("bob", "dba");

        HttpResponse<String> escaped = f.post("/approvals/" + request.id() + "%2Fapprove", bob, "{}");
        assertEquals(404, escaped.statusCode(), escaped.body());
        HttpResponse<String> escapedLetter = f.get("/approvals/" + request.id().replace("apr_", "apr%5F"), bob);
        assertEquals(404, escapedLetter.statusCode(), escapedLetter.body());

        HttpResponse<String> trailing = f.post("/approvals/" + request.id() + "/approve", bob,
                "{\"comment\": \"x\"}garbage");
        assertEquals(400, trailing.statusCode(), trailing.body());
        HttpResponse<String> repeated = f.post("/approvals/" + request.id() + "/approve", bob,
                "{\"comment\": \"x\", \"comment\": \"y\"}");
        assertEquals(400, repeated.statusCode(), repeated.body());
        assertTrue(json(repeated).get("error").asText().contains("each key once"), repeated.body());

        String carol = f.token("carol", "eng");
        String raw = "POST /approvals/" + request.id() + "/approve HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Bearer " + bob + "\r\nAuthorization: Bearer " + carol + "\r\n"
                + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        try (java.net.Socket socket = new java.net.Socket(f.uri("/").getHost(), f.uri("/").getPort())) {
            socket.getOutputStream().write(raw.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("more than one Authorization header"), answer);
        }

        assertFalse(held.isDone(), "nothing was approved");
        HttpResponse<String> one = f.get("/approvals/" + request.id(), bob);
        assertEquals("pending", json(one).get("status").asText(), one.body());
    }

    @Test
    void theRequesterGets403ForApprovingTheirOwnRequest() throws Exception {
        ApprovalRequest request = f.request(f.identity("dave", "dba"));
        CompletableFuture<Outcome> held = f.approvals.request(request);

        HttpResponse<String> self = f.post("/approvals/" + request.id() + "/approve", f.token("dave", "dba"), "{}");

        assertEquals(403, self.statusCode());
        assertEquals("you cannot approve your own request " + request.id() + "; a member of dba must approve it",
                json(self).get("error").asText());
        assertFalse(held.isDone());
    }

    @Test
    void someoneWhoMayNotSeeARequestGets404ForEveryMethodSoIdsCannotBeProbed() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        f.approvals.request(request);
        String mallory = f.token("mallory", "eng");

        HttpResponse<String> approve = f.post("/approvals/" + request.id() + "/approve", mallory, "{}");
        assertEquals(404, approve.statusCode());
        assertEquals("no approval request " + request.id(), json(approve).get("error").asText());
        HttpResponse<String> unknown = f.post("/approvals/apr_aaaaaaaaaaaa/deny", mallory, "{}");
        assertEquals(unknown.statusCode(), approve.statusCode());
        assertEquals(404, f.post("/approvals/" + request.id() + "/deny", mallory, "{}").statusCode());
        assertTrue(f.approvals.get(request.id()).orElseThrow().approvals().isEmpty());
        assertEquals(0, json(f.get("/approvals", mallory)).get("approvals").size());
        assertEquals(404, f.get("/approvals/" + request.id(), mallory).statusCode());
    }

    @Test
    void onePersonWithTwoTokensCannotSatisfyTwoRequiredApprovals() throws Exception {
        f.close();
        f = new AdminFixture(dir.resolve("two"), 2);
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        CompletableFuture<Outcome> held = f.approvals.request(request);
        String bobWork = f.token("bob", "dba");
        // Same person (same e-mail, the configured username claim), another subject and different case.
        String bobAgain = f.issuer.token().subject("bob-second-account").email("Bob@Example.com").groups("dba").sign();

        assertEquals(200, f.post("/approvals/" + request.id() + "/approve", bobWork, "{}").statusCode());
        HttpResponse<String> twice = f.post("/approvals/" + request.id() + "/approve", bobAgain, "{}");
        assertEquals(409, twice.statusCode(), twice.body());
        assertTrue(json(twice).get("error").asText().startsWith("you have already approved"), twice.body());
        assertFalse(held.isDone());

        assertEquals(200, f.post("/approvals/" + request.id() + "/approve", f.token("carol", "dba"), "{}")
                .statusCode());
        assertTrue(held.get(2, TimeUnit.SECONDS) instanceof Outcome.Approved);
    }

    @Test
    void anAgentInAnApproverGroupCannotApprove() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        CompletableFuture<Outcome> held = f.approvals.request(request);
        String bot = f.issuer.token().subject("etl").email("etl@example.com").groups("dba").claim("azp", "etl-bot")
                .sign();

        HttpResponse<String> r = f.post("/approvals/" + request.id() + "/approve", bot, "{}");

        assertEquals(403, r.statusCode(), r.body());
        assertTrue(json(r).get("error").asText().contains("agents may not approve"), r.body());
        assertFalse(held.isDone());
    }

    @Test
    void approvalFilesAreReadableByTheOwnerOnly() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        f.approvals.request(request);
        java.nio.file.Path file = dir.resolve(request.id() + ".json");
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                java.nio.file.Files.getPosixFilePermissions(file)));
    }

    @Test
    void aDenialCarriesTheCommentToTheHeldStatement() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        CompletableFuture<Outcome> held = f.approvals.request(request);

        HttpResponse<String> denied = f.post("/approvals/" + request.id() + "/deny", f.token("bob", "dba"),
                "{\"comment\": \"not during the freeze\"}");

        assertEquals(200, denied.statusCode());
        assertEquals("denied", json(denied).get("status").asText());
        assertEquals("not during the freeze", json(denied).get("comment").asText());
        assertEquals(new Outcome.Denied(request.id(), "bob@example.com", "not during the freeze"),
                held.get(2, TimeUnit.SECONDS));
    }

    @Test
    void unknownIdsBadBodiesAndWrongMethodsAreClientErrors() throws Exception {
        String bob = f.token("bob", "dba");
        HttpResponse<String> unknown = f.post("/approvals/apr_aaaaaaaaaaaa/approve", bob, "{}");
        assertEquals(404, unknown.statusCode());
        assertEquals("no approval request apr_aaaaaaaaaaaa", json(unknown).get("error").asText());
        assertEquals(404, f.get("/approvals/apr_aaaaaaaaaaaa", bob).statusCode());

        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        f.approvals.request(request);
        HttpResponse<String> bad = f.post("/approvals/" + request.id() + "/approve", bob, "{not json");
        assertEquals(400, bad.statusCode());
        assertEquals(400, f.post("/approvals/" + request.id() + "/approve", bob, "{\"comment\": 5}").statusCode());
        for (String grant : List.of("{\"uses\": \"three\"}", "{\"uses\": 1.5}", "{\"uses\": 0}",
                "{\"for\": \"soon\"}", "{\"for\": 30}", "{\"for\": \"0s\"}")) {
            assertEquals(400, f.post("/approvals/" + request.id() + "/approve", bob, grant).statusCode(), grant);
        }
        HttpResponse<String> beyond = f.post("/approvals/" + request.id() + "/approve", bob, "{\"uses\": 2}");
        assertEquals(403, beyond.statusCode(), "this policy grants no more than one execution");
        assertTrue(json(beyond).get("error").asText().contains("approvals.max_grant_uses"), beyond.body());
        assertEquals(403, f.post("/approvals/" + request.id() + "/approve", bob, "{\"for\": \"1m\"}").statusCode());
        assertEquals(405, f.get("/approvals/" + request.id() + "/approve", bob).statusCode());
        assertEquals(404, f.get("/nothing-here", bob).statusCode());
        assertTrue(f.approvals.get(request.id()).orElseThrow().approvals().isEmpty());
    }
}
