package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;

/**
 * {@code approval.requested|approved|denied|expired|withdrawn|used|revoked}. {@code session} is the session whose
 * statement waits (for {@code used}: the session that ran it under the approval's grant); {@code by} is who acted (the
 * requester, an approver, or {@code warden} for an expiry or a revocation). {@code tokenId} is the {@code jti} of the
 * approver's token for {@code approved} (the member {@code token_id}, written only when there is one): the id an
 * issuer's {@code denied_token_ids} names when that token is revoked. {@code revoked}: an approval set aside for good
 * because one of its votes was given with a token revoked since.
 */
public record ApprovalEvent(UUID id, Instant ts, String session, Action action, String approvalId, String by,
                            String comment, String tokenId) implements AuditEvent {

    public enum Action { REQUESTED, APPROVED, DENIED, EXPIRED, WITHDRAWN, USED, REVOKED }

    public ApprovalEvent {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        Objects.requireNonNull(action, "action");
        approvalId = Fields.required(approvalId, "approvalId");
        by = by == null ? "" : by;
        tokenId = tokenId == null ? "" : tokenId;
    }

    public static ApprovalEvent of(String session, Action action, String approvalId, String by, String comment) {
        return of(session, action, approvalId, by, comment, "");
    }

    public static ApprovalEvent of(String session, Action action, String approvalId, String by, String comment,
                                   String tokenId) {
        return new ApprovalEvent(null, null, session, action, approvalId, by, comment, tokenId);
    }

    @Override
    public String type() {
        return "approval." + action.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.string("approval_id", approvalId).string("by", by).string("comment", comment);
        if (!tokenId.isEmpty()) {
            out.string("token_id", tokenId);
        }
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("approval_id", approvalId);
        record.put("by", by);
        record.put("comment", comment);
        if (!tokenId.isEmpty()) {
            record.put("token_id", tokenId);
        }
    }
}
