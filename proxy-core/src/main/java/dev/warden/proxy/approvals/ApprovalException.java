package dev.warden.proxy.approvals;

/** Why an approval action was refused; the admin API maps {@link Kind} to an HTTP status. */
public final class ApprovalException extends Exception {

    public enum Kind {
        /** No request with that id. */
        NOT_FOUND,
        /** The caller may not decide this request (not in an approver group, or it is their own). */
        FORBIDDEN,
        /** Already decided, expired or withdrawn, or this approver has already approved it. */
        CONFLICT,
        /** The store could not be read or written. */
        UNAVAILABLE,
        /** The requester already has as many requests pending as the policy allows; nothing was filed. */
        TOO_MANY_PENDING
    }

    private final Kind kind;

    public ApprovalException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ApprovalException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
