package dev.warden.proxy.approvals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.text.VisibleText;
import dev.warden.config.WebhookTarget;
import dev.warden.config.ApprovalSettings.Webhook;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSTs a Slack-compatible body to each webhook: {@code {"text": "..."}} for chat, plus {@code event} and the
 * full {@code approval} record for bots. The body is JSON built by Jackson, so the statement is always data;
 * the chat text escapes it (see {@link #text}). Logs name the webhook by scheme and host only. Non-2xx answers and network errors are retried with exponential
 * backoff ({@code first, 2×first, 4×first, ...}); the caller never waits.
 */
public final class WebhookNotifier implements ApprovalNotifier {

    private static final Logger log = LoggerFactory.getLogger(WebhookNotifier.class);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    /** Chat clients fold long messages anyway; past this the statement is cut, visibly. */
    static final int MAX_STATEMENT_CHARS = 3000;
    private static final int MAX_FIELD_CHARS = 500;

    private final List<Webhook> webhooks;
    private final Duration firstBackoff;
    private final HttpClient http;
    private final ScheduledExecutorService retries;
    private final HostResolver resolver;
    /** Headers within this; the whole answer, body included, within twice this. */
    private final Duration requestTimeout;

    /** What a webhook's host name resolves to; the system's DNS in production, a fixed answer in tests. */
    @FunctionalInterface
    interface HostResolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    public WebhookNotifier(List<Webhook> webhooks, Duration firstBackoff) {
        this(webhooks, firstBackoff, InetAddress::getAllByName);
    }

    WebhookNotifier(List<Webhook> webhooks, Duration firstBackoff, HostResolver resolver) {
        this(webhooks, firstBackoff, resolver, REQUEST_TIMEOUT);
    }

    /** For tests: a shorter {@code requestTimeout} than the 10 s of production. */
    WebhookNotifier(List<Webhook> webhooks, Duration firstBackoff, HostResolver resolver, Duration requestTimeout) {
        this.resolver = resolver;
        this.requestTimeout = requestTimeout;
        this.webhooks = List.copyOf(webhooks);
        this.firstBackoff = firstBackoff;
        this.http = HttpClient.newBuilder().connectTimeout(requestTimeout)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.retries = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "warden-webhooks");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void notify(String event, ApprovalRecord record) {
        if (webhooks.isEmpty()) {
            return;
        }
        ObjectNode body = ApprovalJson.MAPPER.createObjectNode();
        body.put("text", text(event, record));
        body.put("event", event);
        body.set("approval", ApprovalJson.toJson(record));
        String json = body.toString();
        for (Webhook webhook : webhooks) {
            attempt(webhook, json, event, record.id(), 0);
        }
    }

    private void attempt(Webhook webhook, String json, String event, String id, int attempt) {
        String where = redacted(webhook.url());
        // Checked at every delivery: the name may resolve elsewhere than it did when the policy was loaded.
        CompletableFuture<HttpResponse<Void>> sent = CompletableFuture.supplyAsync(() -> {
            checkResolvedAddress(webhook.url(), resolver);
            return null;
        }, retries).thenCompose(ignored -> {
            CompletableFuture<HttpResponse<Void>> exchange = http.sendAsync(HttpRequest.newBuilder(webhook.url())
                    .timeout(requestTimeout)
                    .header("Content-Type", "application/json; charset=utf-8")
                    .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.discarding());
            // The request's timeout covers only the response's headers (before JDK 26): a receiver that sent them
            // and stalled its body left the delivery unfinished, neither retried nor logged, and its connection
            // open. Given up, the exchange is cancelled, which closes that connection.
            return exchange.copy().orTimeout(2 * requestTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .whenComplete((response, error) -> {
                        if (error instanceof java.util.concurrent.TimeoutException) {
                            exchange.cancel(true);
                        }
                    });
        });
        sent.whenComplete((response, error) -> {
            if (error == null && response.statusCode() / 100 == 2) {
                log.debug("webhook delivered url={} event={} approval={} attempt={}", where, event, id, attempt + 1);
                return;
            }
            Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            // An exception message may quote the URL, secret path and all.
            String why = cause instanceof java.util.concurrent.TimeoutException
                    ? "no complete answer within " + 2 * requestTimeout.toMillis() + " ms"
                    : cause != null ? scrub(String.valueOf(cause.getMessage()), webhook.url())
                    : "HTTP " + response.statusCode();
            if (cause instanceof RefusedTarget || attempt >= webhook.retries()) {
                log.warn("webhook failed, giving up url={} event={} approval={} attempts={} error={}", where,
                        event, id, attempt + 1, why);
                return;
            }
            long delay = firstBackoff.toMillis() << Math.min(attempt, 16);
            log.info("webhook failed, retrying url={} event={} approval={} in_ms={} error={}", where, event,
                    id, delay, why);
            try {
                retries.schedule(() -> attempt(webhook, json, event, id, attempt + 1), delay, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                log.debug("webhook retry dropped at shutdown url={} approval={}", where, id);
            }
        });
    }

    /** A webhook URL as logs may show it: scheme, host and port; the path, query and user info often hold its secret. */
    static String redacted(URI url) {
        return url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort()) + "/…";
    }

    private static String scrub(String message, URI url) {
        return VisibleText.escape(message.replace(url.toString(), redacted(url))
                .replace(String.valueOf(url.getRawPath()), "/…"));
    }

    private static void checkResolvedAddress(URI url, HostResolver resolver) {
        try {
            for (InetAddress address : resolver.resolve(url.getHost())) {
                Optional<String> why = WebhookTarget.refusal(address);
                if (why.isPresent()) {
                    throw new RefusedTarget("the webhook host resolves to " + address.getHostAddress() + ", which "
                            + why.get().replaceFirst("^points", "is"));
                }
            }
        } catch (UnknownHostException e) {
            throw new java.util.concurrent.CompletionException(e);
        }
    }

    /** The webhook's host resolved to an address Warden never posts to; not retried. */
    private static final class RefusedTarget extends RuntimeException {
        RefusedTarget(String message) {
            super(message);
        }
    }

    /**
     * The chat line: everything from the requester (statement, reason, names, comments) is shown with control
     * characters escaped and chat markup neutralised; the statement sits in a code block it cannot close, and
     * a long one is cut with a note saying so (the whole statement is in {@code approval.statement}).
     */
    static String text(String event, ApprovalRecord r) {
        ApprovalRequest q = r.request();
        StringBuilder text = new StringBuilder();
        String id = chat(q.id());
        switch (event) {
            case "approval.requested":
                text.append("Warden approval ").append(id).append(": ").append(chat(q.requester().username()))
                        .append(" wants to run on ").append(chat(q.environment())).append(" (rule ")
                        .append(chat(q.rule())).append(")\n```\n")
                        .append(codeBlock(VisibleText.clip(q.statement(), MAX_STATEMENT_CHARS))).append("\n```\n");
                if (!q.reason().isEmpty()) {
                    text.append("Reason: ").append(chat(q.reason())).append('\n');
                }
                text.append("Approvers: ").append(chat(String.join(", ", q.approvers().stream().sorted().toList())))
                        .append("; expires ").append(q.expiresAt()).append("\nApprove: `warden approvals approve ")
                        .append(id).append("`  Deny: `warden approvals deny ").append(id)
                        .append(" --comment ...`");
                break;
            case "approval.approved":
                text.append("Warden approval ").append(id).append(r.status() == ApprovalRecord.Status.APPROVED
                        ? " approved by " + chat(r.decidedBy())
                        : " has " + r.approvals().size() + " of " + r.requiredApprovals() + " approvals (latest: "
                        + chat(r.approvals().get(r.approvals().size() - 1).username()) + ")");
                break;
            case "approval.denied":
                text.append("Warden approval ").append(id).append(" denied by ").append(chat(r.decidedBy()));
                break;
            case "approval.expired":
                text.append("Warden approval ").append(id).append(" expired without a decision");
                break;
            default:
                text.append("Warden approval ").append(id).append(" withdrawn by ").append(chat(r.decidedBy()));
                break;
        }
        if (!event.equals("approval.requested") && !r.comment().isEmpty()) {
            text.append(": ").append(chat(r.comment()));
        }
        return text.toString();
    }

    /**
     * Text outside code: escaped, then chat markup made literal: the entities {@code &amp; &lt; &gt;} (what Slack
     * itself asks for) stop {@code <!channel>} mentions and {@code <url|label>} links; backticks become a
     * look-alike so no inline code span or block can be opened or closed.
     */
    static String chat(String untrusted) {
        return codeBlock(VisibleText.clip(untrusted, MAX_FIELD_CHARS));
    }

    /** Inside a code block only a backtick run can end it: backticks become a look-alike that cannot. */
    static String codeBlock(String escaped) {
        return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('`', '\u02CB');
    }

    @Override
    public void close() {
        retries.shutdownNow();
    }
}
