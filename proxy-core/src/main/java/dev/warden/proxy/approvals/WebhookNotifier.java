package dev.warden.proxy.approvals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.config.ApprovalSettings.Webhook;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSTs a Slack-compatible body to each webhook: {@code {"text": "..."}} for chat, plus {@code event} and the
 * full {@code approval} record for bots. Non-2xx answers and network errors are retried with exponential
 * backoff ({@code first, 2×first, 4×first, ...}); the caller never waits.
 */
public final class WebhookNotifier implements ApprovalNotifier {

    private static final Logger log = LoggerFactory.getLogger(WebhookNotifier.class);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final List<Webhook> webhooks;
    private final Duration firstBackoff;
    private final HttpClient http;
    private final ScheduledExecutorService retries;

    public WebhookNotifier(List<Webhook> webhooks, Duration firstBackoff) {
        this.webhooks = List.copyOf(webhooks);
        this.firstBackoff = firstBackoff;
        this.http = HttpClient.newBuilder().connectTimeout(REQUEST_TIMEOUT)
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
        HttpRequest request = HttpRequest.newBuilder(webhook.url()).timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
        CompletableFuture<HttpResponse<Void>> sent;
        try {
            sent = http.sendAsync(request, HttpResponse.BodyHandlers.discarding());
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((response, error) -> {
            if (error == null && response.statusCode() / 100 == 2) {
                log.debug("webhook delivered url={} event={} approval={} attempt={}", webhook.url(), event, id,
                        attempt + 1);
                return;
            }
            String why = error != null ? String.valueOf(error.getMessage()) : "HTTP " + response.statusCode();
            if (attempt >= webhook.retries()) {
                log.warn("webhook failed, giving up url={} event={} approval={} attempts={} error={}", webhook.url(),
                        event, id, attempt + 1, why);
                return;
            }
            long delay = firstBackoff.toMillis() << Math.min(attempt, 16);
            log.info("webhook failed, retrying url={} event={} approval={} in_ms={} error={}", webhook.url(), event,
                    id, delay, why);
            try {
                retries.schedule(() -> attempt(webhook, json, event, id, attempt + 1), delay, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                log.debug("webhook retry dropped at shutdown url={} approval={}", webhook.url(), id);
            }
        });
    }

    static String text(String event, ApprovalRecord r) {
        ApprovalRequest q = r.request();
        String statement = q.statement().length() <= 300 ? q.statement() : q.statement().substring(0, 300) + "…";
        StringBuilder text = new StringBuilder();
        switch (event) {
            case "approval.requested":
                text.append("Warden approval ").append(q.id()).append(": ").append(q.requester().username())
                        .append(" wants to run on ").append(q.environment()).append(" (rule ").append(q.rule())
                        .append(")\n```").append(statement).append("```\n");
                if (!q.reason().isEmpty()) {
                    text.append("Reason: ").append(q.reason()).append('\n');
                }
                text.append("Approvers: ").append(String.join(", ", q.approvers().stream().sorted().toList()))
                        .append("; expires ").append(q.expiresAt()).append("\nApprove: `warden approvals approve ")
                        .append(q.id()).append("`  Deny: `warden approvals deny ").append(q.id())
                        .append(" --comment ...`");
                break;
            case "approval.approved":
                text.append("Warden approval ").append(q.id()).append(r.status() == ApprovalRecord.Status.APPROVED
                        ? " approved by " + r.decidedBy()
                        : " has " + r.approvals().size() + " of " + r.requiredApprovals() + " approvals (latest: "
                        + r.approvals().get(r.approvals().size() - 1).username() + ")");
                break;
            case "approval.denied":
                text.append("Warden approval ").append(q.id()).append(" denied by ").append(r.decidedBy());
                break;
            case "approval.expired":
                text.append("Warden approval ").append(q.id()).append(" expired without a decision");
                break;
            default:
                text.append("Warden approval ").append(q.id()).append(" withdrawn by ").append(r.decidedBy());
                break;
        }
        if (!event.equals("approval.requested") && !r.comment().isEmpty()) {
            text.append(": ").append(r.comment());
        }
        return text.toString();
    }

    @Override
    public void close() {
        retries.shutdownNow();
    }
}
