package dev.warden.proxy.session;

import dev.warden.pg.message.BackendMessage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The requests a session has sent upstream and not yet seen answered, oldest first (PgBouncer's
 * {@code OutstandingRequest} list). Every client message that expects an answer adds one entry as it is written
 * upstream; every backend message belongs to the oldest entry and completes exactly that one, by the rules of
 * the protocol. NoticeResponse, NotificationResponse and ParameterStatus may arrive at any time and complete
 * nothing.
 *
 * <p>After an error in an extended-protocol message, PostgreSQL ignores every message up to the next Sync, a
 * Query or FunctionCall included ({@code postgres.c}: {@code ignore_till_sync}): the entries sent meanwhile are
 * dropped here in the same way, and messages the client sends before that Sync are known to go unanswered.
 * COPY FROM STDIN makes the server ignore every Sync a client sends before its CopyDone or CopyFail: those are
 * no entries here (see {@link #copyInOpen} and {@link #copyMayStart}).
 *
 * <p>Plain Java over type bytes, no channel: the relay decides what to do with each frame from its entry.
 */
final class OutstandingQueue {

    /** The client message an entry stands for, which fixes the backend messages that complete it. */
    enum Kind {
        PARSE, BIND, DESCRIBE_STATEMENT, DESCRIBE_PORTAL, EXECUTE, CLOSE, SYNC, QUERY, FUNCTION_CALL;

        /** Extended-protocol messages, after whose error the server skips to Sync. */
        boolean extended() {
            return this != SYNC && this != QUERY && this != FUNCTION_CALL;
        }
    }

    /** What happens to the answer (PgBouncer's {@code ResponseAction}). */
    enum Action {
        /** Relayed to the client (masked where the policy says). */
        FORWARD,
        /** Warden's own request (its Describe): consumed, never relayed. */
        SKIP,
        /** A blocked statement's stand-in: its error is replaced by Warden's own, the rest relayed. */
        REPLACE_ERROR
    }

    /**
     * One outstanding request. The registry objects it refers to are those current when the message was sent:
     * a later Parse or Bind that reuses the name (the unnamed statement and portal are reused all the time)
     * must not change what an earlier Describe or Execute is about.
     */
    static final class Entry {
        final Kind kind;
        final Action action;
        /** For REPLACE_ERROR: the error the client sees instead of the stand-in's. */
        final BackendMessage.ErrorResponse replacement;
        final PreparedStatements.Statement statement;
        final PreparedStatements.Portal portal;
        /** The audit tally and masking state of a statement that runs (Query, Execute, FunctionCall). */
        final Execution execution;
        /** Warden's own request whose every answer, errors and ReadyForQuery included, the client never sees. */
        final boolean silent;
        /** For a Query of Warden's own: where its answer goes. */
        final OwnRequests.OwnQuery ownQuery;
        /**
         * What the client sent of COPY's messages after this entry, before the next one, in order: {@code d} for
         * CopyData (once for a run of them), {@code c} for CopyDone or CopyFail; null when none.
         */
        private StringBuilder copyMarks;
        /** How many COPY FROM STDIN this statement started (CopyInResponses answering it). */
        private int copyIns;
        /** How many it may start ({@link #copiesFromStdin}); -1: not counted yet. */
        private int copies = -1;
        /**
         * A Sync sent inside a COPY FROM STDIN after CopyData: the server ignores it if the COPY is still running
         * when it reads it, and answers it if an error ended the COPY first (see {@link #copyDataSent}).
         */
        private boolean tentative;
        /** The answer to each message that does not complete this entry (a DataRow of a result), made once. */
        private Answer ongoing;

        Answer ongoing() {
            Answer a = ongoing;
            if (a == null) {
                a = new Answer(this, false, List.of());
                ongoing = a;
            }
            return a;
        }

        private Entry(Kind kind, Action action, BackendMessage.ErrorResponse replacement,
                      PreparedStatements.Statement statement, PreparedStatements.Portal portal, Execution execution) {
            this(kind, action, replacement, statement, portal, execution, false, null);
        }

        private Entry(Kind kind, Action action, BackendMessage.ErrorResponse replacement,
                      PreparedStatements.Statement statement, PreparedStatements.Portal portal, Execution execution,
                      boolean silent, OwnRequests.OwnQuery ownQuery) {
            this.silent = silent;
            this.ownQuery = ownQuery;
            this.kind = kind;
            this.action = action;
            this.replacement = replacement;
            this.statement = statement;
            this.portal = portal;
            this.execution = execution;
        }

        static Entry forward(Kind kind) {
            return new Entry(kind, Action.FORWARD, null, null, null, null);
        }

        static Entry forward(Kind kind, PreparedStatements.Statement statement, PreparedStatements.Portal portal,
                             Execution execution) {
            return new Entry(kind, Action.FORWARD, null, statement, portal, execution);
        }

        /** Warden's own Describe of a portal, whose answer is kept for masking. */
        static Entry skip(PreparedStatements.Portal portal) {
            return new Entry(Kind.DESCRIBE_PORTAL, Action.SKIP, null, null, portal, null);
        }

        /**
         * One of the requests of Warden's own Describe of a statement on the session's connection (Parse,
         * Describe, Close, Sync); the statement's columns are kept in {@code statement}.
         */
        static Entry silent(Kind kind, PreparedStatements.Statement statement) {
            return new Entry(kind, Action.SKIP, null, statement, null, null, true, null);
        }

        /** One request of a batch of Warden's own between the client's; every answer is consumed. */
        static Entry ownQuery(Kind kind, OwnRequests.OwnQuery query) {
            return new Entry(kind, Action.SKIP, null, null, null, null, true, query);
        }

        /**
         * One request of a read of Warden's own inside the client's unsynced batch: its answers are consumed but an
         * error, which is relayed (see {@link #inBatch}); the read learns of it too.
         */
        static Entry ownQueryInBatch(Kind kind, OwnRequests.OwnQuery query) {
            return new Entry(kind, Action.SKIP, null, null, null, null, false, query);
        }

        /**
         * One of the requests of Warden's own Describe of a statement put inside the client's unsynced batch
         * (Parse, Describe, Close; no Sync of its own): its answers are consumed, but an error is relayed, since it
         * stands for the error of the client's statement it precedes, which the server then skips to Sync.
         */
        static Entry inBatch(Kind kind, PreparedStatements.Statement statement) {
            return new Entry(kind, Action.SKIP, null, statement, null, null, false, null);
        }

        /** A stand-in whose error, naming {@code marker}, the client gets as {@code error}. */
        static Entry replaceError(Kind kind, BackendMessage.ErrorResponse error, String marker) {
            Entry e = new Entry(kind, Action.REPLACE_ERROR, error, null, null, null);
            e.marker = marker;
            return e;
        }

        /** For REPLACE_ERROR: the stand-in's marker, which its error names. */
        String marker;

        /** The client's own Parse, relayed (not a stand-in, not Warden's own Describe). */
        boolean isClientParse() {
            return kind == Kind.PARSE && action == Action.FORWARD && statement != null;
        }

        /** The client's own Bind, relayed, with the portal it makes. */
        boolean isClientBind() {
            return kind == Kind.BIND && action == Action.FORWARD && portal != null;
        }

        /** The client's own Close, relayed, with what it removed from the session's names. */
        boolean isClientClose() {
            return kind == Kind.CLOSE && action == Action.FORWARD;
        }

        @Override
        public String toString() {
            return kind + "/" + action;
        }
    }

    /** What one backend message did to the queue. */
    record Answer(Entry owner, boolean completed, List<Entry> dropped) {
        static final Answer ASYNC = new Answer(null, false, List.of());
        /** A message nothing was waiting for. */
        static final Answer UNOWNED = new Answer(null, false, List.of());
    }

    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    /** The server skips what it receives until the next Sync (an extended message failed, no Sync sent yet). */
    private boolean serverSkipsUntilSync;

    /**
     * Records a request written upstream. Returns false when the server will ignore it (an extended message
     * failed and the client has not sent Sync yet): no entry is added, no answer will come.
     */
    boolean sent(Entry entry) {
        if (entry.kind == Kind.SYNC) {
            serverSkipsUntilSync = false;
            clientUnsynced = false;
        } else if (serverSkipsUntilSync) {
            return false;
        }
        if (entry.action != Action.SKIP && (entry.kind == Kind.BIND || entry.kind == Kind.EXECUTE)) {
            clientUnsynced = true;
        }
        entries.add(entry);
        return true;
    }

    /**
     * The client sent a Bind or Execute since its last Sync: its implicit transaction (and the portals it made) is
     * open on the server even when every answer came (a client that sends Flush). A Sync of Warden's own would commit
     * it, or end its portals: an attacker's pass (a114 B2) had Warden's search_path lookup commit a pipelined UPDATE
     * that the batch's later error should have rolled back.
     */
    private boolean clientUnsynced;

    /**
     * A future completed once {@code entry} is answered, dropped, or the queue emptied; completed already when it is
     * not outstanding. One entry is watched at a time: watching another completes the earlier watch.
     */
    java.util.concurrent.CompletableFuture<Void> whenAnswered(Entry entry) {
        if (!outstanding(entry)) {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
        watchDone();
        watched = entry;
        watchedAnswered = new java.util.concurrent.CompletableFuture<>();
        return watchedAnswered;
    }

    private void watchDone() {
        java.util.concurrent.CompletableFuture<Void> done = watchedAnswered;
        watched = null;
        watchedAnswered = null;
        if (done != null) {
            done.complete(null);
        }
    }

    /** See {@link #whenAnswered}. */
    private Entry watched;
    private java.util.concurrent.CompletableFuture<Void> watchedAnswered;

    /**
     * The outstanding request that decides whether {@code statement} (made by the client's Parse) or {@code portal}
     * (by its Bind) is what the server holds under its name, when the client has ended that request's batch since (a
     * Sync, a Query or a FunctionCall is outstanding after it); or a Query of the client's that changes names by SQL
     * (PREPARE, DEALLOCATE, DISCARD, DECLARE), outstanding. Null when none: the object is the server's, or its maker is
     * in the batch of the message that reads it, which the server skips when the maker fails. Before, a message of a
     * later batch was judged with the maker's object before the server had answered: a Parse of a prepared UPDATE's
     * name, which the server refused (42P05, the name exists) or skipped (after an earlier error), then Sync and
     * {@code EXECUTE name} ran the UPDATE judged as the new text, unapproved (an attacker's pass, a146 C2).
     */
    Entry unsettled(PreparedStatements.Statement statement, PreparedStatements.Portal portal) {
        Entry maker = null;
        for (Entry e : entries) {
            if (maker != null) {
                if (e.kind == Kind.SYNC || e.kind == Kind.QUERY || e.kind == Kind.FUNCTION_CALL) {
                    return maker;
                }
            } else if (changesNamesBySql(e)) {
                return e;
            } else if (statement != null && e.isClientParse() && e.statement == statement
                    || portal != null && e.isClientBind() && e.portal == portal) {
                maker = e;
            }
        }
        return null;
    }

    /**
     * For a Query, which ends every batch before it: the first outstanding request of the client's that may still
     * change what a name means on the server (a Parse or Bind of a named statement or portal, a Close, a Query that
     * changes names by SQL), or null. See {@link #unsettled}.
     */
    Entry namesUnsettled() {
        for (Entry e : entries) {
            if (e.action != Action.FORWARD || e.silent) {
                continue;
            }
            if (e.isClientParse() && !e.statement.name.isEmpty() || e.isClientBind() && !e.portal.name.isEmpty()
                    || e.kind == Kind.CLOSE || changesNamesBySql(e)) {
                return e;
            }
        }
        return null;
    }

    /**
     * The first outstanding Query of the client's that changes names by SQL (PREPARE, DEALLOCATE, DISCARD, DECLARE),
     * or null: a Parse, Close or Bind of a name waits for it, so that each one's undo, should the server refuse it,
     * restores what the server holds (an attacker's pass, a148 F1: {@code SELECT 1; DISCARD ALL} refused in a
     * transaction block, and a Parse of a name it had dropped, refused too, left Warden without the name).
     */
    Entry changingNamesBySql() {
        for (Entry e : entries) {
            if (changesNamesBySql(e)) {
                return e;
            }
        }
        return null;
    }

    /** Whether {@code e} is a Query of the client's whose SQL changes names (it carries their undo). */
    private static boolean changesNamesBySql(Entry e) {
        return e.kind == Kind.QUERY && e.action == Action.FORWARD && e.execution != null
                && e.execution.preparedBySql != null;
    }

    /**
     * The first outstanding statement of the client's whose text reads a prepared statement or a cursor by its name
     * ({@code EXECUTE name}, {@code FETCH}, {@code CREATE TABLE ... AS EXECUTE}), or null. Its rows are masked by
     * what the name means when they come: a message that changes names waits for it (an attacker's pass, a146 C1:
     * {@code EXECUTE q1} and, right behind it, a Parse of q1 with a harmless text, which the server refused, had
     * the EXECUTE's rows masked as the harmless text's).
     */
    Entry readingNames() {
        for (Entry e : entries) {
            if (e.action == Action.FORWARD && !e.silent && e.execution != null && e.execution.readsNames()) {
                return e;
            }
        }
        return null;
    }

    /** Whether {@code entry} is sent and not yet answered (nor dropped). */
    boolean outstanding(Entry entry) {
        for (Entry e : entries) {
            if (e == entry) {
                return true;
            }
        }
        return false;
    }

    /** Whether a message sent now would be ignored by the server (it skips to Sync after an error). */
    boolean serverSkipsUntilSync() {
        return serverSkipsUntilSync;
    }

    /**
     * Whether the server is between batches once it has read what was sent: nothing outstanding, or the last
     * request ends with a ReadyForQuery. Warden may then put a batch of its own (ending in Sync) on the wire
     * without joining the client's batch.
     */
    boolean betweenBatches() {
        Entry last = entries.peekLast();
        return !serverSkipsUntilSync && !clientUnsynced && (last == null || last.kind == Kind.SYNC
                || last.kind == Kind.QUERY || last.kind == Kind.FUNCTION_CALL);
    }

    /**
     * The client sent CopyData ({@code d}), CopyDone ({@code c}) or CopyFail ({@code f}). The latter two end the
     * COPY FROM STDIN the server is in, if any (see {@link #copyInOpen}).
     */
    void copyDataSent(byte type) {
        Entry last = entries.peekLast();
        char mark = type == 'd' ? 'd' : 'c';
        if (last != null) {
            StringBuilder marks = last.copyMarks;
            if (marks == null) {
                marks = last.copyMarks = new StringBuilder(4);
            }
            if (mark == 'c' || marks.isEmpty() || marks.charAt(marks.length() - 1) != 'd') {
                marks.append(mark);
            }
        }
        if (mark == 'd') {
            dataInCopy = true;
            return;
        }
        dataInCopy = false;
        copyInOpen = false;
    }

    /** Appends {@code e}'s COPY marks to {@code previous}'s: {@code e} leaves the queue, their order stays. */
    private static void carryMarks(Entry e, Entry previous) {
        if (e.copyMarks != null) {
            if (previous.copyMarks == null) {
                previous.copyMarks = new StringBuilder(e.copyMarks.length());
            }
            previous.copyMarks.append(e.copyMarks);
        }
    }

    /**
     * Whether the server is in a COPY FROM STDIN (its CopyInResponse came) whose CopyDone or CopyFail the client has
     * not sent yet: the server ignores every Sync and Flush it reads there (copyfromparse.c), so RelayHandler sends
     * none of them. Not sent rather than sent unanswered: the server may have left the COPY on an error meanwhile (a
     * statement_timeout, a cancel, bad data), and would answer a Sync read after it. (Any other message there ends
     * the session: the server's FATAL "protocol synchronization was lost".)
     */
    boolean copyInOpen() {
        return copyInOpen;
    }

    /**
     * Whether a Sync the client sends now, inside an open COPY ({@link #copyInOpen}), follows CopyData of that COPY:
     * the server may have left the COPY on an error in that data before it reads the Sync. Such a Sync is sent as
     * a {@link #tentative} entry: dropped when the COPY ends well, and when it ends in an error Warden cannot tell
     * whether the server read it (see {@link #lostTrack}). Before any CopyData the server is surely still in the
     * COPY: such a Sync is not sent at all.
     */
    boolean dataInCopy() {
        return dataInCopy;
    }

    /** A tentative Sync: see {@link #dataInCopy}. */
    static Entry tentativeSync() {
        Entry e = Entry.forward(Kind.SYNC);
        e.tentative = true;
        return e;
    }

    /**
     * Whether a COPY FROM STDIN ended in an error while tentative Syncs were outstanding: the server answers those
     * it read after the error and not those it read before, and which CopyData the error came from its answer does
     * not say. Warden no longer knows which request the server answers: the session must end. Read once.
     */
    boolean lostTrack() {
        boolean lost = lostTrack;
        lostTrack = false;
        return lost;
    }

    /** Whether {@link #lostTrack} would say so now, without reading it (the session's end is not decided here). */
    boolean trackLost() {
        return lostTrack;
    }

    private boolean copyInOpen;
    /** CopyData sent since the client's last CopyDone or CopyFail. */
    private boolean dataInCopy;
    /** The head entry's COPY FROM STDIN runs: its CopyInResponse came, and no CommandComplete or error since. */
    private boolean copyRunning;
    private boolean lostTrack;
    /** Completed at the next CopyInResponse or completion of a statement (see {@link #copyMayStart}); or null. */
    private java.util.concurrent.CompletableFuture<Void> copyWatch;

    /**
     * Null when no request outstanding may still start a COPY FROM STDIN; else a future completed at the next
     * CopyInResponse or completion of a request that runs a statement. A Sync sent meanwhile is held until then:
     * it is read inside that COPY (ignored: not sent) or after it (a request), and which one only the server's
     * answer tells. A Sync sent upstream at once could be read either way (a COPY that fails before it starts
     * leaves it a request; one that starts makes the server ignore it, unless an error ends the COPY first).
     */
    java.util.concurrent.CompletableFuture<Void> copyMayStart() {
        for (Entry e : entries) {
            if ((e.kind == Kind.QUERY || e.kind == Kind.EXECUTE) && e.copyIns < copiesFromStdin(e)) {
                if (copyWatch == null) {
                    copyWatch = new java.util.concurrent.CompletableFuture<>();
                }
                return copyWatch;
            }
        }
        return null;
    }

    /**
     * How many COPY ... FROM STDIN {@code e} may start: its statements' count (an unparsed one counts as one that
     * may, and a statement Warden has no analysis of as any number); none for a request of Warden's own.
     */
    private static int copiesFromStdin(Entry e) {
        if (e.copies < 0) {
            e.copies = countCopiesFromStdin(e);
        }
        return e.copies;
    }

    private static int countCopiesFromStdin(Entry e) {
        if (e.execution == null) {
            return 0;
        }
        dev.warden.sql.Analysis analysis = e.execution.analysis;
        if (analysis == null) {
            return Integer.MAX_VALUE;
        }
        int n = 0;
        for (dev.warden.sql.StatementFacts f : analysis.statements()) {
            if (f.copy().isPresent() ? f.copy().get().direction() == dev.warden.sql.CopySpec.Direction.FROM
                    && f.copy().get().target() == dev.warden.sql.CopySpec.Target.STDIN
                    : f.unparsed() && startsWithCopy(f.text())) {
                n++;
            }
        }
        return n;
    }

    /**
     * Removes the tentative Syncs, their places among the client's CopyDone and CopyFail kept on the entry before
     * each (see {@link #dropSyncsInCopy}: a second COPY of the same Query counts them). Whether there were any.
     */
    private boolean dropTentative() {
        boolean any = false;
        Entry previous = null;
        Iterator<Entry> it = entries.iterator();
        while (it.hasNext()) {
            Entry e = it.next();
            if (e.tentative && previous != null) {
                carryMarks(e, previous);
                it.remove();
                any = true;
            } else {
                previous = e;
            }
        }
        return any;
    }

    /** Whether {@code text}'s first word, past comments and space, is COPY (an unparsed statement that may be one). */
    private static boolean startsWithCopy(String text) {
        int i = 0;
        int n = text.length();
        while (i < n) {
            char c = text.charAt(i);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\u000B') {
                i++;
            } else if (text.startsWith("--", i)) {
                int end = text.indexOf('\n', i);
                int cr = text.indexOf('\r', i);
                end = end < 0 ? cr : cr < 0 ? end : Math.min(end, cr);
                i = end < 0 ? n : end + 1;
            } else if (text.startsWith("/*", i)) {
                return true; // nested comments: not read here; counted as one that may
            } else {
                return text.regionMatches(true, i, "copy", 0, 4)
                        && (i + 4 == n || !Character.isLetterOrDigit(text.charAt(i + 4)) && text.charAt(i + 4) != '_');
            }
        }
        return false;
    }

    private void copyWatched() {
        java.util.concurrent.CompletableFuture<Void> watch = copyWatch;
        if (watch != null) {
            copyWatch = null;
            watch.complete(null);
        }
    }

    /** The last entry of a statement that runs (Query, Execute, FunctionCall) whose analysis passes {@code test}. */
    Entry lastRunning(java.util.function.Predicate<dev.warden.sql.Analysis> test) {
        Iterator<Entry> it = entries.descendingIterator();
        while (it.hasNext()) {
            Entry e = it.next();
            if (e.execution != null && !e.silent && test.test(e.execution.analysis)) {
                return e;
            }
        }
        return null;
    }

    /** The first entry of a statement that runs (Query, Execute, FunctionCall): the one the server runs now. */
    Entry firstRunning() {
        for (Entry e : entries) {
            if (e.execution != null && !e.silent) {
                return e;
            }
        }
        return null;
    }

    /** The entries waiting for their answers, oldest first (a view: it changes as they are answered). */
    java.util.Collection<Entry> pending() {
        return pending;
    }

    private final java.util.Collection<Entry> pending = java.util.Collections.unmodifiableCollection(entries);

    /**
     * The client's Execute of {@code portal} among {@code entries} before their next Sync: the statement whose run
     * the portal's Bind (which converts its parameters and plans it) prepares. Null when it sent none.
     */
    static Entry executeOf(PreparedStatements.Portal portal, Iterable<Entry> entries) {
        for (Entry e : entries) {
            if (e.kind == Kind.SYNC) {
                return null;
            }
            if (e.kind == Kind.EXECUTE && e.portal == portal && e.execution != null && !e.silent) {
                return e;
            }
        }
        return null;
    }

    /** The statement among {@code entries} whose COPY Warden's own Describe of {@code described} is for; or null. */
    static Entry describedBy(PreparedStatements.Statement described, Iterable<Entry> entries) {
        for (Entry e : entries) {
            if (e.execution != null && e.execution.copyDescription == described) {
                return e;
            }
        }
        return null;
    }

    /** Whether {@code entry} is still waiting for its answer. */
    boolean holds(Entry entry) {
        for (Entry e : entries) {
            if (e == entry) {
                return true;
            }
        }
        return false;
    }

    Entry head() {
        return entries.peek();
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    int size() {
        return entries.size();
    }

    /** Whether this message type may arrive whatever is outstanding, completing nothing. */
    static boolean asynchronous(byte type) {
        return type == 'N' || type == 'A' || type == 'S';
    }

    /**
     * Files one backend message under its entry: the oldest. Returns the entry (null for an asynchronous message
     * or one nothing was waiting for), whether it completed it, and the entries the server will now skip.
     */
    Answer answered(byte type) {
        if (asynchronous(type)) {
            return Answer.ASYNC;
        }
        Entry head = entries.peek();
        if (head == null) {
            return Answer.UNOWNED;
        }
        if (type == 'G' && (head.kind == Kind.EXECUTE || head.kind == Kind.QUERY)) {
            dropSyncsInCopy(head);
            copyRunning = true;
            copyWatched();
        } else if (copyRunning && (type == 'C' || type == 'E')) {
            copyRunning = false;
            copyInOpen = false; // an error ends the COPY: the server reads what follows as requests again
            boolean anyTentative = dropTentative(); // read inside the COPY: ignored
            if (type == 'E' && anyTentative) {
                lostTrack = true; // ... or some read after the error ended it, and answered: not known which
            }
        }
        if (!completes(head.kind, type)) {
            return head.ongoing();
        }
        entries.poll();
        copyInOpen = false;
        copyRunning = false;
        List<Entry> dropped = List.of();
        if (type == 'E' && head.kind.extended()) {
            dropped = dropUntilSync();
        }
        if (head.kind == Kind.QUERY || head.kind == Kind.EXECUTE || !dropped.isEmpty()) {
            copyWatched();
        }
        if (watched != null && (head == watched || dropped.contains(watched))) {
            watchDone();
        }
        return new Answer(head, true, dropped);
    }

    /** Empties the queue (the session is ending), returning what was outstanding. */
    List<Entry> clear() {
        List<Entry> all = new ArrayList<>(entries);
        entries.clear();
        copyWatched();
        watchDone();
        return all;
    }

    static boolean completes(Kind kind, byte type) {
        return switch (kind) {
            case PARSE -> type == '1' || type == 'E';
            case BIND -> type == '2' || type == 'E';
            case DESCRIBE_STATEMENT, DESCRIBE_PORTAL -> type == 'T' || type == 'n' || type == 'E';
            case EXECUTE -> type == 'C' || type == 'I' || type == 's' || type == 'E';
            case CLOSE -> type == '3' || type == 'E';
            case SYNC, QUERY, FUNCTION_CALL -> type == 'Z';
        };
    }

    private List<Entry> dropUntilSync() {
        List<Entry> dropped = new ArrayList<>();
        Iterator<Entry> it = entries.iterator();
        while (it.hasNext()) {
            Entry e = it.next();
            if (e.kind == Kind.SYNC) {
                return dropped;
            }
            dropped.add(e);
            it.remove();
        }
        serverSkipsUntilSync = true;
        return dropped;
    }

    /**
     * In COPY FROM STDIN the server ignores every Sync (libpq sends one after the Execute; a client may send more,
     * among its CopyData), until the CopyDone or CopyFail that ends it. A COPY Warden's reading foresaw has none
     * queued here (see {@link #copyMayStart}); for one it did not (its reading disagrees with the server's, which
     * the tripwire sees at its CommandComplete): the {@code n}-th COPY {@code copying} starts
     * (a Query may hold several) reads the client's messages after its {@code n-1}-th CopyDone or CopyFail since
     * {@code copying} up to its {@code n}-th. The Syncs sent in between are no entries (a helper's attacker pass: a
     * Sync between CopyData and CopyDone, or sent after the CopyInResponse came, stayed an entry waiting for a
     * ReadyForQuery never sent, and every later answer was filed under the request before its own: rows went out
     * unmasked, and a prepared UPDATE ran under the name of a SELECT). Sets {@link #copyInOpen}.
     */
    private void dropSyncsInCopy(Entry copying) {
        int n = ++copying.copyIns;
        // Where the client's messages stand against this COPY's window: the CopyDone or CopyFail before it
        // (n - 1 since copying) and after it (n), and whether CopyData came in it before each entry.
        int[] ends = {0};
        boolean[] data = {false};
        replay(copying, n, ends, data);
        Iterator<Entry> it = entries.iterator();
        Entry previous = it.next();
        while (it.hasNext()) {
            Entry e = it.next();
            if (ends[0] == n - 1 && e.kind == Kind.SYNC) {
                if (!data[0]) {
                    carryMarks(e, previous); // surely read inside the COPY, before any of its data: ignored
                    it.remove();
                    replay(e, n, ends, data);
                    continue;
                }
                e.tentative = true; // read inside the COPY, or after an error in its data: see dataInCopy
            }
            replay(e, n, ends, data);
            previous = e;
        }
        copyInOpen = ends[0] < n;
        dataInCopy = copyInOpen && data[0];
    }

    /** Counts {@code e}'s COPY marks into {@code ends} and {@code data} (CopyData inside the n-th window only). */
    private static void replay(Entry e, int n, int[] ends, boolean[] data) {
        if (e.copyMarks == null) {
            return;
        }
        for (int k = 0; k < e.copyMarks.length(); k++) {
            if (e.copyMarks.charAt(k) == 'c') {
                ends[0]++;
                data[0] = false;
            } else if (ends[0] == n - 1) {
                data[0] = true;
            }
        }
    }

}
