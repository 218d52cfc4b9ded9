package dev.warden.proxy.guardrails;

import dev.warden.sql.Analysis;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import dev.warden.sql.TableRef;
import dev.warden.sql.TextReferences;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Names whose catalog entries a session cannot trust for the guardrails: DDL of its open transaction, or of an
 * earlier statement of the same text, changed what they mean, and Warden reads the catalog on a connection of its
 * own, which sees only what was committed.
 * <ul>
 * <li>{@code relations}: a relation renamed or moved (the old name and the new), a table put into an inheritance
 * tree (the tables on both sides). What writing or reading one runs is not known.</li>
 * <li>{@code views}: a view or materialized view made or replaced, with the statement that did (of each, when
 * several did): a read or a write of it reaches what that definition names, besides what the catalog says of the
 * name (a materialized view holds what its definition read).</li>
 * <li>{@code functions}: a function, procedure, routine or aggregate altered (renamed too): what a call does is
 * not known.</li>
 * <li>{@code bodies}: a function, procedure or aggregate made or replaced, with the statement that did (of each,
 * when several did): a call runs the body the session wrote (an aggregate, its support functions), judged like a
 * body the catalog holds.</li>
 * <li>{@code everything}: a schema renamed (or made with objects Warden cannot name): any name may now mean
 * something else. A schema made with views, tables or sequences makes their names unreadable.</li>
 * <li>{@code deferred}: what DDL of the transaction made run later, when a statement writes or reads a relation:
 * a call of each function a trigger, rule, policy, default, constraint or domain made or altered in it names
 * (with the body the analysis nested in it), and a rule's actions. The catalog Warden reads has none of them
 * until the transaction commits, and their statement was judged with what the names in those bodies meant then;
 * a PL/pgSQL body finds its relations by name when it runs, after a view made later in the transaction took one.
 * So each is judged again with every statement that reads or writes a relation.</li>
 * </ul>
 *
 * <p>A table made in the transaction is not here: it runs only what such statements gave it.
 */
