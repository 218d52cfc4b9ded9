package dev.warden.proxy.session;

import dev.warden.pg.message.BackendMessage.RowDescription.Field;
import dev.warden.sql.Analysis;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import dev.warden.sql.TextReferences;

import java.util.List;
import java.util.Optional;

/**
 * The session's prepared statements and portals, one namespace each, as in the server: protocol Parse/Bind
 * and SQL {@code PREPARE} fill the same statement map, so an Execute of a statement named by SQL
 * PREPARE is judged by the statement it runs, and {@code EXECUTE name} finds a statement made by Parse.
 *
 * <p>The objects are replaced, never changed in place, when a name is reused: an outstanding request keeps the
 * one it was about (see {@link OutstandingQueue.Entry}). Their column descriptions are filled in as the
 * server answers Describe.
 */
final class PreparedStatements {

    /** Where a statement came from: its approval and audit treatment differ. */
    enum Origin { PROTOCOL, SQL }

    /** A prepared statement: its text and analysis, and its columns once a Describe has told them. */
    static final class Statement {
        final String name;
        final String sql;
        /** Its analysis, with the effects of the functions it calls as they were at Parse. */
        final Analysis analysis;
        /**
         * The analysis an execution is judged and masked by: {@link #analysis}, or the effects applied again from
         * {@link #read} when the catalog moved on before an Execute or an EXECUTE (a migration replaced a function:
         * the server runs the new body, whose reads masking follows).
         */
        Analysis judged;
        /** Masking's refusal of {@link #judged} (a function it calls now hands a sensitive value off); null: none. */
        dev.warden.proxy.guardrails.Decision screenedOut;
        /** Whether the bodies {@link #judged} runs changed since Parse, PREPARE or DECLARE (see {@link #judgedNow}). */
        boolean bodiesChanged;
        /** The analysis as the text alone gives it, before function effects; null when not kept (never applied again). */
        final Analysis read;
        /**
         * What binding a value to each parameter whose user type Parse gave runs (see RelayHandler#parameterCasts), as
         * read and with its effects applied; null when every type is built in.
         */
        final Analysis castsRead;
        Analysis casts;
        /**
         * The catalog generation read before {@link #analysis} had its effects applied (-1: unknown), and until when
         * ({@link System#nanoTime}) what the catalog read for them counts as current.
         */
        long effectsAt = -1;
        long effectsCurrentUntil;
        final Origin origin;
        /** The text's bytes when not UTF-8, for the audit records of its executions; null otherwise. */
        final byte[] textBytes;
        /** The parameter types Parse declared (empty for SQL PREPARE). */
        final List<Integer> parameterTypes;
        /** About how many bytes of the heap it holds (see {@link PreparedStatements#keptBytes}). */
        final long keptBytes;

        /**
         * What a statement of {@code sql} keeps: the text (twice: as read, and in its analysis' facts), its bytes when
         * not UTF-8, its declared types (four bytes each), and the objects around them.
         */
        static long keptBytes(String sql, byte[] textBytes, int parameterTypes) {
            return 256L + 4L * sql.length() + (textBytes == null ? 0 : textBytes.length) + 4L * parameterTypes;
        }
        List<Field> fields;
        /**
         * Until the server answers this statement's Parse: the statement it replaced under its name (null: none),
         * which the server keeps if it refuses or skips the Parse (see {@link PreparedStatements#parseFailed}).
         */
        private Statement replaced;
        /** The server refused or skipped this statement's Parse: it never had it. */
        private boolean failed;
        /** The guardrail decision on it, and the policy it was made under (remade after a reload). */
        private dev.warden.proxy.guardrails.Decision decision;
        private Object decidedUnder;
        private long decidedAt;

        Statement(String name, String sql, Analysis analysis, Origin origin, byte[] textBytes) {
            this(name, sql, analysis, origin, textBytes, List.of());
        }

        Statement(String name, String sql, Analysis analysis, Origin origin, byte[] textBytes,
                  List<Integer> parameterTypes) {
            this(name, sql, analysis, origin, textBytes, parameterTypes, null, null, null);
        }

        Statement(String name, String sql, Analysis analysis, Origin origin, byte[] textBytes,
                  List<Integer> parameterTypes, Analysis read, Analysis castsRead, Analysis casts) {
            this.parameterTypes = parameterTypes;
            this.name = name;
            this.sql = sql;
            // The text (twice: as read, and in its analysis' facts), its bytes when not UTF-8, its declared types
            // (four bytes each), and the objects around them.
            this.keptBytes = keptBytes(sql, textBytes, parameterTypes.size());
            this.analysis = analysis;
            this.judged = analysis;
            this.read = read;
            this.castsRead = castsRead;
            this.casts = casts;
            this.origin = origin;
            this.textBytes = textBytes;
        }

