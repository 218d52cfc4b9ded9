package dev.warden.proxy.approvals;

import dev.warden.audit.AuditLog;
import dev.warden.audit.event.ApprovalEvent;
import dev.warden.audit.event.AuditEvent;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/** Keeps appended events in memory, in order, so tests can read the approval trail. */
public final class RecordingAuditLog implements AuditLog {

    private final List<AuditEvent> events = new CopyOnWriteArrayList<>();

    @Override
    public CompletableFuture<Long> append(AuditEvent event) {
        events.add(event);
        return CompletableFuture.completedFuture((long) events.size());
    }

    /** {@code approval.requested by alice@example.com} and so on, in order, for one request. */
    public List<String> trail(String approvalId) {
        return events.stream().filter(e -> e instanceof ApprovalEvent a && a.approvalId().equals(approvalId))
                .map(e -> e.type() + " by " + ((ApprovalEvent) e).by()).collect(Collectors.toList());
    }

    public List<ApprovalEvent> approvalEvents() {
        return events.stream().filter(ApprovalEvent.class::isInstance).map(ApprovalEvent.class::cast).toList();
    }

    @Override
    public boolean healthy() {
        return true;
    }

    @Override
    public Stats stats() {
        return new Stats(events.size(), 0, 0, 0);
    }

    @Override
    public void close() {
    }
}
