package dev.warden.proxy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.audit.text.VisibleText;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code warden approvals list|show|approve|deny}: a client of the admin HTTP API. Exit codes: 0 done, 1 the API
 * refused (its message is printed), 2 usage or missing URL/token, 3 the API could not be reached.
 */
@Command(name = "approvals", mixinStandardHelpOptions = true,
        description = "List and decide statements that Warden holds for approval.",
        subcommands = {ApprovalsCommand.ListApprovals.class, ApprovalsCommand.Show.class,
                ApprovalsCommand.Approve.class, ApprovalsCommand.Deny.class})
final class ApprovalsCommand implements Runnable {

    static final int API_ERROR = 1;
    static final int USAGE = 2;
    static final int UNREACHABLE = 3;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** Where the admin API is and who is calling: options first, then WARDEN_URL and WARDEN_TOKEN. */
    static final class Api {
        @Option(names = "--url", paramLabel = "URL", description = "Admin API base URL, e.g. http://127.0.0.1:9090 "
                + "(default: $WARDEN_URL).")
        String url;

        @Option(names = "--token", paramLabel = "TOKEN", description = "Your OIDC token (default: $WARDEN_TOKEN). "
                + "Other users can read command lines (ps): prefer --token-file or the variable.")
        String token;

        @Option(names = "--token-file", paramLabel = "FILE", description = "Read your OIDC token from FILE.")
        java.nio.file.Path tokenFile;

        @Option(names = "--admin-ca", paramLabel = "FILE", description = "Trust only the certificates in this PEM "
                + "FILE (the admin API's own self-signed certificate, or its CA) for an https URL "
                + "(default: $WARDEN_ADMIN_CA).")
        java.nio.file.Path adminCa;

        /** An API answer: status and parsed body. */
        record Answer(int status, JsonNode body, String raw) {
        }

        /** Thrown with the exit code and the message to print. */
        static final class Failure extends Exception {
            final int exitCode;

            Failure(int exitCode, String message) {
                super(message);
                this.exitCode = exitCode;
            }
        }