        /**
         * Its effects applied again at {@code generation} (see {@link #analysis}): the decision is remade. Returns
         * whether {@link #judged} changed (masking is then to screen it again, see {@link #screenedOut}).
         */
        boolean reapplied(Analysis applied, Analysis castsApplied, long generation, long currentUntil) {
            casts = castsApplied;
            effectsAt = generation;
            effectsCurrentUntil = currentUntil;
            decision = null;
            return judgedNow(applied);
        }

        /**
         * {@link #reapplied} for an SQL EXECUTE, which judges its parameters' casts on its own: a statement Parse gave
         * user types keeps its stamp, so that its next protocol Execute applies those again too.
         */
        boolean reappliedWithoutCasts(Analysis applied, long generation, long currentUntil) {
            decision = null;
            if (castsRead == null) {
                effectsAt = generation;
                effectsCurrentUntil = currentUntil;
            }
            return judgedNow(applied);
        }

        /**
         * Takes {@code applied} as {@link #judged} unless it reads the same (the bodies it runs did not change): masking
         * keeps the judgement it made of that, with the session's search_path as read between the client's batches
         * (an Execute inside a batch cannot read it, and judging without it masks what a schema of another session's
         * path could make sensitive).
         */
        private boolean judgedNow(Analysis applied) {
            if (judged == null || applied == null || !dev.warden.proxy.catalog.SameReading.of(judged, applied)) {
                judged = applied;
                bodiesChanged = true;
                return true;
            }
            return false;
        }

        /**
         * A cursor's query with the effects of its functions as at its DECLARE ({@code applied}, from {@link #read}):
         * what a FETCH's application is compared with (the DECLARE's own analysis holds them at its top, not in its
         * query). Stamped at {@code generation}.
         */
        void declaredWith(Analysis applied, long generation, long currentUntil) {
            judged = applied;
            effectsAt = generation;
            effectsCurrentUntil = currentUntil;
        }

        /** Whether its effects must be applied again before an Execute: see {@link #analysis}. */
        boolean effectsStale(long generation) {
            return read != null && (effectsAt != generation || System.nanoTime() - effectsCurrentUntil >= 0);
        }
    }

    /**
     * The decision on the statement under {@code policy} and the catalog's {@code generation}: made once per policy
     * version and catalog state, not per execution (clients run a prepared statement many times).
     */
    static dev.warden.proxy.guardrails.Decision decisionOf(Statement s, Object policy, long generation,
            java.util.function.Function<Analysis, dev.warden.proxy.guardrails.Decision> decide) {
        if (s.screenedOut != null) {
            return s.screenedOut;
        }
        if (s.decision == null || s.decidedUnder != policy || s.decidedAt != generation) {
            s.decision = decide.apply(s.judged);
            if (s.decision.allowed() && s.casts != null) {
                s.decision = decide.apply(s.casts);
            }
            s.decidedUnder = policy;
            s.decidedAt = generation;
        }
        return s.decision;
    }

    /** A bound portal: its statement, the result formats Bind chose and the parameter values, its columns once described. */
    static final class Portal {
        final String name;
        final Statement statement;
        final List<Short> resultFormats;
        /** The bound parameter values as text (null for SQL NULL, hex for binary), for approvals and audit. */
        final List<String> parameters;
        /**
         * About how many bytes of the heap it holds (see {@link PreparedStatements#keptBytes}); set before the portal is
         * {@link PreparedStatements#bound}, and not changed after.
         */
        long keptBytes;
        /** A cursor made by SQL DECLARE (no Bind told its formats), and whether it was declared WITH HOLD. */
        final boolean declared;
        final boolean holdable;
        List<Field> fields;
        /** Warden asked the server to describe this cursor (once, before its first Execute). */
        boolean describeSent;
        /**
         * What the name meant before this portal's Bind was sent, until the server answers it: the server keeps that
         * if it refuses or skips the Bind (see {@link PreparedStatements#bindFailed}).
         */
        Portal replaced;
        /** The server refused or skipped this portal's Bind. */
        boolean failed;
        /**
         * The approval an Execute of this portal ran under, if one did: a later Execute of the portal continues that
         * run (see StatementGate.Statement#continuesApproval). A new Bind of the name is a new Portal.
         */
        String ranUnderApproval;
        /** What the approver of {@link #ranUnderApproval} was shown, and it binds (see RelayHandler#admitExecute). */
        String approvedText;
        /**
         * How many savepoints were open when the portal was made (after a RELEASE, of its enclosing level): a
         * ROLLBACK TO a savepoint drops the portals made after it, as the server's {@code AtSubAbort_Portals}.
         */
        int savepointLevel;
        /**
         * A cursor WITH HOLD whose transaction the server reported committed: it outlives later transactions, aborted
         * ones too. Until then it is the server's only while its transaction stands (an abort drops it).
         */
        boolean committed;
        /**
         * A COMMIT was sent after this held cursor's DECLARE and the server has not yet said how its transaction ended
         * (a COMMIT of a failed transaction rolls back): until it does, a FETCH or Execute of the name is judged as of
         * an unknown cursor, since the name may by then be another portal's (one a function opened).
         */
        boolean commitAwaited;

