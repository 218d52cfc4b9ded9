package dev.warden.proxy.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.config.Durations;
import dev.warden.identity.Identity;
import dev.warden.proxy.approvals.ApprovalException;
import dev.warden.proxy.approvals.ApprovalJson;
import dev.warden.proxy.approvals.ApprovalRecord;
import dev.warden.proxy.approvals.ApprovalService;
import dev.warden.proxy.approvals.Grant;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each admin endpoint answers, as plain values: no sockets, so the transport (Netty) stays separate from
 * the rules. The authenticator is read from the supplier on every request, so a policy reload (issuers,
 * {@code denied_token_ids}) applies to the very next call.
 */
final class AdminRoutes {

    private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);
    private static final Pattern ONE = Pattern.compile("/approvals/([^/]+)");
    private static final Pattern ACTION = Pattern.compile("/approvals/([^/]+)/(approve|deny)");

    private final ApprovalService approvals;
    private final Supplier<BearerAuthenticator> authenticator;

    AdminRoutes(ApprovalService approvals, Supplier<BearerAuthenticator> authenticator) {
        this.approvals = approvals;
        this.authenticator = authenticator;
    }

    /** A request as the routes see it; {@code method} is already GET for HEAD; {@code query}: decoded parameters. */
    record Request(String method, String path, String authorization, String body, Map<String, List<String>> query) {

        Request(String method, String path, String authorization, String body) {
            this(method, path, authorization, body, Map.of());
        }

        Request {
            query = Map.copyOf(query);
        }
    }

    private static final List<String> LIST_PARAMETERS = List.of("pending", "requester", "before", "limit");

    /** {@code challenge}: send {@code WWW-Authenticate: Bearer}. */
    record Response(int status, JsonNode body, boolean challenge) {
        static Response of(int status, JsonNode body) {
            return new Response(status, body, false);
        }

        static Response error(int status, String message) {
            return of(status, ApprovalJson.MAPPER.createObjectNode().put("error", message).put("status", status));
        }
    }

    /** Whether the endpoint needs no token and touches no store, so it may be answered on the event loop. */
    static boolean isProbe(String path) {
        return path.equals("/healthz") || path.equals("/readyz");
    }

    Response answer(Request request) {
        try {
            return route(request);
        } catch (HttpError e) {
            return new Response(e.status, Response.error(e.status, e.getMessage()).body(), e.status == 401);
        } catch (ApprovalException e) {
            int status = status(e.kind());
            return Response.error(status, e.getMessage());
        } catch (RuntimeException e) {
            log.error("admin request failed method={} path={}", request.method(), printable(request.path()), e);
            return Response.error(500, "internal error");
        }
    }

    private Response route(Request request) throws HttpError, ApprovalException {
        String path = request.path();
        String method = request.method();
        if (path.equals("/healthz")) {
            expect(method, "GET");
            return Response.of(200, ApprovalJson.MAPPER.createObjectNode().put("status", "ok"));
        }
        if (path.equals("/readyz")) {
            expect(method, "GET");
            boolean ready = approvals.started();
            return Response.of(ready ? 200 : 503, ApprovalJson.MAPPER.createObjectNode()
                    .put("status", ready ? "ready" : "starting"));
        }
        if (path.equals("/approvals") || path.equals("/approvals/")) {
            expect(method, "GET");
            Identity caller = authenticate(request);
            ObjectNode body = ApprovalJson.MAPPER.createObjectNode();
            ArrayNode list = body.putArray("approvals");
            if (request.query().isEmpty()) {
                for (ApprovalRecord r : approvals.list(caller)) {
                    list.add(ApprovalJson.toJson(r));
                }
                return Response.of(200, body);
            }
            ApprovalService.Page page = pendingPage(request.query(), caller);
            for (ApprovalRecord r : page.records()) {
                list.add(ApprovalJson.toJson(r));
            }
            page.next().ifPresent(next -> body.put("next", next));
            return Response.of(200, body);
        }
        Matcher action = ACTION.matcher(path);
        if (action.matches()) {
            expect(method, "POST");
            Identity caller = authenticate(request);
            String id = action.group(1);
            visible(id, caller);
            JsonNode body = body(request.body());
            String comment = comment(body);
            ApprovalRecord r = action.group(2).equals("approve")
                    ? approvals.approve(id, caller, comment, grant(body),
                    BearerAuthenticator.tokenId(request.authorization()))
                    : approvals.deny(id, caller, comment);
            return Response.of(200, ApprovalJson.toJson(r));
        }
        Matcher one = ONE.matcher(path);
        if (one.matches()) {
            expect(method, "GET");
            Identity caller = authenticate(request);
            return Response.of(200, ApprovalJson.toJson(visible(one.group(1), caller)));
        }
        throw new HttpError(404, "no such endpoint: " + method + " " + printable(path));
    }

    /** {@code ?pending=true&requester=NAME&before=ID&limit=N}: pending requests only, newest first, page by page. */
    private ApprovalService.Page pendingPage(Map<String, List<String>> query, Identity caller)
            throws HttpError, ApprovalException {
        for (String key : query.keySet()) {
            if (!LIST_PARAMETERS.contains(key)) {
                throw new HttpError(400, "unknown parameter '" + printable(key) + "'; expected "
                        + String.join(", ", LIST_PARAMETERS));
            }
        }
        Optional<String> pending = parameter(query, "pending");
        if (pending.isPresent() && !pending.get().equals("true")) {
            throw new HttpError(400, "pending must be true (the paged list holds pending requests only)");
        }
        int limit = ApprovalService.LIST_LIMIT;
        Optional<String> limitText = parameter(query, "limit");
        if (limitText.isPresent()) {
            try {
                limit = Integer.parseInt(limitText.get());
            } catch (NumberFormatException e) {
                limit = 0;
            }
            if (limit < 1 || limit > ApprovalService.LIST_LIMIT) {
                throw new HttpError(400, "limit must be a whole number from 1 to " + ApprovalService.LIST_LIMIT);
            }
        }
        return approvals.pendingPage(caller, parameter(query, "requester"), parameter(query, "before"), limit);
    }

    /** One non-empty value, or none; a parameter given twice is refused rather than guessed at. */
    private static Optional<String> parameter(Map<String, List<String>> query, String key) throws HttpError {
        List<String> values = query.get(key);
        if (values == null) {
            return Optional.empty();
        }
        if (values.size() != 1 || values.get(0).isBlank() || values.get(0).length() > 1024) {
            throw new HttpError(400, key + " must be given once, with a value of 1 to 1024 characters");
        }
        return Optional.of(values.get(0));
    }

    /**
     * The record, if the caller may see it. Invisible and missing look the same, for reads and for decisions
     * alike, so ids cannot be probed by comparing 403 with 404.
     */
    private ApprovalRecord visible(String id, Identity caller) throws HttpError, ApprovalException {
        Optional<ApprovalRecord> r = approvals.get(id);
        if (r.isEmpty() || !ApprovalService.visibleTo(r.get(), caller)) {
            throw new HttpError(404, "no approval request " + printable(id));
        }
        return r.get();
    }

    private Identity authenticate(Request request) throws HttpError {
        try {
            return authenticator.get().authenticate(request.authorization());
        } catch (BearerAuthenticator.NotAuthenticated e) {
            log.info("admin request unauthenticated path={} reason={}", printable(request.path()),
                    printable(e.getMessage()));
            throw new HttpError(401, e.getMessage());
        }
    }

    /**
     * A body is one JSON object, each key once: trailing text and a repeated key ({@code {"uses":1,"uses":5}}, read as
     * 5) are refused, not read one way by Warden and another by a log or a proxy in front (an attacker's pass, a113
     * A6).
     */
    private static final com.fasterxml.jackson.databind.ObjectReader STRICT = ApprovalJson.MAPPER.reader()
            .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private static JsonNode body(String text) throws HttpError {
        if (text.isBlank()) {
            return ApprovalJson.MAPPER.createObjectNode();
        }
        JsonNode body;
        try {
            body = STRICT.readTree(text);
        } catch (IOException e) {
            throw new HttpError(400, "the body must be one JSON object like {\"comment\": \"...\"}, each key once");
        }
        if (body == null || !body.isObject()) {
            throw new HttpError(400, "the body must be one JSON object like {\"comment\": \"...\"}, each key once");
        }
        return body;
    }

    /**
     * {@code "uses": 3} and/or {@code "for": "30m"} (the policy's duration syntax): what the approval grants
     * beyond one execution. Neither: one execution. The policy's maxima are checked by the approvals engine.
     */
    private static Grant grant(JsonNode body) throws HttpError {
        JsonNode uses = body.get("uses");
        JsonNode window = body.get("for");
        boolean hasUses = uses != null && !uses.isNull();
        boolean hasWindow = window != null && !window.isNull();
        if (hasUses && (!uses.canConvertToInt() || !uses.isIntegralNumber() || uses.asInt() < 1)) {
            throw new HttpError(400, "uses must be a whole number of at least 1");
        }
        Optional<Duration> duration = Optional.empty();
        if (hasWindow) {
            if (!window.isTextual()) {
                throw new HttpError(400, "for must be a duration like \"30m\"");
            }
            try {
                duration = Optional.of(Durations.parse(window.asText()));
            } catch (IllegalArgumentException e) {
                throw new HttpError(400, "for: " + printable(e.getMessage()));
            }
            if (duration.get().isZero()) {
                throw new HttpError(400, "for must be longer than 0");
            }
        }
        // --for alone: any number of uses within the window.
        return new Grant(hasUses ? uses.asInt() : hasWindow ? 0 : 1, duration);
    }

    private static String comment(JsonNode body) throws HttpError {
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
            throw new HttpError(405, "use " + allowed + " here, not " + printable(method));
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
            case TOO_MANY_PENDING:
                return 429;
            default:
                return 503;
        }
    }

    /** Paths and methods come from the caller: keep them to a harmless alphabet in answers and logs. */
    static String printable(String text) {
        String cleaned = text == null ? "" : text.replaceAll("[^A-Za-z0-9_/.@ :-]", "?");
        return cleaned.length() <= 200 ? cleaned : cleaned.substring(0, 200) + "...";
    }

    private static final class HttpError extends Exception {
        private final int status;

        HttpError(int status, String message) {
            super(message);
            this.status = status;
        }
    }
}
