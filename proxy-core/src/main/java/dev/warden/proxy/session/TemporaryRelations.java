package dev.warden.proxy.session;

import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.proxy.catalog.StatementWalk;
import dev.warden.sql.Analysis;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import dev.warden.sql.TableRef;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Whether the session's server backend may have temporary relations of its own. A backend makes its temporary
 * schema ({@code pg_temp_N}) when it first creates a temporary relation, and until then no name the session uses
 * can mean one: the server never resolves a name to another backend's temporary schema. Warden's catalog
 * connection sees every session's temporary relations as candidates of a name; for a session that has none, the
 * guardrails leave those out (another session's temporary view over a guarded table must not refuse this session's
 * writes of the unguarded table whose name it shadows).
 *
 * <p>Fail closed: the first statement sent upstream that may create a relation, in its own text or in what it runs
 * (DDL, SELECT INTO, a function body, SQL built at run time, a DO block, a procedure, EXECUTE of a prepared
 * statement, a trigger, rule, default or policy of a relation it names, a FunctionCall, a statement Warden could not
 * read or whose relations the catalog cannot say), ends it for the rest of the session: then every candidate counts,
 * as before. It is marked when the statement is sent, before the client's next message is judged.
 *
 * <p>Then, when a statement names a relation some temporary schema holds, the session's own schema is read once,
 * between the client's batches ({@link OwnRequests#readTemporarySchema}): from there on only its relations count,
 * as the server resolves names. A backend's temporary schema keeps its name for the backend's life. If it has none
 * at that moment, the session has no temporary relation, and the state starts again. A statement that names
 * another session's temporary schema by its name ({@code pg_temp_7.v}: the server resolves it for a superuser, or
 * through a view) counts every session's. Event loop only.
 */
final class TemporaryRelations {

    /**
     * Kinds of statement that create no relation themselves (what they run is looked at separately). Not DDL of any
     * kind (DROP, GRANT, COMMENT, REFRESH ...): it fires event triggers, whose functions may.
     */
    private static final Set<StatementKind> CREATE_NOTHING = EnumSet.of(StatementKind.SELECT, StatementKind.INSERT,
            StatementKind.UPDATE, StatementKind.DELETE, StatementKind.MERGE, StatementKind.TRUNCATE,
            StatementKind.SET_ROLE, StatementKind.RESET_ROLE, StatementKind.SET_SESSION_AUTHORIZATION,
            StatementKind.SET, StatementKind.RESET, StatementKind.SHOW, StatementKind.COPY, StatementKind.PREPARE,
            StatementKind.DEALLOCATE, StatementKind.BEGIN, StatementKind.COMMIT, StatementKind.ROLLBACK,
            StatementKind.SAVEPOINT, StatementKind.RELEASE, StatementKind.VACUUM, StatementKind.ANALYZE,
            StatementKind.LISTEN, StatementKind.NOTIFY, StatementKind.UNLISTEN, StatementKind.DISCARD,
            StatementKind.LOCK, StatementKind.DECLARE, StatementKind.FETCH, StatementKind.MOVE, StatementKind.CLOSE,
            StatementKind.EXPLAIN, StatementKind.CHECKPOINT, StatementKind.EMPTY);
    /** SELECT ... INTO makes a table (over-matches a string or a name, which only ends the state sooner). */
    private static final Pattern INTO = Pattern.compile("(?i)\\binto\\b");
    /** How deep what relations run (and the views they are reached through) is followed; deeper counts as creating. */
    private static final int MAX_DEPTH = 4;

    private boolean mayHave;
    /** The backend's temporary schema, once read ({@link #schemaRead}); null until then. */
    private String ownSchema;
    /**
     * Per relation name, what writing ({@code creatingWrite}) or reading ({@code creatingRead}) it runs that may
     * create a relation (DDL, a DO block, dynamic SQL ...), at {@link #judgedAt} of the catalog; null when the
     * catalog cannot say.
     */
    private final Map<String, List<StatementFacts>> creatingWrite = new HashMap<>();
    private final Map<String, List<StatementFacts>> creatingRead = new HashMap<>();
    private long judgedAt = -1;

    /** Whether the session may have temporary relations. */
    boolean mayHave() {
        return mayHave;
    }

