package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;

/**
 * {@code approval.requested|approved|denied|expired|withdrawn|used}. {@code session} is the session whose statement
 * waits (for {@code used}: the session that ran it under the approval's grant); {@code by} is who acted (the
 * requester, an approver, or {@code warden} for an expiry).
 */
public record ApprovalEvent(UUID id, Instant ts, String session, Action action, String approvalId, String by,
                            String comment) implements AuditEvent {

    public enum Action { REQUESTED, APPROVED, DENIED, EXPIRED, WITHDRAWN, USED }

    public ApprovalEvent {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        Objects.requireNonNull(action, "action");
        approvalId = Fields.required(approvalId, "approvalId");
        by = by == null ? "" : by;
    }

    public static ApprovalEvent of(String session, Action action, String approvalId, String by, String comment) {
        return new ApprovalEvent(null, null, session, action, approvalId, by, comment);
    }

    @Override
    public String type() {
        return "approval." + action.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.string("approval_id", approvalId).string("by", by).string("comment", comment);
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("approval_id", approvalId);
        record.put("by", by);
        record.put("comment", comment);
    }
}
