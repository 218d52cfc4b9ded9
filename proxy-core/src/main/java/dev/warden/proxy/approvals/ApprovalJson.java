package dev.warden.proxy.approvals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.text.VisibleText;
import dev.warden.identity.Identity;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The one JSON shape of an approval record: stored in files and tables, served by the admin API, sent to
 * webhooks. Written by hand rather than by reflection so the stored format cannot drift with a field rename.
 */
public final class ApprovalJson {

    public static final ObjectMapper MAPPER = new ObjectMapper();

    private ApprovalJson() {
    }

    public static ObjectNode toJson(ApprovalRecord r) {
        ApprovalRequest q = r.request();
        ObjectNode o = MAPPER.createObjectNode();
        o.put("id", q.id());
        o.put("status", r.status().name().toLowerCase(Locale.ROOT));
        o.put("environment", q.environment());
        o.put("rule", q.rule());
        o.put("statement", q.statement());
        o.put("statement_sha256", q.statementSha256());
        // For people and chat tools: the statement with control characters shown as \e, \r, \n...
        o.put("statement_display", VisibleText.escape(q.statement()));
        o.put("fingerprint", q.fingerprint());
        o.put("reason", q.reason());
        o.put("session", q.sessionId());
        ArrayNode approvers = o.putArray("approvers");
        q.approvers().stream().sorted().forEach(approvers::add);
        o.put("required_approvals", r.requiredApprovals());
        o.put("created_at", q.createdAt().toString());
        o.put("expires_at", q.expiresAt().toString());
        Identity who = q.requester();
        ObjectNode requester = o.putObject("requester");
        requester.put("username", who.username());
        requester.put("subject", who.subject());
        requester.put("issuer", who.issuer());
        requester.put("kind", who.kind().name().toLowerCase(Locale.ROOT));
        ArrayNode groups = requester.putArray("groups");
        who.groups().stream().sorted().forEach(groups::add);
        requester.put("token_expires_at", who.expiresAt().toString());
        ArrayNode votes = o.putArray("approvals");
        for (ApprovalRecord.Vote v : r.approvals()) {
            ObjectNode vote = votes.addObject();
            vote.put("by", v.username());
            vote.put("subject", v.subject());
            vote.put("issuer", v.issuer());
            vote.put("at", v.at().toString());
            vote.put("comment", v.comment());
            putGrant(vote, v.grant());
            if (!v.tokenId().isEmpty()) {
                vote.put("token_id", v.tokenId());
            }
        }
        o.put("decided_by", r.decidedBy());
        o.put("comment", r.comment());
        o.put("decided_at", r.decidedAt().map(Instant::toString).orElse(null));
        o.put("consumed_at", r.consumedAt().map(Instant::toString).orElse(null));
        putGrant(o, r.grant());
        o.put("grant_until", r.grantUntil().map(Instant::toString).orElse(null));
        o.put("used", r.used());
        o.put("held", r.held());
        o.put("version", r.version());
        return o;
    }

    /** {@code grant_uses} (0: any number within the window) and {@code grant_window} (ISO-8601, or null). */
    private static void putGrant(ObjectNode o, Grant grant) {
        o.put("grant_uses", grant.uses());
        o.put("grant_window", grant.window().map(Duration::toString).orElse(null));
    }

    /** Records written before grants existed read as one approval, one execution. */
    private static Grant grant(JsonNode o) {
        if (!o.hasNonNull("grant_uses")) {
            return Grant.ONCE;
        }
        return new Grant(o.get("grant_uses").asInt(), o.hasNonNull("grant_window")
                ? Optional.of(Duration.parse(o.get("grant_window").asText())) : Optional.empty());
    }

    public static String write(ApprovalRecord r) {
        return toJson(r).toString();
    }

    /** @throws IOException if the text is not a record this version wrote */
    public static ApprovalRecord read(String json) throws IOException {
        JsonNode o = MAPPER.readTree(json);
        try {
            JsonNode who = o.required("requester");
            Set<String> groups = new LinkedHashSet<>();
            who.required("groups").forEach(g -> groups.add(g.asText()));
            Identity requester = new Identity(text(who, "subject"), text(who, "username"), groups,
                    Identity.Kind.valueOf(text(who, "kind").toUpperCase(Locale.ROOT)), text(who, "issuer"),
                    Instant.parse(text(who, "token_expires_at")));
            Set<String> approvers = new LinkedHashSet<>();
            o.required("approvers").forEach(a -> approvers.add(a.asText()));
            ApprovalRequest request = new ApprovalRequest(text(o, "id"), requester, text(o, "environment"),
                    text(o, "statement"), text(o, "fingerprint"), text(o, "rule"), approvers, text(o, "reason"),
                    text(o, "session"), Instant.parse(text(o, "created_at")), Instant.parse(text(o, "expires_at")),
                    o.hasNonNull("statement_sha256") ? o.get("statement_sha256").asText() : null);
            List<ApprovalRecord.Vote> votes = new ArrayList<>();
            for (JsonNode v : o.required("approvals")) {
                votes.add(new ApprovalRecord.Vote(text(v, "by"), text(v, "subject"), text(v, "issuer"),
                        Instant.parse(text(v, "at")), text(v, "comment"), grant(v), v.path("token_id").asText("")));
            }
            Optional<Instant> consumedAt = instant(o, "consumed_at");
            int used = o.hasNonNull("used") ? o.get("used").asInt() : consumedAt.isPresent() ? 1 : 0;
            return new ApprovalRecord(request,
                    ApprovalRecord.Status.valueOf(text(o, "status").toUpperCase(Locale.ROOT)),
                    o.required("required_approvals").asInt(), votes, text(o, "decided_by"), text(o, "comment"),
                    instant(o, "decided_at"), consumedAt, o.required("version").asLong(), grant(o), used,
                    o.path("held").asBoolean(false));
        } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
            throw new IOException("not an approval record: " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode o, String field) {
        JsonNode value = o.get(field);
        if (value == null || value.isNull()) {
            throw new IllegalArgumentException("missing field " + field);
        }
        return value.asText();
    }

    private static Optional<Instant> instant(JsonNode o, String field) {
        JsonNode value = o.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(Instant.parse(value.asText()));
    }
}
