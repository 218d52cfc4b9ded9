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
    /**
     * Hears what a PREPAREd transaction's DDL made unreadable, by its transaction id as written (after PREPARE
     * TRANSACTION), and NONE when a COMMIT or ROLLBACK PREPARED of that id was answered.
     */
    private java.util.function.BiConsumer<String, Unreadable> prepared = (gid, u) -> { };

    /** A PREPARE TRANSACTION, or a COMMIT or ROLLBACK PREPARED, sent after {@code sentBefore} requests. */
    private record TwoPhase(long sentBefore, String gid, boolean prepare) {
    }

    private final ArrayDeque<TwoPhase> twoPhase = new ArrayDeque<>();
    /** The server sent an ErrorResponse since the last ReadyForQuery. */
    private boolean failed;
    private long sent;
    private long readies;

    /** {@code to} hears {@link #unreadable} whenever it changes, and NONE at {@link #ended}. */
    void publishTo(Consumer<Unreadable> to) {
        this.published = to;
    }

    /** {@code to} hears what prepared transactions hold (see {@link #prepared}). */
    void publishPreparedTo(java.util.function.BiConsumer<String, Unreadable> to) {
        this.prepared = to;
    }

    /** The server answered with an ErrorResponse (a COMMIT PREPARED it answers so did not end anything). */
    void failed() {
        failed = true;
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
        if (analysis != null) {
            twoPhase(analysis);
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
        // Empty outside a transaction with DDL (every result asks): no identity hash to look up then.
        Unreadable then = analysis == null || sentWith.isEmpty() ? null : sentWith.get(analysis);
        return then != null ? then : unreadable;
    }

    /**
     * A ReadyForQuery with {@code status}: when idle, each change of the transactions it ends is handed to
     * {@code ended} (to drop what the catalog read while they were open) and forgotten.
     */
    void ready(char status, Consumer<ResultMasking.Redefined> ended) {
        readies++;
        boolean anyFailed = failed;
        failed = false;
        String preparedAs = null;
        boolean anyPrepared = false;
        while (!twoPhase.isEmpty() && twoPhase.peek().sentBefore() < readies) {
            TwoPhase t = twoPhase.poll();
            if (t.prepare()) {
                preparedAs = t.gid();
                anyPrepared = true;
            } else if (!anyFailed) {
                // Answered without an error: the server committed (or rolled back) what it holds, and dropped its
                // locks. With one (not the preparer, no such id), it is kept: an error may be of another statement.
                prepared.accept(t.gid(), Unreadable.NONE);
            }
        }
        if (status != 'I' || open.isEmpty()) {
            return;
        }
        boolean any = false;
        Unreadable preparedDdl = Unreadable.NONE;
        while (!open.isEmpty() && open.peek().sentBefore() < readies) {
            Change ending = open.poll();
            ended.accept(ending.redefined());
            preparedDdl = preparedDdl.with(ending.unreadable());
            any = true;
        }
        if (anyPrepared && !preparedDdl.isEmpty()) {
            // PREPARE TRANSACTION left the session idle, but the prepared transaction keeps its DDL and its locks
            // until a COMMIT PREPARED (of any session): a statement that waits on them runs what it then commits.
            // (Also kept when the PREPARE failed and rolled back: until its id is committed or rolled back.)
            prepared.accept(preparedAs, preparedDdl);
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

    private static final java.util.regex.Pattern PREPARE = java.util.regex.Pattern.compile("(?i)prepare(?!d)");

    /** Notes a PREPARE TRANSACTION, COMMIT PREPARED or ROLLBACK PREPARED among {@code analysis}'s statements. */
    private void twoPhase(Analysis analysis) {
        java.util.List<dev.warden.sql.StatementFacts> statements = analysis.statements();
        for (int i = 0; i < statements.size(); i++) { // every statement sent: no iterator
            dev.warden.sql.StatementFacts f = statements.get(i);
            dev.warden.sql.StatementKind kind = f.kind();
            if ((kind != dev.warden.sql.StatementKind.COMMIT && kind != dev.warden.sql.StatementKind.ROLLBACK)
                    || !mentionsPrepare(f.text())) {
                continue; // (every transaction's COMMIT or END passes here: no regex for those)
            }
            String text = withoutComments(f.text()).strip();
            // Ending one is read strictly (words, then the id as written); a PREPARE loosely: the reader calls it a
            // COMMIT, and when its words are not read its id is the whole text, which no COMMIT PREPARED names (its
            // DDL then counts until Warden stops).
            String gid = after(text, kind == dev.warden.sql.StatementKind.COMMIT ? "commit" : "rollback", "prepared");
            if (gid != null) {
                twoPhase.add(new TwoPhase(sent, gid, false));
            } else if (kind == dev.warden.sql.StatementKind.COMMIT && PREPARE.matcher(text).find()) {
                gid = after(text, "prepare", "transaction");
                twoPhase.add(new TwoPhase(sent, gid == null ? text : gid, true));
            }
        }
    }

    /** Whether {@code sql} holds the letters "prepare" in any case (what both forms of two-phase commit hold). */
    private static boolean mentionsPrepare(String sql) {
        for (int i = 0; i + 7 <= sql.length(); i++) {
            if (sql.regionMatches(true, i, "prepare", 0, 7)) {
                return true;
            }
        }
        return false;
    }

    /** {@code sql} without its comments (outside quoted strings and names), each replaced by a space. */
    private static String withoutComments(String sql) {
        if (sql.indexOf("--") < 0 && sql.indexOf("/*") < 0) {
            return sql;
        }
        StringBuilder out = new StringBuilder(sql.length());
        char quote = 0;
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (quote != 0) {
                out.append(c);
                quote = c == quote ? 0 : quote; // a doubled quote closes and opens again: the same text
            } else if (c == '\'' || c == '"') {
                quote = c;
                out.append(c);
            } else if (c == '-' && sql.startsWith("--", i)) {
                int end = sql.indexOf('\n', i);
                i = end < 0 ? sql.length() : end;
                out.append(' ');
            } else if (c == '/' && sql.startsWith("/*", i)) {
                int depth = 0;
                for (; i < sql.length(); i++) {
                    if (sql.startsWith("/*", i)) {
                        depth++;
                        i++;
                    } else if (sql.startsWith("*/", i)) {
                        i++;
                        if (--depth == 0) {
                            break;
                        }
                    }
                }
                out.append(' ');
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * The transaction id after the two words {@code first second} that {@code text} begins with (as written: the
     * same id spelled otherwise is another key, which only keeps its DDL longer), or null when it does not.
     */
    private static String after(String text, String first, String second) {
        String[] words = text.split("\\s+", 3);
        if (words.length < 3 || !words[0].equalsIgnoreCase(first) || !words[1].equalsIgnoreCase(second)) {
            return null;
        }
        String gid = words[2].strip();
        return gid.endsWith(";") ? gid.substring(0, gid.length() - 1).strip() : gid;
    }
}
