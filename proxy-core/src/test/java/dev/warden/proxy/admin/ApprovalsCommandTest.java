package dev.warden.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.proxy.CliRun;
import dev.warden.proxy.approvals.ApprovalJson;
import dev.warden.proxy.approvals.ApprovalRequest;
import dev.warden.proxy.approvals.Outcome;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code warden approvals ...} run in-process against a live admin API. */
class ApprovalsCommandTest {

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

    /** {@code err} keeps only the command's own lines: the in-process server logs to stderr too. */
    private record Run(int exitCode, String out, String err) {
        Run {
            err = err.lines().filter(l -> !l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*"))
                    .collect(java.util.stream.Collectors.joining("\n"));
        }
    }

    private static Run warden(String... args) {
        CliRun run = CliRun.of(args);
        return new Run(run.exitCode(), run.out(), run.err());
    }

    private String url() {
        return f.server.uri().toString();
    }

    @Test
    void listShowsPendingRequestsAsATableOrAsJson() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        f.approvals.request(request);
        String bob = f.token("bob", "dba");

        Run table = warden("approvals", "list", "--url", url(), "--token", bob);
        assertEquals(0, table.exitCode(), table.err());
        assertTrue(table.out().startsWith("ID "), table.out());
        assertTrue(table.out().contains(request.id() + " pending   prod"), table.out());
        assertTrue(table.out().contains("alice@example.com"), table.out());

        Run json = warden("approvals", "list", "--json", "--url", url(), "--token", bob);
        assertEquals(0, json.exitCode(), json.err());
        JsonNode parsed = ApprovalJson.MAPPER.readTree(json.out());
        assertEquals(request.id(), parsed.get("approvals").get(0).get("id").asText());
    }

    @Test
    void listPagesThroughEveryPendingRequestAndFiltersByRequester() throws Exception {
        java.util.List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ApprovalRequest r = f.request(f.identity(i < 5 ? "alice" : "carol", "eng"),
                    "UPDATE billing SET plan = 'pro' WHERE id = " + i);
            f.approvals.request(r);
            ids.add(0, r.id());
        }
        String bob = f.token("bob", "dba");

        Run first = warden("approvals", "list", "--pending", "--limit", "3", "--url", url(), "--token", bob);
        assertEquals(0, first.exitCode(), first.err());
        assertTrue(first.out().contains("(more: warden approvals list --pending --before " + ids.get(2) + ")"),
                first.out());
        Run second = warden("approvals", "list", "--before", ids.get(2), "--limit", "3", "--url", url(), "--token",
                bob);
        assertTrue(second.out().contains(ids.get(3)) && second.out().contains(ids.get(5))
                && !second.out().contains(ids.get(2)) && !second.out().contains(ids.get(6)), second.out());

        Run all = warden("approvals", "list", "--all", "--limit", "3", "--url", url(), "--token", bob);
        assertEquals(0, all.exitCode(), all.err());
        for (String id : ids) {
            assertEquals(1, all.out().split(id, -1).length - 1, id + " once in\n" + all.out());
        }
        assertFalse(all.out().contains("(more:"), all.out());

        Run carols = warden("approvals", "list", "--requester", "CAROL@example.com", "--url", url(), "--token", bob);
        assertEquals(3, carols.out().lines().filter(l -> l.contains("carol@example.com")).count(), carols.out());
        assertFalse(carols.out().contains("alice@example.com"), carols.out());

        // Parameters the API does not know, or out of range, are refused; a cursor the caller may not see is unknown.
        assertEquals(400, f.get("/approvals?sort=oldest", bob).statusCode());
        assertEquals(400, f.get("/approvals?limit=201", bob).statusCode());
        assertEquals(400, f.get("/approvals?pending=false", bob).statusCode());
        assertEquals(400, f.get("/approvals?before=" + ids.get(0) + "&before=" + ids.get(1), bob).statusCode());
        var hidden = f.get("/approvals?before=" + ids.get(0), f.token("dave", "eng"));
        assertEquals(404, hidden.statusCode(), hidden.body());
        assertEquals(404, f.get("/approvals?before=apr_zzzzzzzzzzzz", bob).statusCode());
        // A malformed %-escape (java.net.URI would refuse to send one, so the request is written by hand).
        try (java.net.Socket raw = new java.net.Socket(f.server.uri().getHost(), f.server.uri().getPort())) {
            raw.getOutputStream().write(("GET /approvals?before=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + bob + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String answer = new String(raw.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
        }
    }

    @Test
    void showPrintsTheWholeRequest() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        f.approvals.request(request);

        Run show = warden("approvals", "show", request.id(), "--url", url(), "--token", f.token("bob", "dba"));

        assertEquals(0, show.exitCode(), show.err());
        assertTrue(show.out().contains("status:      pending"), show.out());
        assertTrue(show.out().contains("approvers:   dba (1 needed)"), show.out());
        assertTrue(show.out().contains("reason:      ticket 42"), show.out());
        assertTrue(show.out().contains("UPDATE billing SET plan = 'pro' WHERE id = 42"), show.out());
    }

