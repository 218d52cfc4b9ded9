package dev.warden.proxy.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.warden.config.AdminSettings;
import dev.warden.identity.Identity;
import dev.warden.proxy.approvals.ApprovalException;
import dev.warden.proxy.approvals.ApprovalJson;
import dev.warden.proxy.approvals.ApprovalRecord;
import dev.warden.proxy.approvals.ApprovalService;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP API.
 *
 * <pre>
 * GET  /healthz                    200 while the process serves
 * GET  /readyz                     200 once approvals are started, else 503
 * GET  /approvals                  {"approvals": [...]}: pending first, then recent; only those the caller
 *                                  requested or may decide
 * GET  /approvals/{id}             one record
 * POST /approvals/{id}/approve     body {"comment": "..."} (optional); answers the updated record
 * POST /approvals/{id}/deny        body {"comment": "..."}
 * </pre>
 * Errors are {@code {"error": "...", "status": N}}: 400 bad body, 401 no or invalid token, 403 not an approver
 * or self-approval, 404 unknown id, 405 wrong method, 409 already decided, 503 store unavailable.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    private static final Pattern ONE = Pattern.compile("/approvals/([^/]+)");
    private static final Pattern ACTION = Pattern.compile("/approvals/([^/]+)/(approve|deny)");
    private static final int MAX_BODY_BYTES = 64 * 1024;
    private static final int THREADS = 4;

    private final HttpServer server;
    private final ExecutorService executor;
    private final ApprovalService approvals;
    private final BearerAuthenticator authenticator;

    private AdminServer(HttpServer server, ExecutorService executor, ApprovalService approvals,
                        BearerAuthenticator authenticator) {
        this.server = server;
        this.executor = executor;
        this.approvals = approvals;
        this.authenticator = authenticator;
    }

    /** Binds {@code address} and starts serving. */
    public static AdminServer start(AdminSettings.Address address, ApprovalService approvals,
                                    BearerAuthenticator authenticator) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(address.host(), address.port()), 64);
        AtomicInteger n = new AtomicInteger();
        ExecutorService executor = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "warden-admin-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        AdminServer admin = new AdminServer(server, executor, approvals, authenticator);
        server.createContext("/", admin::serve);
        server.setExecutor(executor);
        server.start();
        log.info("admin API listening address={}:{}", address.host(), admin.port());
        return admin;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://host:port} as bound, for tests and log lines. */
    public URI uri() {
        InetSocketAddress a = server.getAddress();
        String host = a.getAddress().getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort());
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            try {
                route(exchange, method, path);
            } catch (HttpError e) {
                error(exchange, e.status, e.getMessage());
            } catch (ApprovalException e) {
                error(exchange, status(e.kind()), e.getMessage());
            } catch (RuntimeException e) {
                log.error("admin request failed method={} path={}", method, path, e);
                error(exchange, 500, "internal error");
            }
        }
    }

    private void route(HttpExchange exchange, String method, String path)
            throws IOException, HttpError, ApprovalException {
        if (path.equals("/healthz")) {
            expect(method, "GET");
            json(exchange, 200, ApprovalJson.MAPPER.createObjectNode().put("status", "ok"));
            return;
        }
        if (path.equals("/readyz")) {
            expect(method, "GET");
            boolean ready = approvals.started();
            json(exchange, ready ? 200 : 503, ApprovalJson.MAPPER.createObjectNode()
                    .put("status", ready ? "ready" : "starting"));
            return;
        }
        if (path.equals("/approvals") || path.equals("/approvals/")) {
            expect(method, "GET");
            Identity caller = authenticate(exchange);
            ObjectNode body = ApprovalJson.MAPPER.createObjectNode();
            ArrayNode list = body.putArray("approvals");
            for (ApprovalRecord r : approvals.list(caller)) {
                list.add(ApprovalJson.toJson(r));
            }
            json(exchange, 200, body);
            return;
        }
        Matcher action = ACTION.matcher(path);
        if (action.matches()) {
            expect(method, "POST");
            Identity caller = authenticate(exchange);
            String comment = comment(exchange);
            String id = action.group(1);
            ApprovalRecord r = action.group(2).equals("approve")
                    ? approvals.approve(id, caller, comment)
                    : approvals.deny(id, caller, comment);
            json(exchange, 200, ApprovalJson.toJson(r));
            return;
        }
        Matcher one = ONE.matcher(path);
        if (one.matches()) {
            expect(method, "GET");
            Identity caller = authenticate(exchange);
            Optional<ApprovalRecord> r = approvals.get(one.group(1));
            if (r.isEmpty() || !ApprovalService.visibleTo(r.get(), caller)) {
                // Invisible and missing look the same: ids are not to be probed.
                throw new HttpError(404, "no approval request " + one.group(1).replaceAll("[^A-Za-z0-9_-]", "?"));
            }
            json(exchange, 200, ApprovalJson.toJson(r.get()));
            return;
        }
        throw new HttpError(404, "no such endpoint: " + method + " " + path.replaceAll("[^A-Za-z0-9_/.-]", "?"));
    }

    private Identity authenticate(HttpExchange exchange) throws HttpError {
        try {
            return authenticator.authenticate(exchange.getRequestHeaders().getFirst("Authorization"));
        } catch (BearerAuthenticator.NotAuthenticated e) {
            exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            log.info("admin request unauthenticated path={} reason={}", exchange.getRequestURI().getPath(),
                    e.getMessage());
            throw new HttpError(401, e.getMessage());
        }
    }

    private static String comment(HttpExchange exchange) throws IOException, HttpError {
        byte[] bytes;
        try (InputStream in = exchange.getRequestBody()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new HttpError(413, "the body is larger than " + MAX_BODY_BYTES + " bytes");
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            return "";
        }
        JsonNode body;
        try {
            body = ApprovalJson.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new HttpError(400, "the body must be JSON like {\"comment\": \"...\"}");
        }
        if (!body.isObject()) {
            throw new HttpError(400, "the body must be JSON like {\"comment\": \"...\"}");
        }
        JsonNode comment = body.get("comment");
        if (comment == null || comment.isNull()) {
            return "";
        }
        if (!comment.isTextual()) {
            throw new HttpError(400, "comment must be a string");
        }
        return comment.asText();
    }

    private static void expect(String method, String allowed) throws HttpError {
        if (!method.equals(allowed)) {
            throw new HttpError(405, "use " + allowed + " here, not " + method);
        }
    }

    private static int status(ApprovalException.Kind kind) {
        switch (kind) {
            case NOT_FOUND:
                return 404;
            case FORBIDDEN:
                return 403;
            case CONFLICT:
                return 409;
            default:
                return 503;
        }
    }

    private static void error(HttpExchange exchange, int status, String message) throws IOException {
        json(exchange, status, ApprovalJson.MAPPER.createObjectNode().put("error", message).put("status", status));
    }

    private static void json(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = (body.toString() + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static final class HttpError extends Exception {
        private final int status;

        HttpError(int status, String message) {
            super(message);
            this.status = status;
        }
    }
}