    /**
     * The temporary schemas whose relations the session's names can mean (see {@link CatalogCache#schemasHolding}):
     * none (null) while it may have no temporary relation, its own once read, else any
     * ({@link CatalogCache#ANY_TEMPORARY}: other sessions' cannot be told from its own).
     */
    String visibleSchemas() {
        return !mayHave ? null : ownSchema != null ? ownSchema : CatalogCache.ANY_TEMPORARY;
    }

    /** What a decision made with {@link #visibleSchemas} depends on: 0, 1 or 2 (for a memo's key). */
    int state() {
        return !mayHave ? 0 : ownSchema != null ? 1 : 2;
    }

    /** Whether reading the session's own temporary schema would leave other sessions' out. */
    boolean worthReadingSchema() {
        return mayHave && ownSchema == null;
    }

    /**
     * The session's temporary schema as its server read it ({@link OwnRequests#readTemporarySchema}) with nothing
     * of the session's in flight: empty when its backend has none, so it has no temporary relation now; null when
     * it could not be read (a failed transaction), which changes nothing.
     */
    void schemaRead(String schema) {
        if (schema == null) {
            return;
        }
        if (schema.isEmpty()) {
            mayHave = false;
        } else if (CatalogCache.temporary(schema)) {
            ownSchema = schema;
        }
    }

    /** Something Warden did not read goes upstream (a FunctionCall, an Execute of a portal it did not see). */
    void sendingUnread() {
        mayHave = true;
    }

    /**
     * {@code analysis} (null: not read) goes upstream, its function bodies nested (see {@link CatalogCache}).
     * Returns the statements that may create a relation which the relations it names run, and it does not name
     * (a trigger's function that makes a view): DDL the session runs all the same, which the caller records as
     * such. Empty when none, or when the catalog cannot say (the guardrails judge such a write as one that may
     * write any table).
     */
    List<StatementFacts> sending(Analysis analysis, CatalogCache catalog) {
        if (analysis == null || catalog == null) {
            mayHave = true;
            return List.of();
        }
        boolean other = namesOtherSchema(analysis);
        // (A statement naming another session's schema is judged with every session's, and not remembered.)
        long at = other ? -1 : catalog.generation() * 4 + state();
        if (at != judgedAt || other) {
            creatingWrite.clear();
            creatingRead.clear();
            judgedAt = at;
        }
        visibleNow = other ? CatalogCache.ANY_TEMPORARY : visibleSchemas();
        if (!other && analysis == sentAnalysis && at == sentAt) {
            // The same analysis (a prepared statement's Execute) at the same catalog generation and state: the
            // answer depends on nothing else (the state fixes which schemas count, the generation what they hold).
            mayHave |= sentCreates;
            return sentRun;
        }
        // Every statement passes here: the scratch collections are the session's, cleared, not made anew.
        seen.clear();
        scratch.clear();
        boolean creates = mayCreate(analysis.statements(), catalog, 0, seen, scratch);
        mayHave |= creates;
        List<StatementFacts> run = scratch.isEmpty() ? List.of() : List.copyOf(scratch);
        sentAnalysis = other ? null : analysis;
        sentAt = at;
        sentCreates = creates;
        sentRun = run;
        return run;
    }

    /** The last {@link #sending} answered: for which analysis (null: none to reuse), at which key, and what. */
    private Analysis sentAnalysis;
    private long sentAt = -1;
    private boolean sentCreates;
    private List<StatementFacts> sentRun = List.of();

    /** {@link #visibleSchemas} for the statement being sent. */
    private String visibleNow;

