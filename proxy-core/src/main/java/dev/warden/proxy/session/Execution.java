package dev.warden.proxy.session;

import dev.warden.audit.event.ResultEvent;
import dev.warden.masking.ColumnDecision;
import dev.warden.masking.CopyMasker;
import dev.warden.masking.MaskPlan;
import dev.warden.sql.Analysis;

import java.util.ArrayList;
import java.util.List;

/**
 * A statement running upstream (a Query, an Execute, a FunctionCall): what comes back is counted for its
 * {@code result} audit event and masked by its plan. Hangs off its {@link OutstandingQueue.Entry}.
 */
final class Execution {
    final long querySeq;
    final boolean extended;
    final Analysis analysis;
    final PreparedStatements.Portal portal;
    final long started = System.nanoTime();
    /** The server's answers so far (command tags, EmptyQueryResponse), for the tripwire. */
    final List<String> answers = new ArrayList<>(2);
    long rows;
    long bytes;
    String commandTag;
    String sqlState;
    private List<String> names = List.of();
    MaskPlan plan;
    /** Whether the result's columns are known (a RowDescription, or the portal's described columns). */
    boolean described;
    /** The catalog could not name the columns of an exempt identity's result (only the audit wanted them). */
    boolean auditLookupFailed;
    /** Whether it finished: its {@code result} record is written, or queued to be (once, whatever ends it). */
    boolean finished;
    /** The notices relayed for it (see UpstreamRelay: beyond the first, a sensitive statement's are withheld). */
    int notices;
    /** How long the statement ran, from relay to its last answer; set when it finished. */
    long durationUs;
    CopyMasker copy;
    /** For COPY TO STDOUT: Warden's own Describe of its query on the session's connection (columns when answered). */
    PreparedStatements.Statement copyDescription;

    /**
     * What its SQL PREPARE, DEALLOCATE and DISCARD did to the names, undone from the one that fails; null for
     * the statements that have none (nearly all: nothing is allocated for them).
     */
    List<PreparedStatements.SqlUndo> preparedBySql;

    void undoOnFailure(PreparedStatements.SqlUndo undo) {
        if (preparedBySql == null) {
            preparedBySql = new ArrayList<>(1);
        }
        preparedBySql.add(undo);
    }

    /** See {@link #readsNames}: 0 not known yet, 1 yes, 2 no. */
    private byte readsNames;

    /**
     * Whether its text reads a prepared statement or a cursor by its name ({@code EXECUTE name}, {@code FETCH},
     * {@code MOVE}, {@code CREATE TABLE ... AS EXECUTE}, {@code EXPLAIN EXECUTE}), whose meaning masking looks up
     * when its rows come (see {@link OutstandingQueue#readingNames}); a text Warden could not read may.
     */
    boolean readsNames() {
        if (readsNames == 0) {
            readsNames = analysis == null || readsNames(analysis) ? (byte) 1 : (byte) 2;
        }
        return readsNames == 1;
    }

    /** Whether {@code analysis} reads a prepared statement or a cursor by name (see {@link #readsNames()}). */
    static boolean readsNames(Analysis analysis) {
        for (dev.warden.sql.StatementFacts f : analysis.statements()) {
            dev.warden.sql.StatementKind k = f.kind();
            if (k == dev.warden.sql.StatementKind.EXECUTE || k == dev.warden.sql.StatementKind.FETCH
                    || k == dev.warden.sql.StatementKind.MOVE
                    || (k == dev.warden.sql.StatementKind.CREATE || k == dev.warden.sql.StatementKind.EXPLAIN)
                    && dev.warden.sql.TextReferences.createdFromExecute(f.text()).isPresent()
                    || k == dev.warden.sql.StatementKind.EXPLAIN && f.inner().isPresent()
                    && f.inner().get().kind() == dev.warden.sql.StatementKind.EXECUTE) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code f} is a DISCARD that drops the session's prepared statements and portals ({@code DISCARD ALL});
     * {@code DISCARD PLANS}, {@code SEQUENCES} and {@code TEMP} keep them (an attacker's pass, a148 F2: {@code
     * EXECUTE q; DISCARD PLANS} was refused as redefining names).
     */
    static boolean discardsNames(dev.warden.sql.StatementFacts f) {
        return f.kind() == dev.warden.sql.StatementKind.DISCARD
                && dev.warden.sql.TextReferences.discardsNames(f.text());
    }

    /** The policy the statement was judged under; its results are masked by the same one. */
    final PolicySnapshot policy;

    Execution(long querySeq, boolean extended, Analysis analysis, PreparedStatements.Portal portal,
              PolicySnapshot policy) {
        this.policy = policy;
        this.querySeq = querySeq;
        this.extended = extended;
        this.analysis = analysis;
        this.portal = portal;
    }

    /** A result's column names and the plan masking it (null: nothing is masked). */
    void describe(List<String> names, MaskPlan plan) {
        this.names = names;
        this.plan = plan;
        this.described = true;
    }

    /**
     * The columns as the audit records them: masked with the rule that masked them, or clear (with the rule that
     * masks it for others when the identity is exempt). A column whose values are scanned counts as masked once a
     * detector masked one of its values.
     */
    List<ResultEvent.Column> auditColumns() {
        List<ResultEvent.Column> out = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            ColumnDecision d = plan == null || i >= plan.decisions().size() ? null : plan.decisions().get(i);
            if (d != null && d.masked()) {
                out.add(ResultEvent.Column.masked(names.get(i), d.rule()));
            } else if (d != null && d.valueScanned() && plan.detectedValues(i) > 0) {
                out.add(ResultEvent.Column.masked(names.get(i), d.rule()));
            } else if (d != null && d.exemptFrom() != null) {
                out.add(new ResultEvent.Column(names.get(i), false, d.exemptFrom()));
            } else {
                out.add(ResultEvent.Column.clear(names.get(i)));
            }
        }
        return out;
    }
}