        Portal(String name, Statement statement, List<Short> resultFormats, List<String> parameters) {
            this(name, statement, resultFormats, parameters, false, false);
        }

        private Portal(String name, Statement statement, List<Short> resultFormats, List<String> parameters,
                       boolean declared, boolean holdable) {
            this.name = name;
            this.statement = statement;
            this.resultFormats = resultFormats;
            this.parameters = parameters;
            this.declared = declared;
            this.holdable = holdable;
            long kept = 128L + 2L * resultFormats.size();
            for (String value : parameters) {
                // A value's string (its characters, or hex for binary) and, when not ASCII, its bytes as sent.
                kept += value == null ? 8 : 48L + 2L * value.length();
            }
            this.keptBytes = kept;
        }

        /**
         * A Bind with a value that is not ASCII, kept with the encoding its values were read in ({@link #parameters}):
         * an approval reads them again in the encoding the server reads them in, once a SET client_encoding pipelined
         * before the Execute has run (see {@link #parametersUnder}). Null otherwise.
         */
        private dev.warden.pg.message.FrontendMessage.Bind nonAscii;
        private dev.warden.sql.ClientEncoding readIn;

        /** Keeps {@code bind} when a value of it is not ASCII, read in {@code encoding} (see {@link #nonAscii}). */
        void boundIn(dev.warden.pg.message.FrontendMessage.Bind bind, dev.warden.sql.ClientEncoding encoding) {
            for (byte[] value : bind.parameters()) {
                for (int i = 0; value != null && i < value.length; i++) {
                    if (value[i] < 0) {
                        nonAscii = bind;
                        readIn = encoding;
                        for (byte[] kept : bind.parameters()) {
                            keptBytes += kept == null ? 0 : 16L + kept.length; // the message is kept as sent
                        }
                        return;
                    }
                }
            }
        }

        /**
         * A Bind with a value longer than {@link #parameters} show, kept to show an approver the whole value (see
         * BoundParameters#forApprover); null otherwise.
         */
        private dev.warden.pg.message.FrontendMessage.Bind longValues;

        /** Keeps {@code bind} when a value of it is longer than its record shows (see {@link #longValues}). */
        void keepLongValues(dev.warden.pg.message.FrontendMessage.Bind bind) {
            if (BoundParameters.anyCut(bind)) {
                longValues = bind;
                if (nonAscii != bind) {
                    for (byte[] kept : bind.parameters()) {
                        keptBytes += kept == null ? 0 : 16L + kept.length;
                    }
                }
            }
        }

        /**
         * The values as an approver sees them, read in {@code encoding}: {@link #parametersUnder} unless a value is
         * longer than those show, then whole from the Bind; null when a value is too long to show any approver.
         */
        List<String> parametersForApprover(dev.warden.sql.ClientEncoding encoding) {
            if (longValues == null) {
                return parametersUnder(encoding);
            }
            return BoundParameters.forApprover(longValues, statement == null ? List.of() : statement.parameterTypes,
                    encoding);
        }

        /** {@link #parameters}, read again in {@code encoding} when that is not what they were read in. */
        List<String> parametersUnder(dev.warden.sql.ClientEncoding encoding) {
            if (nonAscii == null || encoding == readIn) {
                return parameters;
            }
            return BoundParameters.of(nonAscii, statement == null ? List.of() : statement.parameterTypes, encoding);
        }

        /** The columns this portal returns, if a Describe of it or of its statement told them. */
        List<Field> describedFields() {
            if (fields != null) {
                return fields;
            }
            return statement == null ? null : statement.fields;
        }
    }

