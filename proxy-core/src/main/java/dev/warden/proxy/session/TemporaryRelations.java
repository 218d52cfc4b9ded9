package dev.warden.proxy.session;

import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.sql.Analysis;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import dev.warden.sql.TableRef;

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
 * as before. It is marked when the statement is sent, before the client's next message is judged. Event loop only.
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
    /** Per relation name, whether what it runs may create a relation, at {@link #judgedAt} of the catalog. */
    private final Map<String, Boolean> runsCreating = new HashMap<>();
    private long judgedAt = -1;

    /** Whether the session may have temporary relations (then other sessions' cannot be told from its own). */
    boolean mayHave() {
        return mayHave;
    }

    /** Something Warden did not read goes upstream (a FunctionCall, an Execute of a portal it did not see). */
    void sendingUnread() {
        mayHave = true;
    }

    /** {@code analysis} (null: not read) goes upstream, its function bodies nested (see {@link CatalogCache}). */
    void sending(Analysis analysis, CatalogCache catalog) {
        if (mayHave) {
            return;
        }
        if (analysis == null || catalog == null) {
            mayHave = true;
            return;
        }
        if (catalog.generation() != judgedAt) {
            runsCreating.clear();
            judgedAt = catalog.generation();
        }
        mayHave = mayCreate(analysis.statements(), catalog, 0, new HashSet<>());
    }

    private boolean mayCreate(List<StatementFacts> statements, CatalogCache catalog, int depth, Set<String> seen) {
        for (StatementFacts top : statements) {
            for (StatementFacts f : top.allStatements()) {
                if (!CREATE_NOTHING.contains(f.kind()) || f.dynamicSql() || f.unparsed()
                        || (f.kind() == StatementKind.SELECT && INTO.matcher(f.text()).find())) {
                    return true;
                }
                for (TableRef t : f.tablesWritten()) {
                    if (runsCreating(t, true, catalog, depth, seen)) {
                        return true;
                    }
                }
                for (TableRef t : f.tablesRead()) {
                    if (runsCreating(t, false, catalog, depth, seen)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * Whether what reading (or, {@code written}, writing) a relation of {@code t}'s name runs may create a relation,
     * through the views it is reached by too; true when the catalog cannot say.
     */
    private boolean runsCreating(TableRef t, boolean written, CatalogCache catalog, int depth, Set<String> seen) {
        if (t.equals(TableRef.ANY_RELATION)) {
            return false; // a sequence named at run time: it runs nothing
        }
        String key = (written ? "w " : "r ") + t.name();
        if (!seen.add(key)) {
            return false;
        }
        Boolean known = depth == 0 ? runsCreating.get(key) : null;
        if (known != null) {
            return known;
        }
        boolean creating;
        if (depth >= MAX_DEPTH) {
            creating = true;
        } else {
            // Only what this session's names can mean: it has no temporary relation of its own yet.
            List<StatementFacts> run = catalog.runBy(t.name(), written, false);
            creating = run == null || mayCreate(run, catalog, depth + 1, seen);
            for (java.util.Iterator<TableRef> through = catalog.namedByViews(t.name(), false).iterator();
                 !creating && through.hasNext(); ) {
                creating = runsCreating(through.next(), written, catalog, depth + 1, seen);
            }
        }
        if (depth == 0) {
            runsCreating.put(key, creating);
        }
        return creating;
    }
}
