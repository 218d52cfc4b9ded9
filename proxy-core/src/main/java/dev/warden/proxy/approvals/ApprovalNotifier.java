package dev.warden.proxy.approvals;

/** Tells people about requests and decisions. Must return at once: delivery happens in the background. */
public interface ApprovalNotifier extends AutoCloseable {

    ApprovalNotifier NONE = new ApprovalNotifier() {
        @Override
        public void notify(String event, ApprovalRecord record) {
        }

        @Override
        public void close() {
        }
    };

    /** @param event the audit event type: {@code approval.requested}, {@code approval.approved}, ... */
    void notify(String event, ApprovalRecord record);

    @Override
    void close();
}
