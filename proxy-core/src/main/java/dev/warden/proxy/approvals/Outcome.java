package dev.warden.proxy.approvals;

import java.time.Duration;

/** How a held statement's wait ended. Only {@link Approved} lets it reach the database. */
public sealed interface Outcome {

    /** @param by the approvers' user names, comma-separated when several were required */
    record Approved(String id, String by, String comment) implements Outcome {
        @Override
        public String describe() {
            return "approval " + id + " granted by " + by + (comment.isEmpty() ? "" : ": " + comment);
        }
    }

    /** @param comment the approver's reason, shown to the client */
    record Denied(String id, String by, String comment) implements Outcome {
        @Override
        public String describe() {
            return "approval " + id + " was denied by " + by + (comment.isEmpty() ? "" : ": " + comment);
        }
    }

    /** Nobody decided within {@code timeout}. */
    record Expired(String id, Duration timeout) implements Outcome {
        @Override
        public String describe() {
            return "approval " + id + " expired: nobody approved it within " + ApprovalService.human(timeout);
        }
    }

    /** The session withdrew it (the client cancelled or went away), or Warden shut down. */
    record Withdrawn(String id) implements Outcome {
        @Override
        public String describe() {
            return "approval " + id + " was withdrawn";
        }
    }

    String id();

    /** One sentence for the client's error message (the session adds the SQLSTATE). */
    String describe();
}
