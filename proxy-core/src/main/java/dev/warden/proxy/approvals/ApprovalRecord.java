package dev.warden.proxy.approvals;

import dev.warden.identity.Identity;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A request and where it stands, as stored. Immutable; each transition makes a new record with
 * {@code version + 1}, and a store accepts it only over the version it replaces.
 *
 * @param requiredApprovals fixed when the request is made, so a policy change does not move a pending request
 * @param approvals         the distinct people who approved so far, in order
 * @param decidedBy         who ended it: the denier, the last approver, the requester (withdrawn), {@code warden}
 *                          (expired); empty while pending
 * @param consumedAt        when the approved statement last ran (by this approval or its grant)
 * @param grant             what the approval lets run, fixed when it is approved ({@link Grant#ONCE} before)
 * @param used              how many executions the approval has let run; counted by compare-and-set like every
 *                          other change, so two Warden instances sharing a store never overspend a grant
 * @param held              a session holds the statement (not retry mode): approving it runs it, which counts as
 *                          the first use in the same compare-and-set
 */
public record ApprovalRecord(ApprovalRequest request, Status status, int requiredApprovals, List<Vote> approvals,
                             String decidedBy, String comment, Optional<Instant> decidedAt,
                             Optional<Instant> consumedAt, long version, Grant grant, int used, boolean held) {

    public enum Status {
        PENDING, APPROVED, DENIED, EXPIRED, WITHDRAWN,
        /** Approved, then set aside for good: one of its votes was given with a token revoked since. */
        REVOKED;

        public boolean terminal() {
            return this != PENDING;
        }
    }

    /**
     * One approval: who (user name, and the subject and issuer that make them distinct), when, why, what for, and
     * with which token ({@code tokenId}, its {@code jti}; empty when it had none or the record is older): a token
     * revoked since (the issuer's {@code denied_token_ids}) no longer lets the approval be used.
     */
    public record Vote(String username, String subject, String issuer, Instant at, String comment, Grant grant,
                       String tokenId) {

        public Vote(String username, String subject, String issuer, Instant at, String comment) {
            this(username, subject, issuer, at, comment, Grant.ONCE, "");
        }

        public Vote(String username, String subject, String issuer, Instant at, String comment, Grant grant) {
            this(username, subject, issuer, at, comment, grant, "");
        }

        public Vote {
            tokenId = tokenId == null ? "" : tokenId;
            Objects.requireNonNull(grant, "grant");
            Objects.requireNonNull(username, "username");
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(issuer, "issuer");
            Objects.requireNonNull(at, "at");
            comment = comment == null ? "" : comment;
        }

        /** Same subject at the same issuer, or the same user name: distinct approvers are distinct people. */
        boolean by(Identity identity) {
            return (subject.equals(identity.subject()) && issuer.equals(identity.issuer()))
                    || ApprovalService.samePerson(username, identity.username());
        }
    }

    public ApprovalRecord {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(status, "status");
        approvals = List.copyOf(approvals);
        decidedBy = decidedBy == null ? "" : decidedBy;
        comment = comment == null ? "" : comment;
        Objects.requireNonNull(decidedAt, "decidedAt");
        Objects.requireNonNull(consumedAt, "consumedAt");
        Objects.requireNonNull(grant, "grant");
    }

    static ApprovalRecord pending(ApprovalRequest request, int requiredApprovals, boolean held) {
        return new ApprovalRecord(request, Status.PENDING, requiredApprovals, List.of(), "", "", Optional.empty(),
                Optional.empty(), 1, Grant.ONCE, 0, held);
    }

    public String id() {
        return request.id();
    }

    /** This record without the votes {@code drop} names (a pending request's: its status stays). */
    ApprovalRecord withoutVotes(java.util.function.Predicate<Vote> drop) {
        List<Vote> kept = approvals.stream().filter(v -> !drop.test(v)).toList();
        return kept.size() == approvals.size() ? this : new ApprovalRecord(request, status, requiredApprovals, kept,
                decidedBy, comment, decidedAt, consumedAt, version, grant, used, held);
    }

    ApprovalRecord withVote(Vote vote) {
        List<Vote> votes = new ArrayList<>(approvals);
        votes.add(vote);
        boolean done = votes.size() >= requiredApprovals;
        boolean runsNow = done && held;
        return new ApprovalRecord(request, done ? Status.APPROVED : Status.PENDING, requiredApprovals, votes,
                done ? vote.username() : "", done ? vote.comment() : "",
                done ? Optional.of(vote.at()) : Optional.empty(), runsNow ? Optional.of(vote.at()) : consumedAt,
                version + 1, done ? Grant.narrowest(votes.stream().map(Vote::grant).toList()) : grant,
                runsNow ? used + 1 : used, held);
    }

    ApprovalRecord decided(Status to, String by, String why, Instant at) {
        return new ApprovalRecord(request, to, requiredApprovals, approvals, by, why, Optional.of(at), consumedAt,
                version + 1, grant, used, held);
    }

    /** One more execution let through by this approval. */
    ApprovalRecord consumed(Instant at) {
        return new ApprovalRecord(request, status, requiredApprovals, approvals, decidedBy, comment, decidedAt,
                Optional.of(at), version + 1, grant, used + 1, held);
    }

    /** When the grant's window ends; empty when there is none (its count alone ends it). */
    public Optional<Instant> grantUntil() {
        return decidedAt.flatMap(grant::until);
    }

    /**
     * Whether this approval may let one more execution run at {@code now}: approved, uses left, window open.
     * {@code defaultWindow} bounds a grant without a window (retry mode's {@code retry_window}, or the policy's
     * {@code max_grant_window} for several uses).
     */
    boolean usableAt(Instant now, java.time.Duration defaultWindow) {
        if (status != Status.APPROVED || decidedAt.isEmpty() || !grant.usesLeft(used)) {
            return false;
        }
        Instant until = grantUntil().orElse(decidedAt.get().plus(defaultWindow));
        return now.isBefore(until);
    }

    /** The outcome a held statement gets; empty while pending. */
    public Optional<Outcome> outcome() {
        switch (status) {
            case APPROVED:
                String by = approvals.stream().map(Vote::username).collect(Collectors.joining(", "));
                String comments = approvals.stream().map(Vote::comment).filter(c -> !c.isBlank())
                        .collect(Collectors.joining("; "));
                return Optional.of(new Outcome.Approved(id(), by.isEmpty() ? decidedBy : by, comments));
            case DENIED:
            case REVOKED:
                return Optional.of(new Outcome.Denied(id(), decidedBy, comment));
            case EXPIRED:
                return Optional.of(new Outcome.Expired(id(), Duration.between(request.createdAt(), request.expiresAt())));
            case WITHDRAWN:
                return Optional.of(new Outcome.Withdrawn(id()));
            default:
                return Optional.empty();
        }
    }
}