    private final KeptNames<Statement> statements = new KeptNames<>(s -> s.keptBytes);
    private final KeptNames<Portal> portals = new KeptNames<>(p -> p.keptBytes);
    /** The savepoints of the open transaction, innermost last (see {@link Savepoints}). */
    private final Savepoints savepoints = new Savepoints();

    /**
     * The key the server gives a statement or portal name: its first 63 bytes (NAMEDATALEN - 1; the server's hash
     * tables of prepared statements and portals compare no more), for a name of ASCII characters, which are their own
     * bytes in every client encoding; null for any other name, which Warden does not read (see
     * {@code RelayHandler#refuseName}). Names the server keeps apart are kept apart, and names it takes for one are
     * one: before, two 64-byte names differing in their last byte were one statement to the server and two to
     * Warden, whose Execute of the second then ran unjudged.
     */
    static String wireName(String name) {
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) >= 0x80) {
                return null;
            }
        }
        return name.length() > 63 ? name.substring(0, 63) : name;
    }

    Statement statement(String name) {
        return statements.get(name);
    }

    /**
     * About how many bytes of Warden's heap the session's statements and portals hold (what
     * {@code budgets.sessions.kept_bytes} bounds): a helper's pass (a135 F1) pinned 656 MB with 400 Parse messages of
     * 65,535 declared types each, and every other session's statements slowed down.
     */
    long keptBytes() {
        return statements.bytes() + portals.bytes();
    }

    /**
     * Counts this session's kept bytes into {@code sum}, the one all sessions of its identity share (what
     * {@code budgets.sessions.kept_bytes_per_identity} bounds); {@code null} takes them out when the session ends.
     */
    void countInto(java.util.concurrent.atomic.LongAdder sum) {
        statements.countInto(sum);
        portals.countInto(sum);
        identityKept = sum;
    }

    private java.util.concurrent.atomic.LongAdder identityKept;

    /** What every session of this one's identity keeps together, this one's included (its own bytes if not counted). */
    long identityKeptBytes() {
        java.util.concurrent.atomic.LongAdder sum = identityKept;
        return sum == null ? keptBytes() : sum.sum();
    }

    /** The bytes the statement (portal, with {@code kind} 'P') of that name holds, 0 for none. */
    long keptBytes(char kind, String name) {
        if (kind == 'P') {
            Portal p = portals.get(name);
            return p == null ? 0 : p.keptBytes;
        }
        Statement s = statements.get(name);
        return s == null ? 0 : s.keptBytes;
    }

    Portal portal(String name) {
        return portals.get(name);
    }

    /** Whether the session holds a cursor of this name made by SQL DECLARE. */
    boolean holdsCursor(String name) {
        Portal p = portals.get(name);
        return p != null && p.declared;
    }

    /**
     * Whether a FETCH of this name reads the cursor Warden saw declared: held ({@link #holdsCursor}) and not waiting
     * for the server to say whether its transaction committed ({@link Portal#commitAwaited}).
     */
    boolean cursorStands(String name) {
        Portal p = portals.get(name);
        return p != null && p.declared && !p.commitAwaited;
    }

    /** The portal an Execute of this name runs, as far as Warden can tell; null when it cannot (see cursorStands). */
    Portal portalToRun(String name) {
        Portal p = portals.get(name);
        return p == null || p.commitAwaited ? null : p;
    }

    /**
     * A Parse as it is sent: its name means this statement from now on (a Bind right behind it names it), unless the
     * server refuses or skips it ({@link #parseFailed}).
     */
    void parsed(Statement statement) {
        statement.replaced = statements.put(statement.name, statement);
    }

    /**
     * Follows the server's answers to the client's Parse and Bind messages: ParseComplete (BindComplete) makes a
     * statement (portal) final; an error, or a message the server skips after an earlier error, leaves the name with
     * what the server still has.
     */
    void answered(OutstandingQueue.Answer answer, byte type) {
        List<OutstandingQueue.Entry> dropped = answer.dropped();
        for (int i = dropped.size() - 1; i >= 0; i--) { // undone newest first
            OutstandingQueue.Entry skipped = dropped.get(i);
            if (skipped.isClientParse()) {
                parseFailed(skipped.statement, false);
            } else if (skipped.isClientBind()) {
                bindFailed(skipped.portal);
            } else if (skipped.isClientClose()) {
                closeSkipped(skipped);
            } else if (skipped.execution != null && skipped.execution.preparedBySql != null) {
                // A Query or Execute the server skipped ran none of its statements: what its PREPARE, DEALLOCATE,
                // DISCARD or DECLARE did to the names is undone, as for one that failed at its first statement.
                // Before, a helper's pass (a121) failed a batch, then sent PREPARE p AS <harmless>: the server kept
                // p's old text, and Warden judged, masked and audited the next EXECUTE p as the harmless one.
                sqlFailed(skipped.execution.preparedBySql, 0);
            }
        }
        OutstandingQueue.Entry owner = answer.owner();
        if (answer.completed() && owner.isClientParse()) {
            if (type == 'E') {
                parseFailed(owner.statement, true);
            } else {
                owner.statement.replaced = null;
            }
        } else if (answer.completed() && owner.isClientBind()) {
            if (type == 'E') {
                bindFailed(owner.portal);
            } else {
                owner.portal.replaced = null;
            }
        }
    }

    /** How to undo what the text's statement at {@code index} did to the names, if the server does not run it. */
    record SqlUndo(int index, Runnable undo) {
    }

    /**
     * The statement at {@code failedAt} of a text failed (the server runs none after it): what that text's PREPARE,
     * DEALLOCATE and DISCARD did to the names from there on is undone, newest first ({@code 42P05}: the name keeps
     * the statement the server has; a DEALLOCATE in an aborted transaction leaves it there).
     */
    void sqlFailed(List<SqlUndo> undos, int failedAt) {
        for (int i = undos.size() - 1; i >= 0; i--) {
            if (undos.get(i).index() >= failedAt) {
                undos.get(i).undo().run();
            }
        }
    }

    /**
     * The server did not take {@code statement}'s Parse ({@code refused}: it answered with an error; else it
     * skipped it, or never got it): a name it already had keeps its statement there ({@code 42P05}), and so here,
     * or Warden would judge, audit and mask that statement as the text it refused. A refused Parse of the unnamed
     * statement leaves none: the server drops its unnamed statement before it parses a new one.
     */
    void parseFailed(Statement statement, boolean refused) {
        statement.failed = true;
        if (refused && statement.name.isEmpty()) {
            statement.replaced = null;
        }
        putBack(statements, statement.name, statement, s -> s.replaced, s -> s.failed);
    }

    /**
     * {@code failed}, the newest of {@code name}'s messages, was not taken: the name means again the newest one
     * before it that was (found through {@code replaced}), or nothing. Unless a later message of the name is
     * outstanding: its own answer decides (the server skips this one).
     */
    private static <T> void putBack(KeptNames<T> names, String name, T failed,
                                    java.util.function.UnaryOperator<T> replaced,
                                    java.util.function.Predicate<T> isFailed) {
        if (names.get(name) != failed) {
            return;
        }
        T before = replaced.apply(failed);
        while (before != null && isFailed.test(before)) {
            before = replaced.apply(before);
        }
        if (before == null) {
            names.remove(name);
        } else {
            names.put(name, before);
        }
    }

    /**
     * A Bind as it is sent: its portal name means this portal from now on (an Execute right behind it names it),
     * unless the server refuses or skips it ({@link #bindFailed}).
     */
    void bound(Portal portal) {
        portal.savepointLevel = savepoints.depth();
        portal.replaced = portals.put(portal.name, portal);
    }

    /**
     * The server did not take {@code portal}'s Bind (it answered with an error, skipped it after an earlier error, or
     * never got it): it made no portal, and a portal it already had by that name is still there (a cursor declared
     * WITH HOLD outlives the transaction the refusal aborts; {@code 42P03} for a named portal that exists). So here:
     * the name keeps what it meant before, or Warden would judge, audit and mask an Execute of it as the refused
     * Bind's statement while the server runs its own portal. A portal the server then drops with the aborted
     * transaction only means Warden knows a name the client cannot run.
     */
    void bindFailed(Portal portal) {
        portal.failed = true;
        putBack(portals, portal.name, portal, p -> p.replaced, p -> p.failed);
    }

    void closed(char kind, String name) {
        (kind == 'S' ? statements : portals).remove(name);
    }

    /** A Close of a statement as it is sent: returns what it removes (see {@link #closeSkipped}). */
    Statement closedStatement(String name) {
        return statements.remove(name);
    }

    /** A Close of a portal as it is sent: returns what it removes (see {@link #closeSkipped}). */
    Portal closedPortal(String name) {
        return portals.remove(name);
    }

    /**
     * The server skipped a Close (after an error, up to Sync), or never got it: it still has what the Close
     * named, and so does Warden again, or an Execute of it would run as a statement Warden never saw (no approval,
     * no tripwire).
     */
    void closeSkipped(OutstandingQueue.Entry close) {
        if (close.statement != null) {
            statements.putIfAbsent(close.statement.name, close.statement);
        }
        if (close.portal != null) {
            portals.putIfAbsent(close.portal.name, close.portal);
        }
    }

    /**
     * Follows SQL that changes the namespaces: {@code PREPARE name AS ...}, {@code DEALLOCATE}, {@code DISCARD},
     * and cursors, which are portals to the server: {@code DECLARE} adds one (its query, analysis and
     * holdability), {@code CLOSE}/{@code CLOSE ALL} remove them (any portal, as {@code PerformPortalClose} does),
     * and COMMIT or ROLLBACK drop those not held. Called once the statement was sent; a PREPARE, DEALLOCATE or
     * DISCARD that then fails is undone ({@link #sqlFailed}: the server keeps what it had); another that fails
     * leaves a name the server does not have, which only means Warden knows a statement or cursor the client
     * cannot run. A DECLARE of a name Warden already knows fails on the server ("cursor already exists"): Warden
     * then forgets the name rather than guess, so that portal's rows fail closed. Returns the cursors declared.
     */
    List<Portal> ranSql(Analysis analysis) {
        return ranSql(analysis, null);
    }

    /**
     * {@link #ranSql(Analysis)}, telling {@code undoneBy} (null: nobody) how to undo its PREPARE, DEALLOCATE and
     * DISCARD if the server fails them.
     */
    List<Portal> ranSql(Analysis analysis, Execution undoneBy) {
        return ranSql(analysis, undoneBy, null);
    }

    /**
     * {@link #ranSql(Analysis, Execution)}; {@code read}: the same statements as the text alone gives them (before
     * function effects, see {@link Statement#read}), or null.
     */
    List<Portal> ranSql(Analysis analysis, Execution undoneBy, Analysis read) {
        if (analysis == null) {
            return List.of();
        }
        if (read != null && read.statements().size() != analysis.statements().size()) {
            read = null;
        }
        List<Portal> declared = new java.util.ArrayList<>();
        for (int i = 0; i < analysis.statements().size(); i++) {
            StatementFacts f = analysis.statements().get(i);
            StatementKind kind = f.kind();
            if (kind == StatementKind.PREPARE && f.preparedName().isPresent() && f.inner().isPresent()) {
                String name = f.preparedName().get();
                StatementFacts inner = f.inner().get();
                StatementFacts innerRead = read == null ? null : read.statements().get(i).inner().orElse(null);
                // PREPARE name(types): each EXECUTE converts its arguments to those types, which runs their domains'
                // checks and casts (cast:type on the PREPARE, whose bodies it carries nested): the statement run is
                // judged with them (an attacker's pass, 2026-12-06: EXECUTE p(0) of a domain whose check raised
                // e-mails showed them in clear).
                java.util.Set<String> casts = new java.util.LinkedHashSet<>();
                for (String call : f.implicitCalls()) {
                    if (call.startsWith("cast:")) {
                        casts.add(call);
                    }
                }
                if (!casts.isEmpty()) {
                    List<StatementFacts> own = new java.util.ArrayList<>(f.nested());
                    inner = inner.withImplicitCalls(casts).withNested(own, false);
                    innerRead = innerRead == null ? null : innerRead.withImplicitCalls(casts);
                }
                Statement made = new Statement(name, inner.text(), new Analysis(List.of(inner)), Origin.SQL, null,
                        List.of(), innerRead == null ? null : new Analysis(List.of(innerRead)), null, null);
                made.replaced = statements.put(name, made);
                undo(undoneBy, new SqlUndo(i, () -> parseFailed(made, false)));
            } else if (kind == StatementKind.DEALLOCATE && f.preparedName().isPresent()) {
                String name = f.preparedName().get();
                if (name.equals("ALL")) {
                    undo(undoneBy, restoring(i, statements.values().stream().filter(s -> !s.name.isEmpty())
                            .toList(), List.of()));
                    statements.removeIf(s -> !s.name.isEmpty());
                } else {
                    Statement removed = statements.remove(name);
                    undo(undoneBy, restoring(i, removed == null ? List.of() : List.of(removed), List.of()));
                }
            } else if (Execution.discardsNames(f)) {
                undo(undoneBy, restoring(i, statements.values().stream().filter(s -> !s.name.isEmpty()).toList(),
                        List.copyOf(portals.values())));
                statements.removeIf(s -> !s.name.isEmpty());
                portals.clear();
            } else if (kind == StatementKind.DECLARE) {
                declare(f, read == null ? null : read.statements().get(i)).ifPresent(declared::add);
            } else if (kind == StatementKind.CLOSE) {
                TextReferences.cursorName(f).ifPresentOrElse(portals::remove, portals::clear);
            } else if (kind == StatementKind.BEGIN) {
                savepoints.clear();
            } else if (kind == StatementKind.SAVEPOINT || kind == StatementKind.RELEASE
                    || kind == StatementKind.COMMIT || kind == StatementKind.ROLLBACK) {
                transactionControl(f);
            }
            forgetWhatBodiesRedefine(f);
        }
        return declared;
    }

    /**
     * A routine body the statement runs may PREPARE, DEALLOCATE, DECLARE or CLOSE too (a SQL function's
     * {@code DEALLOCATE pq; PREPARE pq AS ...}): the names it reaches no longer run what Warden judged, so Warden
     * forgets them, and their next EXECUTE or Execute is refused as unknown (a FETCH is judged as of a cursor Warden
     * did not see declared). An attacker's pass had a body swap a prepared statement judged clear for a read of
     * e-mails, then EXECUTEd it in clear. A body's dynamic SQL (EXECUTE of a computed string) may CLOSE any portal,
     * whose name a PL/pgSQL OPEN can then take: Warden forgets every portal (a held cursor closed so and reopened over
     * customers was FETCHed in clear as the one Warden saw declared).
     */
    private void forgetWhatBodiesRedefine(StatementFacts top) {
        if (top.dynamicSql() && !portals.isEmpty()) {
            portals.clear();
        }
        for (StatementFacts f : top.allStatements()) {
            if (f == top) {
                continue;
            }
            switch (f.kind()) {
                case PREPARE, DEALLOCATE -> {
                    String name = f.preparedName().orElse("ALL");
                    if (name.equals("ALL")) {
                        statements.removeIf(s -> !s.name.isEmpty());
                    } else {
                        statements.remove(name);
                    }
                }
                case DISCARD -> {
                    if (Execution.discardsNames(f)) {
                        statements.removeIf(s -> !s.name.isEmpty());
                        portals.clear();
                    }
                }
                case DECLARE, CLOSE -> TextReferences.cursorName(f).ifPresentOrElse(portals::remove, portals::clear);
                default -> { }
            }
        }
    }

    /**
     * SAVEPOINT, RELEASE, ROLLBACK TO, COMMIT and ROLLBACK: the server drops the cursors (and portals) made after
     * the savepoint rolled back to, and at the end of the transaction those not held; so does Warden. A savepoint
     * name Warden cannot read or does not know (the server then fails the statement) forgets every cursor not
     * held: an Execute of one then fails closed, never runs with the wrong columns.
     */
    private void transactionControl(StatementFacts f) {
        Savepoints.Change change = savepoints.apply(f);
        switch (change.kind()) {
            case NONE -> {
            }
            case ROLLED_BACK_TO -> portals.removeIf(p -> p.savepointLevel > change.level());
            case RELEASED -> portals.values().forEach(p -> p.savepointLevel = Math.min(p.savepointLevel,
                    change.level()));
            case ENDED -> transactionEnded(f.kind() == StatementKind.COMMIT);
            // A ROLLBACK TO a savepoint Warden cannot read may undo any DECLARE since the transaction began.
            case UNKNOWN -> transactionEnded(false);
        }
    }

    /**
     * A COMMIT ({@code committing}) or ROLLBACK as it is sent: the server drops every portal but the cursors WITH
     * HOLD (protocol portals too: a Bind makes none that is held), and, if the transaction aborts, the held cursors
     * it declared. Those are forgotten at a ROLLBACK; at a COMMIT they wait for the server's word (a COMMIT of a
     * failed transaction rolls back, see {@link #ready}). Before, a held cursor of an aborted transaction and every
     * protocol portal outlived it here: a PL/pgSQL OPEN of the name over customers was then FETCHed and Executed
     * as the old clear query (an attacker's pass, 2026-12-06).
     */
    private void transactionEnded(boolean committing) {
        if (portals.isEmpty()) {
            return;
        }
        portals.removeIf(p -> !heldCursor(p) || !p.committed && !committing);
        if (committing) {
            portals.values().forEach(p -> p.commitAwaited = !p.committed);
        }
    }

    private static boolean heldCursor(Portal p) {
        return p.declared && p.holdable;
    }

    /** Since the last ReadyForQuery: the server answered with an error, or ended a transaction by rolling it back. */
    private boolean failedSinceReady;
    private boolean rolledBackSinceReady;

    /** Whether the server's answers are watched for errors and ROLLBACK (a held cursor's fate depends on them). */
    boolean awaitsTransactionEnd() {
        if (portals.isEmpty()) {
            return false;
        }
        for (Portal p : portals.values()) {
            if (heldCursor(p) && !p.committed) {
                return true;
            }
        }
        return false;
    }

    /** The server answered with an ErrorResponse. */
    void serverFailed() {
        failedSinceReady = true;
    }

    /** The server completed a statement with the tag ROLLBACK (a ROLLBACK, or a COMMIT of a failed transaction). */
    void serverRolledBack() {
        rolledBackSinceReady = true;
    }

    /**
     * The server is ready for a query, in transaction state {@code status} ({@code I} idle, {@code T} in a
     * transaction, {@code E} in a failed one); {@code quiet}: nothing the client sent is outstanding after it.
     * Idle: every transaction ended, and with it every portal but the held cursors of transactions that committed.
     * A held cursor still unconfirmed is the server's for good when nothing since the last ReadyForQuery failed
     * or rolled back (its transaction committed: at a COMMIT, or at the end of an implicit transaction), and is
     * gone otherwise (forgotten also when Warden cannot tell which transaction failed: its name is then unknown,
     * masked whole, never run as the old query). A pipelined batch's portals and unconfirmed cursors go or wait
     * with the ones before (fail closed). In a transaction: held cursors whose COMMIT rolled back are gone.
     */
    void ready(char status, boolean quiet) {
        boolean badly = failedSinceReady || rolledBackSinceReady;
        failedSinceReady = false;
        rolledBackSinceReady = false;
        if (portals.isEmpty()) {
            return;
        }
        if (status == 'I') {
            portals.removeIf(p -> !heldCursor(p) || !p.committed && badly);
            if (quiet) {
                for (Portal p : portals.values()) {
                    p.committed = true;
                    p.commitAwaited = false;
                    p.savepointLevel = 0;
                }
            }
        } else if (badly) {
            portals.removeIf(p -> p.commitAwaited);
        }
    }

    /**
     * A simple Query as it is sent: the server runs it in the unnamed portal, and drops the unnamed statement and
     * portal first ({@code exec_simple_query}); an Execute of the unnamed portal after it reads no Bind of Warden's.
     */
    void simpleQuery() {
        if (!portals.isEmpty()) {
            portals.remove("");
        }
        if (!statements.isEmpty()) {
            statements.remove("");
        }
    }

    private static void undo(Execution undoneBy, SqlUndo undo) {
        if (undoneBy != null) {
            undoneBy.undoOnFailure(undo);
        }
    }

    private SqlUndo restoring(int index, List<Statement> removed, List<Portal> removedPortals) {
        return new SqlUndo(index, () -> {
            removed.forEach(s -> statements.putIfAbsent(s.name, s));
            removedPortals.forEach(p -> portals.putIfAbsent(p.name, p));
        });
    }

    /** {@code read}: the DECLARE as its text alone gives it (before function effects), or null. */
    private Optional<Portal> declare(StatementFacts f, StatementFacts read) {
        Optional<String> name = TextReferences.cursorName(f);
        if (name.isEmpty()) {
            return Optional.empty();
        }
        if (portals.remove(name.get()) != null || f.inner().isEmpty()) {
            return Optional.empty();
        }
        StatementFacts inner = f.inner().get();
        // The query keeps its reading: a FETCH runs the functions it calls as they are then (see Statement#judged).
        StatementFacts innerRead = read == null ? null : read.inner().orElse(null);
        Statement query = new Statement(name.get(), inner.text(), new Analysis(List.of(inner)), Origin.SQL, null,
                List.of(), innerRead == null ? null : new Analysis(List.of(innerRead)), null, null);
        Portal cursor = new Portal(name.get(), query, List.of(), List.of(), true, TextReferences.cursorWithHold(f));
        cursor.savepointLevel = savepoints.depth();
        portals.put(cursor.name, cursor);
        return Optional.of(cursor);
    }

    /** The facts of a prepared statement, for {@code EXECUTE name} (one namespace with Parse). */
    Optional<StatementFacts> facts(String name) {
        Statement s = statements.get(name);
        if (s == null || s.analysis == null || s.analysis.statements().size() != 1) {
            return Optional.empty();
        }
        return Optional.of(s.analysis.statements().get(0));
    }
}
