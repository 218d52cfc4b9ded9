package dev.warden.proxy.session;

import dev.warden.audit.event.QueryEvent;
import dev.warden.config.Budgets;
import dev.warden.identity.Identity;
import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage.ErrorResponse;
import dev.warden.proxy.approvals.ApprovalException;
import dev.warden.proxy.approvals.ApprovalRequest;
import dev.warden.proxy.approvals.ApprovalService;
import dev.warden.proxy.approvals.Outcome;
import dev.warden.proxy.guardrails.Decision;
import dev.warden.sql.Analysis;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The one path every statement takes before it reaches the database, whatever carried it (simple Query, Parse
 * and Execute, FunctionCall, COPY): the guardrail decision made by the caller, then an approval when the
 * decision asks for one, then the write-ahead audit record. The answer is FORWARD (with the audit record's
 * sequence number) or REFUSE (with the client's error; the caller sends a stand-in upstream). Until it is known
 * the statement is held: {@link #admit} returns a future, completed on the audit writer's or the approver's
 * thread, never blocking the caller. Approval-store I/O runs on the blocking executor.
 *
 * <p>Plain Java: no channel, testable without sockets.
 */
final class StatementGate {

    private static final Logger log = LoggerFactory.getLogger(FrontendSession.class);

    /** What the gate decided. */
    sealed interface Verdict permits Forward, Refuse {
    }

    /** Relay the statement; its {@code query} record is {@code querySeq} (-1 if the audit trail was down and
     * the policy allows that). */
    record Forward(long querySeq, String approvalId) implements Verdict {
    }

    /** Do not run it; the client sees {@code error}. */
    record Refuse(ErrorResponse error) implements Verdict {
    }

    /**
     * A statement to judge.
     *
     * @param parameters the values Bind gave it (an Execute), or null
     * @param continuesApproval for an Execute of a portal an earlier Execute ran under an approval, that approval's
     *     id: the server never runs a portal's statement afresh (a second Execute fetches more of the same run, or
     *     finds it done), so a statement that needs approval continues under it instead of asking again; else null
     */
    record Statement(PolicySnapshot policy, String sql, List<String> parameters, Analysis analysis,
                     Decision decision, QueryEvent.Protocol protocol, String preparedName, String approvalText,
                     String continuesApproval) {
        Statement(PolicySnapshot policy, String sql, List<String> parameters, Analysis analysis,
                  Decision decision, QueryEvent.Protocol protocol, String preparedName, String approvalText) {
            this(policy, sql, parameters, analysis, decision, protocol, preparedName, approvalText, null);
        }

        Statement(PolicySnapshot policy, String sql, List<String> parameters, Analysis analysis,
                  Decision decision, QueryEvent.Protocol protocol, String preparedName) {
            this(policy, sql, parameters, analysis, decision, protocol, preparedName, null);
        }

        Statement(PolicySnapshot policy, String sql, Analysis analysis, Decision decision,
                  QueryEvent.Protocol protocol) {
            this(policy, sql, null, analysis, decision, protocol, null, null);
        }

        /**
         * What an approval is asked for and bound to: the text, or (non-null {@code approvalText}) the text with what
         * it runs that the text does not say, such as the statements a SQL {@code EXECUTE name} runs.
         */
        String approved() {
            return approvalText != null ? approvalText : sql;
        }
    }

    private final SessionAudit audit;
    private final ApprovalService approvals;
    private final Executor blocking;
    private final Identity identity;
    private final String environment;
    private final String sessionId;
    private final Supplier<String> sessionReason;
    /** The approval this session waits for, withdrawn if the client cancels or leaves. */
    private volatile String pendingApproval;
    /** What this session may still record of its identity's audit budget; null: no limit (sessions tested alone). */
    private final AuditBudget.Allowance recordable;

    StatementGate(SessionAudit audit, ApprovalService approvals, Executor blocking, Identity identity,
                  String environment, String sessionId, Supplier<String> sessionReason) {
        this(audit, approvals, blocking, identity, environment, sessionId, sessionReason, null);
    }

    StatementGate(SessionAudit audit, ApprovalService approvals, Executor blocking, Identity identity,
                  String environment, String sessionId, Supplier<String> sessionReason,
                  AuditBudget.Allowance recordable) {
        this.recordable = recordable;
        this.audit = audit;
        this.approvals = approvals;
        this.blocking = blocking;
        this.identity = identity;
        this.environment = environment;
        this.sessionId = sessionId;
        this.sessionReason = sessionReason;
    }

    /**
     * Judges one statement. {@code notice} receives the text to show the client when the statement is held
     * for an approver (on the blocking executor's thread, once the store has the request; before the verdict).
     */
    CompletableFuture<Verdict> admit(Statement s, Consumer<String> notice) {
        if (recordable != null) {
            Budgets.AuditRate limits = s.policy().policy().budgets().auditPerIdentity().orElse(null);
            this.limits = limits;
            if (!recordable.spend(limits, recordedBytes(s))) {
                return notRecorded(s);
            }
        }
        Decision decision = s.decision();
        if (decision.verdict() == Decision.Verdict.REQUIRE_APPROVAL && approvals != null) {
            if (s.continuesApproval() != null) {
                // A fetch of a portal's run that an approval let start (JDBC's setFetchSize sends an Execute per
                // batch): before, each fetch was held for an approval of its own. Recorded under that approval.
                String id = s.continuesApproval();
                log.info("approval.continued session={} approval={}", sessionId, id);
                return writeAhead(s, Decision.ALLOW, id).thenApply(seq -> (Verdict) new Forward(seq, id))
                        .exceptionally(StatementGate::auditRefusal);
            }
            return decision.retry() ? retry(s) : hold(s, notice);
        }
        // One stage on the record's future, not three (writeAhead, then the verdict, then the refusal): this is
        // every statement's path, and each stage is a future and a completion allocated and run per statement.
        return audit.query(s.policy().audit(), s.sql(), s.analysis(), decision, s.protocol(), s.preparedName(),
                null, s.parameters()).<Verdict>handle((seq, failure) -> {
                    long written = failure == null ? seq : unwritten(s, failure);
                    if (written == UNWRITTEN) {
                        return unavailable(ClientErrors.unwrap(failure).getMessage());
                    }
                    return decision.allowed() ? new Forward(written, null) : refusal(decision, s.analysis());
                });
    }

    /**
     * What a statement's records take before it runs: their fixed part (SessionAudit#recordOverhead, with the rule
     * and prepared statement's name they name), its approval's records when it is held, and ({@link #variableBytes})
     * what they hold of what the client sent. Its result record's columns are charged once it ran
     * ({@link #chargeRecorded}).
     */
    private long recordedBytes(Statement s) {
        String sql = s.sql();
        long fixed = audit.recordOverhead(s.policy().policy().versionHash());
        String rule = s.decision().rule();
        if (rule != null) {
            fixed += dev.warden.audit.event.CanonicalWriter.jsonLength(rule);
        }
        if (s.preparedName() != null) {
            fixed += dev.warden.audit.event.CanonicalWriter.jsonLength(s.preparedName());
        }
        if (s.decision().verdict() == Decision.Verdict.REQUIRE_APPROVAL && approvals != null) {
            // Its approval's records: the request (with its reason: the statement's own, else the session's) and its
            // end. The statement's own reason is in its text too, and its request's record holds it again.
            String reason = requestReason(s);
            fixed += 2 * APPROVAL_RECORD_BYTES
                    + (reason == null ? 0 : dev.warden.audit.event.CanonicalWriter.jsonLength(reason));
        }
        return fixed + variableBytes(s, sql);
    }

    /** An approval record besides the reason: ids, times, hashes, session, rule and approvers (a policy's). */
    private static final int APPROVAL_RECORD_BYTES = 768;

    /** The limits in force at the last statement charged: what a result record's columns are charged under. */
    private Budgets.AuditRate limits;

    /**
     * Charges bytes recorded after the statement was admitted: a result record's columns ({@link SessionAudit}), a
     * second query record.
     */
    void chargeRecorded(long bytes) {
        if (recordable != null) {
            recordable.charge(limits, bytes);
        }
    }

    /**
     * What a statement's record holds whole of what the client sent, in the bytes the record writes it in (a control
     * character is six, a non-ASCII one its UTF-8 bytes: CanonicalWriter#jsonLength): its text (and again its bytes,
     * when not UTF-8), and its bound values (each cut at 256 characters, see BoundParameters, but a Bind may carry
     * 65,535 of them), and what the records say of each of its statements ({@link #factsBytes}). Counted before
     * approvals: each record of a held statement holds the text again, and a held statement is refused as a whole
     * here.
     */
    private long variableBytes(Statement s, String sql) {
        // A prepared statement's every Execute sends the same text (the same instance): counted once. A
        // simple-protocol text is new each time: counted without a memo's allocation.
        boolean repeats = s.protocol() == QueryEvent.Protocol.EXTENDED;
        long bytes = audit.receivedBytes();
        if (!repeats) {
            bytes += dev.warden.audit.event.CanonicalWriter.jsonLength(sql);
        } else {
            Counted text = countedText;
            if (text.of != sql) {
                text = new Counted(sql, dev.warden.audit.event.CanonicalWriter.jsonLength(sql));
                countedText = text;
            }
            bytes += text.bytes;
        }
        List<String> values = s.parameters();
        if (values != null) {
            for (int i = 0; i < values.size(); i++) {
                // With its quotes and comma: a Bind of 65,535 empty values ('') recorded 5 bytes for each of the 2
                // charged (Parse may declare parameters its text does not use).
                bytes += dev.warden.audit.event.CanonicalWriter.jsonLength(values.get(i)) + 3;
            }
        }
        Analysis analysis = s.analysis();
        if (analysis == null) {
            return bytes;
        }
        // The analyzer hands out the same fact lists for each text of a cached shape: counted once per shape.
        CountedFacts facts = countedFacts;
        if (!SessionAudit.sameFacts(facts.of, analysis.statements())) {
            facts = new CountedFacts(analysis.statements(), factsBytes(analysis.statements()));
            countedFacts = facts;
        }
        return bytes + facts.bytes;
    }

    /**
     * What {@link #recordedBytes} counted last: of which text (by identity), and its bytes. One field
     * each, so a reader never sees one's bytes with another's key.
     */
    private record Counted(Object of, long bytes) {
    }

    private Counted countedText = new Counted(null, 0);

    /** What {@link #recordedBytes} counted last for statements' facts: of which (see SessionAudit#sameFacts). */
    private record CountedFacts(List<dev.warden.sql.StatementFacts> of, long bytes) {
    }

    private CountedFacts countedFacts = new CountedFacts(List.of(), 0);

    /** A command tag in a result record's list, with its quotes and comma: "INSERT 0 " and a 20-digit count. */
    private static final int COMMAND_TAG_BYTES = 32;

    /**
     * What the records of a text say of each statement in it besides the text: its fingerprint (the query record
     * joins one per statement), the tables and columns it names, qualified (each name with its quotes and comma),
     * and its command tag in the result record. A text of many short statements ({@code SELECT;} repeated) or
     * naming many short tables grew the log five to seven times faster than its text did (attacker pass 20).
     * Names the query record holds once are charged each time a statement names them.
     */
    private static long factsBytes(List<dev.warden.sql.StatementFacts> statements) {
        long bytes = 0;
        for (int i = 0; i < statements.size(); i++) {
            dev.warden.sql.StatementFacts top = statements.get(i);
            bytes += top.fingerprint().length() + 1 + COMMAND_TAG_BYTES + KIND_BYTES;
            // The record names the tables and columns of what the statement runs too (SessionAudit.FactsSummary).
            for (dev.warden.sql.StatementFacts f : top.allStatements()) {
                bytes += tablesBytes(f.tablesRead()) + tablesBytes(f.tablesWritten());
                bytes += columnsBytes(f.columnsRead()) + columnsBytes(f.columnsWritten());
            }
        }
        return bytes;
    }

    /** A statement's kind in the query record's list ({@code "ALTER_TABLE",}), at most. */
    private static final int KIND_BYTES = 24;

    /** A schema name and its dot, as the record may write an unqualified table: at most 63 bytes and one. */
    private static final int SCHEMA_BYTES = 64;

    private static long tablesBytes(java.util.Set<dev.warden.sql.TableRef> tables) {
        long bytes = 0;
        for (dev.warden.sql.TableRef t : tables) {
            bytes += (t.schema() == null ? SCHEMA_BYTES : dev.warden.audit.event.CanonicalWriter.jsonLength(t.schema())
                    + 1) + dev.warden.audit.event.CanonicalWriter.jsonLength(t.name()) + 3;
        }
        return bytes;
    }

    private static long columnsBytes(java.util.Set<dev.warden.sql.ColumnRef> columns) {
        long bytes = 0;
        for (dev.warden.sql.ColumnRef c : columns) {
            bytes += (c.table() == null ? 0 : dev.warden.audit.event.CanonicalWriter.jsonLength(c.table()) + 1)
                    + dev.warden.audit.event.CanonicalWriter.jsonLength(c.column()) + 3;
        }
        return bytes;
    }

    /** The rule, and the client's message, of a statement refused for {@code budgets.audit.per_identity}. */
    static final Decision AUDIT_CAPACITY = Decision.block("audit-capacity", "this identity's audit budget "
            + "(budgets.audit.per_identity) is used up for now: the statement's text was not recorded and did not run",
            "the budget refills every second; send shorter statements or fewer, or ask for a larger budget");

    /**
     * Refuses a statement whose text would overdraw the identity's audit budget, with a record that names the text
     * (its length; with {@code statement_literals: keep}, its SHA-256) instead of holding it: no record, no query
     * still holds, and these records are a few hundred bytes whatever was sent.
     */
    private CompletableFuture<Verdict> notRecorded(Statement s) {
        if (!recordable.mayRecordRefusal()) {
            // Not recorded one by one: a flood of refused statements grew the log by a record each, at the rate they
            // arrived. The next refusal record (or the session's end) counts them.
            uncounted++;
            uncountedCharacters += s.sql().length();
            return CompletableFuture.completedFuture(auditCapacityRefusal());
        }
        log.info("query.blocked session={} user={} env={} rule={} characters={}", sessionId, identity.username(),
                environment, AUDIT_CAPACITY.rule(), s.sql().length());
        long before = uncounted;
        long beforeCharacters = uncountedCharacters;
        uncounted = 0;
        uncountedCharacters = 0;
        return audit.notRecorded(s.policy().audit(), s.sql(), s.parameters() == null ? -1 : s.parameters().size(),
                AUDIT_CAPACITY, s.protocol(), s.preparedName(), before, beforeCharacters).<Verdict>handle(
                (seq, failure) -> {
                    if (failure != null && unwritten(s, failure) == UNWRITTEN) {
                        return unavailable(ClientErrors.unwrap(failure).getMessage());
                    }
                    return auditCapacityRefusal();
                });
    }

    private static Refuse auditCapacityRefusal() {
        return new Refuse(ErrorResponse.of("ERROR", SqlState.INSUFFICIENT_PRIVILEGE, AUDIT_CAPACITY.clientMessage(),
                null, AUDIT_CAPACITY.hint()));
    }

    /**
     * The {@code audit-capacity} refusals of this session since its last refusal record, and their texts' characters:
     * none recorded yet (AuditBudget#mayRecordRefusal).
     */
    private long uncounted;
    private long uncountedCharacters;

    /**
     * At the session's end: records the {@code audit-capacity} refusals no record counted yet, in one record (not
     * waited for), so that every refused statement is counted in the log.
     */
    void recordUncounted() {
        if (uncounted == 0) {
            return;
        }
        log.info("query.blocked session={} user={} env={} rule={} statements={} characters={}", sessionId,
                identity.username(), environment, AUDIT_CAPACITY.rule(), uncounted, uncountedCharacters);
        audit.uncounted(uncounted, uncountedCharacters, AUDIT_CAPACITY);
        uncounted = 0;
        uncountedCharacters = 0;
    }

    /** {@link #unwritten}: the statement is refused (58030). */
    private static final long UNWRITTEN = Long.MIN_VALUE;

    /**
     * The write-ahead record failed: -1 when the policy lets the statement run anyway ({@code on_failure: allow}),
     * else {@link #UNWRITTEN}. Logged either way.
     */
    private long unwritten(Statement s, Throwable failure) {
        String reason = ClientErrors.unwrap(failure).getMessage();
        if (!s.policy().policy().audit().refuseOnFailure()) {
            log.error("audit.unavailable session={} on_failure=allow reason=\"{}\"", sessionId, reason);
            return -1L;
        }
        log.error("audit.unavailable session={} reason=\"{}\" statement refused", sessionId, reason);
        return UNWRITTEN;
    }

    /** Withdraws the approval this session waits for, if any (the client cancelled or left); off the caller's thread. */
    void withdrawPending(String by) {
        String id = pendingApproval;
        if (id != null && approvals != null) {
            log.info("approval.withdrawn session={} approval={} by={}", sessionId, id, by);
            blocking.execute(() -> approvals.withdraw(id));
        }
    }

    /**
     * No audit record, no query: completes with the record's sequence number once durable. If the trail
     * cannot be written the statement is refused with 58030, unless the policy says {@code on_failure: allow}.
     */
    private CompletableFuture<Long> writeAhead(Statement s, Decision decision, String approvalId) {
        return audit.query(s.policy().audit(), s.sql(), s.analysis(), decision, s.protocol(), s.preparedName(),
                approvalId, s.parameters())
                .handle((seq, failure) -> {
                    if (failure == null) {
                        return seq;
                    }
                    if (unwritten(s, failure) == UNWRITTEN) {
                        throw new AuditUnavailable(ClientErrors.unwrap(failure).getMessage());
                    }
                    return -1L;
                });
    }

    private static final class AuditUnavailable extends RuntimeException {
        AuditUnavailable(String reason) {
            super(reason, null, false, false);
        }
    }

    /** Maps a failed write-ahead to the client's 58030; other failures pass. */
    private static Verdict auditRefusal(Throwable failure) {
        Throwable t = ClientErrors.unwrap(failure);
        if (t instanceof AuditUnavailable) {
            return unavailable(t.getMessage());
        }
        throw new CompletionException(t);
    }

    /** The client's 58030: the statement's write-ahead record could not be written. */
    private static Refuse unavailable(String reason) {
        return new Refuse(ErrorResponse.of("ERROR", SqlState.IO_ERROR, "statement not executed: " + reason, null,
                "Warden writes an audit record before every statement"));
    }

    /**
     * A statement an approver let through, refused after all with {@code decision} (see RelayHandler: what it
     * reaches was redefined while it waited). Recorded under the approval, then refused.
     */
    CompletableFuture<Verdict> refuseApproved(Statement s, Decision decision, String approvalId) {
        // A second query record of the statement: charged after the fact (the first was charged at admit).
        chargeRecorded(recordable == null ? 0 : recordedBytes(s));
        return writeAhead(s, decision, approvalId).thenApply(seq -> (Verdict) refusal(decision, s.analysis()))
                .exceptionally(StatementGate::auditRefusal);
    }

    private Refuse refusal(Decision decision, Analysis analysis) {
        log.info("query.blocked session={} user={} env={} rule={} kinds={}", sessionId, identity.username(),
                environment, decision.rule(), analysis == null ? "[FUNCTION_CALL]"
                        : analysis.statements().stream().map(f -> f.kind().name()).toList());
        return new Refuse(ErrorResponse.of("ERROR", decision.sqlState() != null ? decision.sqlState()
                : SqlState.INSUFFICIENT_PRIVILEGE, decision.clientMessage(), null, decision.hint()));
    }

    /**
     * What approvers, webhooks and the store see: the statement with its values, with literals and values
     * redacted as in the audit log unless the policy keeps them ({@code statement_literals}).
     */
    private String shown(Statement s) {
        boolean keep = s.policy().policy().audit().keepLiterals();
        List<String> values = s.parameters() == null || keep ? s.parameters()
                : s.parameters().stream().map(v -> v.equals(BoundParameters.NULL) ? v : "?").toList();
        return BoundParameters.shown(keep ? s.approved() : audit.shown(s.approved()), values);
    }

    /**
     * The execution exactly as sent (text and values, and what a SQL EXECUTE runs): only its digest is kept, to match
     * a retry or a grant. (An attacker's pass had a grant for {@code EXECUTE p(1)} run a DELETE that p was prepared as
     * later: the key held only the EXECUTE's text.)
     */
    private static String sent(Statement s) {
        return BoundParameters.shown(s.approved(), s.parameters());
    }

    private ApprovalRequest newRequest(Statement s) {
        Analysis analysis = s.analysis();
        String fingerprint = analysis == null || analysis.statements().isEmpty() ? ""
                : analysis.statements().get(0).fingerprint();
        return approvals.newRequest(identity, environment, sent(s), shown(s), fingerprint, s.decision().rule(),
                s.decision().approvers(), requestReason(s), sessionId);
    }

    /**
     * The reason a request for {@code s} carries: its own ({@code /* reason: ... *\/}), else the session's; or null.
     */
    private String requestReason(Statement s) {
        return ApprovalRequest.reasonFrom(s.sql()).orElse(sessionReason.get());
    }

    /**
     * A statement that needs approval: runs under an earlier approval's grant ({@code --uses}, {@code --for}) of
     * the identical execution when one has a use left, else waits for a new approval. The store is read off the
     * caller's thread.
     */
    private CompletableFuture<Verdict> hold(Statement s, Consumer<String> notice) {
        ApprovalRequest request = newRequest(s);
        return CompletableFuture.supplyAsync(() -> {
            var grant = approvals.useGrant(identity, environment, request.fingerprint(), sent(s), sessionId);
            if (grant.isEmpty()) {
                try {
                    // Before the client is told the statement is held: a requester at the bound is refused at once.
                    approvals.ensureRoomFor(identity, sessionId);
                } catch (ApprovalException e) {
                    throw new CompletionException(e);
                }
            }
            return grant;
        }, blocking).handle((grant, failure) -> {
            if (failure != null) {
                return notRequested(s, failure);
            }
            if (grant.isEmpty()) {
                return holdForApprover(s, request, notice);
            }
            String id = grant.get().id();
            log.info("approval.used session={} approval={} use={}", sessionId, id, grant.get().used());
            return writeAhead(s, Decision.ALLOW, id).thenApply(seq -> (Verdict) new Forward(seq, id))
                    .exceptionally(StatementGate::auditRefusal);
        }).thenCompose(f -> f);
    }

    /** A statement whose approval could not be requested: audited as refused, and nothing runs. */
    private CompletableFuture<Verdict> notRequested(Statement s, Throwable failure) {
        Verdict refused = new Refuse(ErrorResponse.of("ERROR", ClientErrors.approvalNotRequested(failure),
                "approval could not be requested: " + ClientErrors.unwrap(failure).getMessage(), null, null));
        return writeAhead(s, s.decision(), null).thenApply(seq -> refused).exceptionally(StatementGate::auditRefusal);
    }

    /**
     * Holds a statement for an approver. The client is told once the store has the request (a NoticeResponse naming
     * it, who may approve and for how long); the statement is relayed only once approved. Denied, expired or withdrawn
     * requests end in an error, and nothing reaches the database. One approval is one execution, unless the
     * approver grants more.
     */
    private CompletableFuture<Verdict> holdForApprover(Statement s, ApprovalRequest request,
                                                       Consumer<String> notice) {
        log.info("approval.requested session={} user={} env={} rule={} approval={}", sessionId,
                identity.username(), environment, s.decision().rule(), request.id());
        return writeAhead(s, s.decision(), request.id()).thenCompose(seq -> {
            pendingApproval = request.id();
            return CompletableFuture.supplyAsync(() -> {
                CompletableFuture<Outcome> decided = approvals.request(request);
                if (!decided.isCompletedExceptionally()) {
                    // Once the store has the request: before, the client could be told its id (and an approver act
                    // on it) before it was stored, and the approval was answered 404 (a helper's pass, a119).
                    notice.accept(approvals.noticeFor(request));
                }
                return decided;
            }, blocking)
                    .thenCompose(f -> f)
                    .handle((outcome, failure) -> {
                        pendingApproval = null;
                        if (outcome instanceof Outcome.Approved) {
                            log.info("approval.approved session={} approval={}", sessionId, request.id());
                            return (Verdict) new Forward(seq, request.id());
                        }
                        String state = outcome == null ? ClientErrors.approvalNotRequested(failure)
                                : outcome instanceof Outcome.Denied ? SqlState.INSUFFICIENT_PRIVILEGE
                                : SqlState.QUERY_CANCELED;
                        String message = outcome != null ? outcome.describe() : "approval " + request.id()
                                + " could not be recorded: " + ClientErrors.unwrap(failure).getMessage();
                        return new Refuse(ErrorResponse.of("ERROR", state, message, null, null));
                    });
        }).exceptionally(StatementGate::auditRefusal);
    }

    /**
     * {@code mode: retry}, for clients that cannot wait in a session: a statement approved earlier (same
     * identity, same text, within the retry window) runs once; otherwise a request is filed and the statement
     * fails at once naming it. The store is read off the caller's thread.
     */
    private CompletableFuture<Verdict> retry(Statement s) {
        ApprovalRequest request = newRequest(s);
        String fingerprint = request.fingerprint();
        return CompletableFuture.supplyAsync(() -> {
            var approved = approvals.consumeApproved(identity, environment, fingerprint, sent(s), sessionId);
            if (approved.isPresent()) {
                return approved.get().request().id();
            }
            try {
                approvals.submit(request);
                return null;
            } catch (ApprovalException e) {
                throw new CompletionException(e);
            }
        }, blocking).handle((approvedId, failure) -> {
            if (failure != null) {
                return notRequested(s, failure);
            }
            if (approvedId != null) {
                log.info("approval.used session={} approval={}", sessionId, approvedId);
                return writeAhead(s, Decision.ALLOW, approvedId).thenApply(seq -> (Verdict) new Forward(seq,
                        approvedId));
            }
            String message = "approval required by Warden rule \"" + s.decision().rule() + "\": request "
                    + request.id() + " was filed for " + String.join(" or ", s.decision().approvers())
                    + "; run the same statement again once it is approved";
            Verdict refused = new Refuse(ErrorResponse.of("ERROR", SqlState.INSUFFICIENT_PRIVILEGE, message, null,
                    "warden approvals approve " + request.id()));
            return writeAhead(s, s.decision(), request.id()).thenApply(seq -> refused);
        }).thenCompose(f -> f).exceptionally(StatementGate::auditRefusal);
    }
}
