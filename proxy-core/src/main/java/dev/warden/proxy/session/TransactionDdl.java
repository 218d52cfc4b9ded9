package dev.warden.proxy.session;

import dev.warden.proxy.guardrails.Unreadable;
import dev.warden.sql.Analysis;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * The DDL a session has sent in its open transaction. Warden reads the catalog on a connection of its own, which
 * sees only what is committed: until the transaction ends, what the DDL changed is {@link Unreadable} for the
 * guardrails; when it ends, what the catalog read meanwhile is stale, and is dropped again. Event loop only.
 *
 * <p>Which transaction a statement belongs to is counted in requests: each Query, Sync or FunctionCall of the
 * client's stream sent upstream (the stand-in of a refused Query too; not Warden's own requests, whose answers are
 * not relayed) is answered by one ReadyForQuery, in order. A statement sent after {@code n} of them ends with the {@code n+1}-th or a later one; an idle status then
 * ends it. With the client pipelining, a later transaction's DDL stays until its own ReadyForQuery.
 */
final class TransactionDdl {

    /** One DDL statement's changes; {@code redefined} is what the catalog recorded (see {@link ResultMasking}). */
    private record Change(long sentBefore, Unreadable unreadable, ResultMasking.Redefined redefined) {
    }

    private final ArrayDeque<Change> open = new ArrayDeque<>();
    /**
     * What was unreadable when each statement was sent, while anything was (or the statement is DDL): its results
     * arrive after its own changes, and those of later statements already sent, were added (see {@link #before}).
     */
    private final java.util.Map<Analysis, Unreadable> sentWith = new java.util.IdentityHashMap<>();
    private static final int MAX_SENT_WITH = 10_000;
    private Unreadable unreadable = Unreadable.NONE;
    /** Hears what the open transaction's DDL made unreadable whenever it changes (the catalog, for other sessions). */
    private Consumer<Unreadable> published = u -> { };
    private long sent;
    private long readies;

    /** {@code to} hears {@link #unreadable} whenever it changes, and NONE at {@link #ended}. */
    void publishTo(Consumer<Unreadable> to) {
        this.published = to;
    }

    /** The session's server connection closed: its backend rolled back the open transaction. */
    void ended() {
        open.clear();
        sentWith.clear();
        unreadable = Unreadable.NONE;
        published.accept(unreadable);
    }

    /** A request that a ReadyForQuery answers went upstream. */
    void requestSent() {
        sent++;
    }

    /** A statement is sent upstream; {@code redefined} is what its DDL made the catalog drop (null: none). */
    void sending(Analysis analysis, ResultMasking.Redefined redefined) {
        sending(analysis, java.util.List.of(), redefined);
    }

    /** As above; {@code run} is DDL that relations it names run (see {@link TemporaryRelations#sending}). */
    void sending(Analysis analysis, java.util.List<dev.warden.sql.StatementFacts> run,
                 ResultMasking.Redefined redefined) {
        if (analysis != null && (redefined != null || !unreadable.isEmpty()) && sentWith.size() < MAX_SENT_WITH) {
            sentWith.put(analysis, unreadable);
        }
        if (redefined == null) {
            return;
        }
        Unreadable changed = analysis == null ? Unreadable.NONE
                : Unreadable.changedBy(run.isEmpty() ? analysis : ResultMasking.withRun(analysis, run));
        open.add(new Change(sent, changed, redefined));
        unreadable = unreadable.with(changed);
        // Before the statement reaches the server: another session's statement that then waits on its locks is
        // judged with it (CatalogCache#openDdlElsewhere).
        published.accept(unreadable);
    }

    /** What the open transaction's DDL made unreadable. */
    Unreadable unreadable() {
        return unreadable;
    }

    /**
     * What was unreadable when {@code analysis} was sent (for its results: not what it, or a statement sent after
     * it, changed); what is now when it was not recorded.
     */
    Unreadable before(Analysis analysis) {
        Unreadable then = analysis == null ? null : sentWith.get(analysis);
        return then != null ? then : unreadable;
    }

    /**
     * A ReadyForQuery with {@code status}: when idle, each change of the transactions it ends is handed to
     * {@code ended} (to drop what the catalog read while they were open) and forgotten.
     */
    void ready(char status, Consumer<ResultMasking.Redefined> ended) {
        readies++;
        if (status != 'I' || open.isEmpty()) {
            return;
        }
        boolean any = false;
        while (!open.isEmpty() && open.peek().sentBefore() < readies) {
            ended.accept(open.poll().redefined());
            any = true;
        }
        if (open.isEmpty()) {
            sentWith.clear();
        }
        if (any) {
            Unreadable left = Unreadable.NONE;
            for (Change c : open) {
                left = left.with(c.unreadable());
            }
            unreadable = left;
            published.accept(unreadable); // after `ended` dropped what the catalog read while they were open
        }
    }
}