        Answer call(String method, String path, String body) throws Failure {
            String base = firstNonBlank(url, System.getenv("WARDEN_URL"));
            String fromFile = null;
            if (tokenFile != null) {
                try {
                    fromFile = java.nio.file.Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
                } catch (IOException e) {
                    throw new Failure(USAGE, "cannot read the token file " + tokenFile + ": " + e.getMessage());
                }
            }
            String bearer = firstNonBlank(fromFile, firstNonBlank(token, System.getenv("WARDEN_TOKEN")));
            if (base == null) {
                throw new Failure(USAGE, "no admin API URL: pass --url or set WARDEN_URL");
            }
            if (bearer == null) {
                throw new Failure(USAGE, "no token: pass --token or set WARDEN_TOKEN");
            }
            URI uri;
            try {
                uri = URI.create(base.replaceAll("/+$", "") + path);
            } catch (IllegalArgumentException e) {
                throw new Failure(USAGE, "'" + base + "' is not a URL");
            }
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(TIMEOUT)
                    .header("Authorization", "Bearer " + bearer.strip())
                    .header("Accept", "application/json");
            if (method.equals("POST")) {
                request.header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body));
            } else {
                request.GET();
            }
            HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(TIMEOUT);
            String ca = adminCa != null ? adminCa.toString() : firstNonBlank(System.getenv("WARDEN_ADMIN_CA"), null);
            if (ca != null) {
                try {
                    client.sslContext(AdminTrust.trusting(java.nio.file.Path.of(ca)));
                } catch (IOException | java.security.GeneralSecurityException e) {
                    throw new Failure(USAGE, "cannot read the admin CA file " + ca + ": " + e.getMessage());
                }
            }
            HttpResponse<String> response;
            try {
                response = dev.warden.config.net.WholeAnswer.send(client.build(), request.build(),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8), TIMEOUT.multipliedBy(2));
            } catch (ConnectException e) {
                throw new Failure(UNREACHABLE, "cannot reach the Warden admin API at " + base + ": connection refused");
            } catch (IOException e) {
                if (untrusted(e)) {
                    throw new Failure(UNREACHABLE, "cannot reach the Warden admin API at " + base + ": its TLS "
                            + "certificate is not trusted; for a self-signed or private certificate pass "
                            + "--admin-ca FILE or set WARDEN_ADMIN_CA");
                }
                throw new Failure(UNREACHABLE, "cannot reach the Warden admin API at " + base + ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failure(UNREACHABLE, "interrupted");
            }
            JsonNode parsed;
            try {
                parsed = JSON.readTree(response.body());
            } catch (IOException e) {
                parsed = null;
            }
            if (response.statusCode() / 100 != 2) {
                String message = parsed != null && parsed.hasNonNull("error") ? parsed.get("error").asText()
                        : "HTTP " + response.statusCode();
                throw new Failure(API_ERROR, "error: " + VisibleText.escape(message) + " (HTTP "
                        + response.statusCode() + ")");
            }
            if (parsed == null) {
                throw new Failure(API_ERROR, "error: the admin API answered something that is not JSON");
            }
            return new Answer(response.statusCode(), parsed, response.body().strip());
        }

        private static boolean untrusted(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof javax.net.ssl.SSLHandshakeException
                        || t instanceof java.security.cert.CertificateException) {
                    return true;
                }
            }
            return false;
        }

        private static String firstNonBlank(String a, String b) {
            if (a != null && !a.isBlank()) {
                return a;
            }
            return b != null && !b.isBlank() ? b : null;
        }
    }

    /** Runs one API call and turns failures into a message on stderr and an exit code. */
    abstract static class ApiCommand implements Callable<Integer> {
        @Mixin
        Api api;

        @Override
        public Integer call() {
            try {
                return execute();
            } catch (Api.Failure e) {
                System.err.println(e.getMessage());
                return e.exitCode;
            }
        }

        abstract int execute() throws Api.Failure;

        static String path(String id) {
            return "/approvals/" + URLEncoder.encode(id, StandardCharsets.UTF_8);
        }

        static String commentBody(String comment) {
            return JSON.createObjectNode().put("comment", comment == null ? "" : comment).toString();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "Pending requests first, taking turns by requester, then recent decisions (those you "
                    + "requested or may decide), at most 200. With --pending, --requester, --before or --all: pending "
                    + "requests only, newest first, a page at a time.")
    static final class ListApprovals extends ApiCommand {
        @Option(names = "--json", description = "Print the API's JSON.")
        boolean json;

        @Option(names = "--pending", description = "Pending requests only, newest first, a page at a time.")
        boolean pending;

        @Option(names = "--requester", paramLabel = "NAME", description = "Pending requests of this user name only "
                + "(compared without case).")
        String requester;

        @Option(names = "--before", paramLabel = "ID", description = "The page after request ID (the 'next' a page "
                + "names).")
        String before;

        @Option(names = "--limit", paramLabel = "N", description = "Requests per page (1 to 200; default 200).")
        Integer limit;

        @Option(names = "--all", description = "Every page of pending requests, one after the other.")
        boolean all;

        @Override
        int execute() throws Api.Failure {
            boolean paged = pending || requester != null || before != null || limit != null || all;
            if (!paged) {
                Api.Answer answer = api.call("GET", "/approvals", null);
                if (json) {
                    System.out.println(answer.raw());
                    return 0;
                }
                JsonNode list = answer.body().path("approvals");
                print(list, true);
                if (list.size() >= 200) {
                    System.out.println("(the list stops at 200: `warden approvals list --all` shows every pending "
                            + "request, `--requester NAME` one person's)");
                }
                return 0;
            }
            String cursor = before;
            boolean header = true;
            java.util.Set<String> seen = new java.util.HashSet<>();
            while (true) {
                Api.Answer answer = api.call("GET", pageQuery(cursor), null);
                if (json) {
                    System.out.println(answer.raw());
                } else {
                    print(answer.body().path("approvals"), header);
                    header = false;
                }
                JsonNode next = answer.body().path("next");
                if (!next.isTextual()) {
                    return 0;
                }
                if (!all || !seen.add(next.asText())) {
                    if (!json) {
                        System.out.println("(more: warden approvals list " + (requester == null ? "--pending"
                                : "--requester " + requester) + " --before " + VisibleText.escape(next.asText()) + ")");
                    }
                    return 0;
                }
                cursor = next.asText();
            }
        }

        private String pageQuery(String cursor) {
            StringBuilder q = new StringBuilder("/approvals?pending=true");
            if (requester != null) {
                q.append("&requester=").append(URLEncoder.encode(requester, StandardCharsets.UTF_8));
            }
            if (cursor != null) {
                q.append("&before=").append(URLEncoder.encode(cursor, StandardCharsets.UTF_8));
            }
            if (limit != null) {
                q.append("&limit=").append(limit);
            }
            return q.toString();
        }

        private static void print(JsonNode list, boolean header) {
            if (list.isEmpty()) {
                if (header) {
                    System.out.println("no approval requests");
                }
                return;
            }
            if (header) {
                System.out.printf("%-16s %-9s %-12s %-28s %-22s %s%n", "ID", "STATUS", "ENVIRONMENT", "REQUESTER",
                        "EXPIRES", "STATEMENT");
            }
            for (JsonNode r : list) {
                System.out.printf("%-16s %-9s %-12s %-28s %-22s %s%n", shown(r.path("id")),
                        shown(r.path("status")), shown(r.path("environment")),
                        VisibleText.name(r.path("requester").path("username").asText()), shown(r.path("expires_at")),
                        VisibleText.clip(r.path("statement").asText(), 60));
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "One request in full.")
    static final class Show extends ApiCommand {
        @Parameters(paramLabel = "ID", description = "The request id (apr_...).")
        String id;

        @Option(names = "--json", description = "Print the API's JSON.")
        boolean json;

        @Override
        int execute() throws Api.Failure {
            Api.Answer answer = api.call("GET", path(id), null);
            if (json) {
                System.out.println(answer.raw());
                return 0;
            }
            JsonNode r = answer.body();
            StringBuilder out = new StringBuilder();
            out.append("id:          ").append(shown(r.path("id"))).append('\n')
                    .append("status:      ").append(shown(r.path("status"))).append('\n')
                    .append("requester:   ").append(VisibleText.name(r.path("requester").path("username").asText()))
                    .append(" (").append(shown(r.path("requester").path("kind"))).append(")\n")
                    .append("environment: ").append(shown(r.path("environment"))).append('\n')
                    .append("rule:        ").append(shown(r.path("rule"))).append('\n')
                    .append("approvers:   ").append(names(r.path("approvers"))).append(" (")
                    .append(r.path("required_approvals").asInt()).append(" needed)\n")
                    .append("reason:      ").append(shown(r.path("reason"))).append('\n')
                    .append("created:     ").append(shown(r.path("created_at"))).append('\n')
                    .append("expires:     ").append(shown(r.path("expires_at"))).append('\n');
            for (JsonNode vote : r.path("approvals")) {
                out.append("approved by: ").append(VisibleText.name(vote.path("by").asText())).append(" at ")
                        .append(shown(vote.path("at")));
                if (!vote.path("comment").asText().isEmpty()) {
                    out.append(": ").append(shown(vote.path("comment")));
                }
                out.append('\n');
            }
            if (!r.path("decided_by").asText().isEmpty()) {
                out.append("decided by:  ").append(VisibleText.name(r.path("decided_by").asText())).append(" at ")
                        .append(shown(r.path("decided_at"))).append('\n');
            }
            if (!r.path("comment").asText().isEmpty()) {
                out.append("comment:     ").append(shown(r.path("comment"))).append('\n');
            }
            if (!grantText(r).isEmpty()) {
                out.append("grant:       ").append(grantText(r).substring(2)).append('\n');
            }
            out.append("statement:\n  ").append(shown(r.path("statement")));
            System.out.println(out);
            return 0;
        }
    }

    @Command(name = "approve", mixinStandardHelpOptions = true, description = "Approve a held statement.")
    static final class Approve extends ApiCommand {
        @Parameters(paramLabel = "ID", description = "The request id (apr_...).")
        String id;

        @Option(names = "--comment", paramLabel = "TEXT", description = "Why; recorded in the audit trail.")
        String comment;

        @Option(names = "--uses", paramLabel = "N", description = "Let the identical statement (same text, same "
                + "values) run N times in all, this one included (default 1; at most approvals.max_grant_uses).")
        Integer uses;

        @Option(names = "--for", paramLabel = "DURATION", description = "Let it run again for DURATION after this "
                + "approval, e.g. 30m (at most approvals.max_grant_window); with --uses, whichever ends first.")
        String window;

        @Override
        int execute() throws Api.Failure {
            ObjectNode body = JSON.createObjectNode().put("comment", comment == null ? "" : comment);
            if (uses != null) {
                body.put("uses", uses);
            }
            if (window != null) {
                body.put("for", window);
            }
            JsonNode r = api.call("POST", path(id) + "/approve", body.toString()).body();
            if (r.path("status").asText().equals("approved")) {
                System.out.println("approved " + r.path("id").asText() + ": the statement is released"
                        + grantText(r));
            } else {
                System.out.println("approval recorded for " + r.path("id").asText() + ": "
                        + r.path("approvals").size() + " of " + r.path("required_approvals").asInt()
                        + " approvals so far");
            }
            return 0;
        }
    }

    /** {@code ; granted 3 uses until ...}, or nothing for one execution. */
    static String grantText(JsonNode r) {
        int uses = r.path("grant_uses").asInt(1);
        String until = r.path("grant_until").asText("");
        if (uses == 1 && until.isEmpty()) {
            return "";
        }
        return "; granted " + (uses == 0 ? "any number of uses" : uses + " uses in all")
                + (until.isEmpty() ? "" : " until " + VisibleText.escape(until)) + ", " + r.path("used").asInt()
                + " used";
    }

    @Command(name = "deny", mixinStandardHelpOptions = true, description = "Deny a held statement.")
    static final class Deny extends ApiCommand {
        @Parameters(paramLabel = "ID", description = "The request id (apr_...).")
        String id;

        @Option(names = "--comment", paramLabel = "TEXT", description = "Why; shown to the requester.")
        String comment;

        @Override
        int execute() throws Api.Failure {
            JsonNode r = api.call("POST", path(id) + "/deny", commentBody(comment)).body();
            System.out.println("denied " + r.path("id").asText());
            return 0;
        }
    }

    /** User and group names, each as {@link VisibleText#name} shows it (a look-alike says so). */
    private static String names(JsonNode array) {
        StringBuilder out = new StringBuilder();
        for (JsonNode item : array) {
            out.append(out.length() == 0 ? "" : ", ").append(VisibleText.name(item.asText()));
        }
        return out.toString();
    }

    /**
     * A field from the API as the terminal shows it: control characters escaped ({@code \e}, {@code \r},
     * {@code \n}...), so a statement cannot rewrite what the approver reads.
     */
    private static String shown(JsonNode field) {
        return VisibleText.escape(field.asText());
    }
}