    /**
     * Whether {@code analysis} names a relation of another session's temporary schema by that schema's name
     * ({@code pg_temp_N}, N not this backend's): the server resolves it (a superuser, or a view of it), so that
     * schema's relations count for it, whatever this session has. {@code pg_temp} itself is the session's own.
     */
    boolean namesOtherSchema(Analysis analysis) {
        // Asked twice of each statement (when it is judged, and when it is sent): the second time is answered here.
        if (analysis == askedOf && ownSchema == askedWith) {
            return askedAnswer;
        }
        boolean other = false;
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                other |= otherSchema(f.tablesRead()) || otherSchema(f.tablesWritten());
            }
        }
        askedOf = analysis;
        askedWith = ownSchema;
        askedAnswer = other;
        return other;
    }

    /** The last {@link #namesOtherSchema} asked: of which analysis, with which own schema, and its answer. */
    private Analysis askedOf;
    private String askedWith;
    private boolean askedAnswer;

    private boolean otherSchema(Set<TableRef> tables) {
        for (TableRef t : tables) {
            if (t.schema() != null && CatalogCache.temporary(t.schema()) && !t.schema().equals(ownSchema)) {
                return true;
            }
        }
        return false;
    }

    private final Set<String> seen = new HashSet<>();
    private final List<StatementFacts> scratch = new ArrayList<>();

    /**
     * Whether {@code statements}, or what the relations they name run, may create a relation; the statements of
     * the latter that may are added to {@code run}.
     */
    private boolean mayCreate(List<StatementFacts> statements, CatalogCache catalog, int depth, Set<String> seen,
                              List<StatementFacts> run) {
        boolean creates = false;
        for (StatementFacts top : statements) {
            for (StatementFacts f : top.allStatements()) {
                creates |= creates(f);
                for (TableRef t : f.tablesWritten()) {
                    creates |= runsCreating(t, true, catalog, depth, seen, run);
                }
                for (TableRef t : f.tablesRead()) {
                    creates |= runsCreating(t, false, catalog, depth, seen, run);
                }
            }
        }
        return creates;
    }

    private static boolean creates(StatementFacts f) {
        return !CREATE_NOTHING.contains(f.kind()) || f.dynamicSql() || f.unparsed()
                || (f.kind() == StatementKind.SELECT && mentions(f.text(), "into") && INTO.matcher(f.text()).find());
    }

    /**
     * Whether {@code text} holds the ASCII letters of {@code word} (lower case, starting with a letter) in any case:
     * a cheap test before a regex that can only match where it does.
     */
    static boolean mentions(String text, String word) {
        char first = word.charAt(0);
        // The second letter too before regionMatches, whose case folding showed in a profile (1.4 % of the event
        // loops' samples with pgbench's "... pgbench_accounts WHERE aid = ...": "ts" and "id" were each folded).
        char second = word.length() > 1 ? word.charAt(1) : 0;
        for (int i = text.length() - word.length(); i >= 0; i--) {
            if ((text.charAt(i) | 0x20) == first && (second == 0 || (text.charAt(i + 1) | 0x20) == second)
                    && text.regionMatches(true, i, word, 0, word.length())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether what reading (or, {@code written}, writing) a relation of {@code t}'s name runs may create a relation,
     * through the views it is reached by too; true when the catalog cannot say. What may is added to {@code run}.
     */
    private boolean runsCreating(TableRef t, boolean written, CatalogCache catalog, int depth, Set<String> seen,
                                 List<StatementFacts> run) {
        // (The name first: a record's equals, once per relation of every statement, showed in the profile.)
        if (t.name().equals("*") && t.equals(TableRef.ANY_RELATION)) {
            return false; // a sequence named at run time: it runs nothing
        }
        Map<String, List<StatementFacts>> cache = written ? creatingWrite : creatingRead;
        if (depth == 0 && cache.containsKey(t.name())) {
            // Known for this catalog generation: no key is made (the common case, once per statement relation).
            List<StatementFacts> known = cache.get(t.name());
            if (known != null) {
                run.addAll(known);
            }
            return known == null || !known.isEmpty();
        }
        String key = (written ? "w " : "r ") + t.name();
        if (!seen.add(key)) {
            return false;
        }
        List<StatementFacts> found = new ArrayList<>();
        boolean creating;
        if (depth >= MAX_DEPTH) {
            creating = true;
            found = null;
        } else {
            // Only what this session's names can mean: it has no temporary relation of its own yet.
            List<StatementFacts> ran = catalog.runBy(t.name(), written, visibleNow);
            if (ran == null) {
                creating = true;
                found = null;
            } else {
                for (StatementFacts top : ran) {
                    if (StatementWalk.any(top, TemporaryRelations::creates)) {
                        found.add(top);
                    }
                }
                creating = mayCreate(ran, catalog, depth + 1, seen, found) | !found.isEmpty();
                for (TableRef through : catalog.namedByViews(t.name(), visibleNow)) {
                    creating |= runsCreating(through, written, catalog, depth + 1, seen, found);
                }
            }
        }
        if (found != null) {
            run.addAll(found);
        }
        if (depth == 0) {
            // (Creating with nothing found: deeper, the catalog could not say; remembered as unknown.)
            cache.put(t.name(), found == null || (creating && found.isEmpty()) ? null : List.copyOf(found));
        }
        return creating;
    }
}