public record Unreadable(Set<String> relations, Set<String> functions, Map<String, List<StatementFacts>> bodies,
                         Map<String, List<StatementFacts>> views, boolean everything, List<StatementFacts> deferred) {

    public static final Unreadable NONE = new Unreadable(Set.of(), Set.of(), Map.of(), Map.of(), false, List.of());

    private static final Set<String> RELATIONS = Set.of("TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE");
    private static final Set<String> ROUTINES = Set.of("FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE");

    public Unreadable {
        relations = Set.copyOf(relations);
        functions = Set.copyOf(functions);
        bodies = Map.copyOf(bodies);
        views = Map.copyOf(views);
        deferred = List.copyOf(deferred);
    }

    public boolean isEmpty() {
        return !everything && relations.isEmpty() && functions.isEmpty() && bodies.isEmpty() && views.isEmpty()
                && deferred.isEmpty();
    }

    boolean relation(String name) {
        return everything || relations.contains(name);
    }

    /** Whether what a call of {@code name} (qualified or not) does is not known. */
    boolean function(String name) {
        return everything || functions.contains(bare(name));
    }

    /** The statements that made or replaced a view {@code name} in the transaction; null when none did. */
    List<StatementFacts> view(String name) {
        return views.get(name);
    }

    /** Every name these make unreadable (not {@code everything}). */
    public Set<String> names() {
        Set<String> out = new HashSet<>(relations);
        out.addAll(functions);
        out.addAll(bodies.keySet());
        out.addAll(views.keySet());
        return out;
    }

    /** Whether what {@code name} means now is not known at all: renamed, moved, altered (not made by the session). */
    public boolean unknown(String name) {
        return everything || relations.contains(name) || functions.contains(name);
    }

    /**
     * What the transaction made under {@code name} and Warden can read: the statements that made the view or the
     * function (the text of a CREATE FUNCTION holds its whole body); null when it made nothing there.
     */
    public List<StatementFacts> definitions(String name) {
        List<StatementFacts> v = views.get(name);
        List<StatementFacts> b = bodies.get(name);
        return v == null ? b : b == null ? v : both(v, b);
    }

    /** The statements of the bodies the transaction gave {@code name}; null when it gave none. */
    List<StatementFacts> body(String name) {
        List<StatementFacts> made = bodies.get(bare(name));
        if (made == null) {
            return null;
        }
        List<StatementFacts> out = new ArrayList<>();
        for (StatementFacts create : made) {
            if ("AGGREGATE".equals(create.objectType())) {
                out.add(runLater(create)); // its support functions, called by the aggregate
            } else {
                out.addAll(create.nested());
            }
        }
        return out;
    }

    private static String bare(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? name : name.substring(dot + 1);
    }

    /** These, without {@code deferred}. */
    Unreadable withoutDeferred() {
        return new Unreadable(relations, functions, bodies, views, everything, List.of());
    }

    /** Both together. */
    public Unreadable with(Unreadable other) {
        if (other.isEmpty()) {
            return this;
        }
        if (isEmpty()) {
            return other;
        }
        Set<String> r = new HashSet<>(relations);
        r.addAll(other.relations);
        Set<String> f = new HashSet<>(functions);
        f.addAll(other.functions);
        Map<String, List<StatementFacts>> b = new HashMap<>(bodies);
        other.bodies.forEach((name, statements) -> b.merge(name, statements, Unreadable::both));
        Map<String, List<StatementFacts>> v = new HashMap<>(views);
        other.views.forEach((name, statements) -> v.merge(name, statements, Unreadable::both));
        return new Unreadable(r, f, b, v, everything || other.everything, both(deferred, other.deferred));
    }

    private static List<StatementFacts> both(List<StatementFacts> a, List<StatementFacts> b) {
        List<StatementFacts> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /** What the statements of {@code analysis} make unreadable (see above). */
    public static Unreadable changedBy(Analysis analysis) {
        return changedByAll(analysis.statements());
    }

    /** What one statement (with what it runs: a DO block's statements) makes unreadable. */
    public static Unreadable changedBy(StatementFacts top) {
        return changedByEach(top.allStatements());
    }

    /**
     * What the statements run inside {@code top} (a called function's body, a DO block's statements; not
     * {@code top} itself) make unreadable, for each other of them and in any order: a body may loop, or be called
     * again for the next row. Warden reads them against the committed catalog, where a view one of them makes is
     * not.
     */
    public static Unreadable changedWithin(StatementFacts top) {
        List<StatementFacts> all = top.allStatements();
        return all.size() < 2 ? NONE : changedByEach(all.subList(1, all.size()));
    }

    /** What {@code statements} (each a whole statement, and the statements it runs) make unreadable together. */
    public static Unreadable changedByAll(List<StatementFacts> statements) {
        Unreadable out = NONE;
        for (StatementFacts top : statements) {
            out = out.with(changedBy(top));
        }
        return out;
    }

    private static Unreadable changedByEach(List<StatementFacts> statements) {
        Set<String> relations = new HashSet<>();
        Set<String> functions = new HashSet<>();
        Map<String, List<StatementFacts>> bodies = new HashMap<>();
        Map<String, List<StatementFacts>> views = new HashMap<>();
        List<StatementFacts> deferred = new ArrayList<>();
        boolean everything = false;
        for (StatementFacts f : statements) {
            StatementKind kind = f.kind();
            String type = f.objectType();
            if ((kind == StatementKind.CREATE || kind == StatementKind.ALTER) && !ROUTINES.contains(type)
                    && !"VIEW".equals(type) && (!f.functions().isEmpty() || !f.nested().isEmpty())) {
                deferred.add(runLater(f));
            }
            if (kind == StatementKind.CREATE && ("VIEW".equals(type) || "MATERIALIZED VIEW".equals(type))) {
                for (TableRef t : f.tablesWritten()) {
                    views.merge(t.name(), List.of(f), Unreadable::both);
                }
            } else if (kind == StatementKind.ALTER && RELATIONS.contains(type)) {
                var moved = TextReferences.relocation(f.text());
                if (moved.isPresent()) {
                    names(f.tablesWritten(), relations);
                    if (moved.get().name() != null && !moved.get().name().isEmpty()) {
                        relations.add(moved.get().name());
                    }
                } else if (TextReferences.joinsTree(f.text())) {
                    names(f.tablesWritten(), relations);
                    names(f.tablesRead(), relations);
                }
            } else if (kind == StatementKind.CREATE && ("FUNCTION".equals(type) || "PROCEDURE".equals(type)
                    || "AGGREGATE".equals(type))) {
                var name = TextReferences.routineName(f.text());
                if (name.isPresent() && f.dynamicSql()) {
                    functions.add(name.get()); // a body in a language Warden cannot read
                } else if (name.isPresent()) {
                    bodies.merge(name.get(), List.of(f), Unreadable::both);
                } else {
                    everything = true; // (no name read: any call may be of it)
                }
            } else if ((kind == StatementKind.CREATE || kind == StatementKind.ALTER) && ROUTINES.contains(type)) {
                var name = TextReferences.routineName(f.text());
                if (name.isEmpty()) {
                    everything = true;
                }
                name.ifPresent(functions::add);
                TextReferences.relocation(f.text()).map(TextReferences.Relocation::name)
                        .filter(n -> !n.isEmpty()).ifPresent(functions::add);
            } else if ("SCHEMA".equals(type) && kind == StatementKind.ALTER
                    && TextReferences.relocation(f.text()).isPresent()) {
                everything = true;
            } else if ("SCHEMA".equals(type) && kind == StatementKind.CREATE) {
                // Its elements (CREATE SCHEMA s CREATE VIEW v ...) are made under names no fact holds.
                var made = TextReferences.schemaElements(f.text());
                if (made.isEmpty()) {
                    everything = true;
                } else {
                    relations.addAll(made.get());
                }
            }
        }
        return relations.isEmpty() && functions.isEmpty() && bodies.isEmpty() && views.isEmpty() && !everything
                && deferred.isEmpty() ? NONE : new Unreadable(relations, functions, bodies, views, everything, deferred);
    }

    /** What DDL {@code f} makes run later (see {@code deferred}): a call of the functions it names, what it nests. */
    private static StatementFacts runLater(StatementFacts f) {
        return new StatementFacts("SELECT " + String.join("(), ", f.functions()) + (f.functions().isEmpty() ? "1"
                : "()"), f.fingerprint(), StatementKind.SELECT, "", true, Set.of(), Set.of(), Set.of(), Set.of(),
                false, f.functions(), false, java.util.Optional.empty(), java.util.Optional.empty(),
                java.util.Optional.empty(), java.util.Optional.empty(), Set.of(), false, f.nested(),
                f.implicitCalls(), f.dynamicSql());
    }

    private static void names(Set<TableRef> tables, Set<String> into) {
        for (TableRef t : tables) {
            if (!t.equals(TableRef.ANY_RELATION)) {
                into.add(t.name());
            }
        }
    }

    /**
     * What the catalog does not hold and {@code analysis} may reach: the {@code deferred} statements, the
     * statements that made the views and functions whose names its texts (or theirs) have, a few levels deep;
     * null when none. What they name is looked up in the catalog with the statement's own names: the guardrails
     * judge the bodies, masking the definitions.
     */
    public Analysis definitionsNamedBy(Analysis analysis) {
        if (bodies.isEmpty() && views.isEmpty() && deferred.isEmpty()) {
            return null;
        }
        List<StatementFacts> out = new ArrayList<>(deferred);
        Set<String> seen = new HashSet<>();
        List<StatementFacts> todo = new ArrayList<>(analysis.statements());
        todo.addAll(deferred);
        for (int depth = 0; depth < 4 && !todo.isEmpty(); depth++) {
            List<StatementFacts> next = new ArrayList<>();
            for (StatementFacts top : todo) {
                for (String name : namedBy(top)) {
                    List<StatementFacts> made = definitions(name);
                    if (made != null && seen.add(name)) {
                        out.addAll(made);
                        next.addAll(made);
                    }
                }
            }
            todo = next;
        }
        return out.isEmpty() ? null : new Analysis(out);
    }

    /**
     * The unreadable names that the texts of {@code facts} (and of what it runs: a body, a DO block) have, as
     * identifiers or inside strings; every name of theirs when {@code everything}. For masking.
     */
    public Set<String> namedBy(StatementFacts facts) {
        Set<String> out = new java.util.LinkedHashSet<>();
        for (StatementFacts f : facts.allStatements()) {
            if (everything && f.tablesRead().isEmpty() && f.tablesWritten().isEmpty() && f.functions().isEmpty()
                    && f.nested().isEmpty() && !f.unparsed()) {
                continue; // (SHOW, SET, a constant: no name of it can mean a relation or a function)
            }
            for (String name : TextReferences.names(f.text())) {
                if (everything || relations.contains(name) || functions.contains(name) || bodies.containsKey(name)
                        || views.containsKey(name)) {
                    out.add(name);
                }
            }
        }
        return out;
    }

    /** Whether a statement of a text but its last makes a name unreadable (for those after it). */
    static boolean changesBeforeLast(List<StatementFacts> statements) {
        for (int i = 0; i + 1 < statements.size(); i++) {
            if (!changedBy(statements.get(i)).isEmpty()) {
                return true;
            }
        }
        return false;
    }
}