    /**
     * A requester whose name has a Cyrillic {@code а} reads like alice@example.com; no rule written in Latin letters
     * matches it, but an approver deciding by the name alone must be told. List and show say so; the API's data
     * stays exact.
     */
    @Test
    void aLookAlikeRequesterNameIsMarkedByListAndShow() throws Exception {
        ApprovalRequest lookAlike = f.request(f.identity("\u0430lice", "eng"));
        ApprovalRequest plain = f.request(f.identity("jos\u00e9", "eng"), "UPDATE billing SET plan = 'pro' WHERE id = 7");
        f.approvals.request(lookAlike);
        f.approvals.request(plain);
        String bob = f.token("bob", "dba");

        Run list = warden("approvals", "list", "--url", url(), "--token", bob);
        assertEquals(0, list.exitCode(), list.err());
        assertTrue(list.out().contains("\u0430lice@example.com [mixed scripts: U+0430 CYRILLIC SMALL LETTER A]"),
                list.out());
        assertTrue(list.out().contains("jos\u00e9@example.com "), list.out());
        assertFalse(list.out().contains("jos\u00e9@example.com [mixed"), "a name of one script is shown as it is");

        Run show = warden("approvals", "show", lookAlike.id(), "--url", url(), "--token", bob);
        assertEquals(0, show.exitCode(), show.err());
        assertTrue(show.out().contains("requester:   \u0430lice@example.com [mixed scripts: U+0430 CYRILLIC SMALL "
                + "LETTER A] (human)"), show.out());
    }

    @Test
    void aStatementWithTerminalEscapesIsShownEscapedByListShowAndTheApi() throws Exception {
        String hidden = "UPDATE orders SET total=0 WHERE id=1 OR 1=1--\u001b[9D\u001b[K";
        ApprovalRequest request = f.request(f.identity("alice", "eng"), hidden);
        f.approvals.request(request);
        String bob = f.token("bob", "dba");

        Run show = warden("approvals", "show", request.id(), "--url", url(), "--token", bob);
        assertEquals(0, show.exitCode(), show.err());
        assertTrue(show.out().contains("UPDATE orders SET total=0 WHERE id=1 OR 1=1--\\e[9D\\e[K"), show.out());
        assertFalse(show.out().contains("\u001b"), "no raw ESC reaches the terminal");

        Run list = warden("approvals", "list", "--url", url(), "--token", bob);
        assertEquals(0, list.exitCode(), list.err());
        assertFalse(list.out().contains("\u001b"), list.out());
        assertTrue(list.out().contains("WHERE id=1 OR 1=1--\\e[9D\\e[K"), list.out());

        JsonNode api = ApprovalJson.MAPPER.readTree(f.get("/approvals/" + request.id(), bob).body());
        assertEquals(hidden, api.get("statement").asText(), "the data stays exact");
        assertEquals("UPDATE orders SET total=0 WHERE id=1 OR 1=1--\\e[9D\\e[K", api.get("statement_display").asText());
    }

    @Test
    void theTokenCanComeFromAFileSoItNeverShowsInPs() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        f.approvals.request(request);
        Path tokenFile = dir.resolve("bob.jwt");
        java.nio.file.Files.writeString(tokenFile, f.token("bob", "dba") + "\n");

        Run list = warden("approvals", "list", "--url", url(), "--token-file", tokenFile.toString());

        assertEquals(0, list.exitCode(), list.err());
        assertTrue(list.out().contains(request.id()), list.out());
    }

    @Test
    void approveReleasesTheStatement() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        CompletableFuture<Outcome> held = f.approvals.request(request);

        Run approve = warden("approvals", "approve", request.id(), "--comment", "ok for ticket 42", "--url", url(),
                "--token", f.token("bob", "dba"));

        assertEquals(0, approve.exitCode(), approve.err());
        assertEquals("approved " + request.id() + ": the statement is released", approve.out().strip());
        assertEquals(new Outcome.Approved(request.id(), "bob@example.com", "ok for ticket 42"),
                held.get(2, TimeUnit.SECONDS));
    }

    @Test
    void denyPassesTheCommentOn() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        CompletableFuture<Outcome> held = f.approvals.request(request);

        Run deny = warden("approvals", "deny", request.id(), "--comment", "wrong customer", "--url", url(),
                "--token", f.token("bob", "dba"));

        assertEquals(0, deny.exitCode(), deny.err());
        assertEquals(new Outcome.Denied(request.id(), "bob@example.com", "wrong customer"),
                held.get(2, TimeUnit.SECONDS));
    }

    @Test
    void refusalsExitNonZeroWithTheApisMessage() throws Exception {
        ApprovalRequest request = f.request(f.identity("alice", "eng"));
        f.approvals.request(request);

        Run self = warden("approvals", "approve", request.id(), "--url", url(), "--token", f.token("alice", "eng", "dba"));
        assertEquals(1, self.exitCode());
        assertEquals("error: you cannot approve your own request " + request.id() + "; a member of dba must approve "
                + "it (HTTP 403)", self.err().strip());

        Run unknown = warden("approvals", "show", "apr_aaaaaaaaaaaa", "--url", url(), "--token", f.token("bob", "dba"));
        assertEquals(1, unknown.exitCode());
        assertEquals("error: no approval request apr_aaaaaaaaaaaa (HTTP 404)", unknown.err().strip());

        Run badToken = warden("approvals", "list", "--url", url(), "--token", "nope");
        assertEquals(1, badToken.exitCode());
        assertEquals("error: token is not a JWT (HTTP 401)", badToken.err().strip());
    }

    @Test
    void anUnreachableApiIsReportedWithItsUrl() {
        Run down = warden("approvals", "list", "--url", "http://127.0.0.1:1", "--token", "x");
        assertEquals(3, down.exitCode());
        assertTrue(down.err().startsWith("cannot reach the Warden admin API at http://127.0.0.1:1"), down.err());
    }
}
