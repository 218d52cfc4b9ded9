package dev.warden.sql;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import net.sf.jsqlparser.expression.Alias;
import net.sf.jsqlparser.expression.AnalyticExpression;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.alter.Alter;
import net.sf.jsqlparser.statement.create.index.CreateIndex;
import net.sf.jsqlparser.statement.create.table.CreateTable;
import net.sf.jsqlparser.statement.create.view.AlterView;
import net.sf.jsqlparser.statement.create.view.CreateView;
import net.sf.jsqlparser.statement.delete.Delete;
import net.sf.jsqlparser.statement.delete.ParenthesedDelete;
import net.sf.jsqlparser.statement.insert.Insert;
import net.sf.jsqlparser.statement.insert.ParenthesedInsert;
import net.sf.jsqlparser.statement.merge.Merge;
import net.sf.jsqlparser.statement.merge.MergeDelete;
import net.sf.jsqlparser.statement.merge.MergeInsert;
import net.sf.jsqlparser.statement.merge.MergeOperation;
import net.sf.jsqlparser.statement.merge.MergeUpdate;
import net.sf.jsqlparser.statement.select.AllColumns;
import net.sf.jsqlparser.statement.select.AllTableColumns;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.WithItem;
import net.sf.jsqlparser.statement.update.ParenthesedUpdate;
import net.sf.jsqlparser.statement.update.Update;
import net.sf.jsqlparser.statement.update.UpdateSet;

/**
 * Facts from a JSqlParser syntax tree.
 *
 * <p>The tree is walked generically, field by field, rather than through JSqlParser's visitor interfaces:
 * JSqlParser has a few hundred node types, and a hand-written visitor that forgets one (a function call inside
 * a window frame, a table inside a lateral VALUES) is a way around a guardrail. A field walk cannot forget a
 * node. The structural meaning the walk needs (which table an UPDATE writes, which columns it sets, whether it
 * has a WHERE) is read from the few DML and DDL node types below.
 */
final class SyntaxTreeFacts {

    /** Names JSqlParser represents as columns although they are values or keywords. */
    private static final Set<String> NOT_COLUMNS = Set.of("true", "false", "null", "default", "current_date",
            "current_time", "current_timestamp", "current_user", "session_user", "user", "localtime",
            "localtimestamp", "current_role", "current_schema", "current_catalog");

    private static final ClassValue<List<Field>> FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> k = type; k != null && k != Object.class; k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    int mod = f.getModifiers();
                    if (Modifier.isStatic(mod) || Modifier.isTransient(mod) || f.getType().isPrimitive()
                            || f.getType() == String.class || f.getType().isEnum()) {
                        continue;
                    }
                    f.setAccessible(true);
                    fields.add(f);
                }
            }
            return List.copyOf(fields);
        }
    };

    private final Statement root;
    private final FactsBuilder out;
    private final Set<Object> writtenTables = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Object> writtenColumns = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<Table> tables = new ArrayList<>();
    private final List<Column> columns = new ArrayList<>();
    private final List<AllColumns> stars = new ArrayList<>();
    private final Set<Object> functionStars = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<String, String> aliases = new HashMap<>();
    /**
     * The Table nodes that name a WITH query in scope where they stand (not a relation). Decided during the walk, by
     * scope: a name a WITH list defines in one subquery, or a FROM item's alias, said nothing of the same name
     * elsewhere, and a helper's pass (a124) hid a blocked table behind {@code EXISTS (WITH t AS (SELECT 1) SELECT 1
     * FROM t)} or {@code FROM orders AS t} in a subquery; {@code WITH orders AS (SELECT * FROM orders)} hid the real
     * orders read inside the WITH query's own body.
     */
    private final Set<Object> cteReferences = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Table nodes that stand for a FROM item already named (FOR UPDATE OF x): an alias or a table read elsewhere. */
    private final Set<Object> qualifierTables = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean sawUpdateOrDelete;
    private boolean allHaveWhere = true;

    private SyntaxTreeFacts(Statement root, FactsBuilder out) {
        this.root = root;
        this.out = out;
    }

    /** Whether JSqlParser's reading of the statement agrees with the kind its leading keywords give. */
    static boolean agrees(Statement st, StatementKind kind) {
        String type = st.getClass().getSimpleName();
        return switch (kind) {
            case SELECT -> st instanceof Select;
            case INSERT -> st instanceof Insert;
            case UPDATE -> st instanceof Update;
            case DELETE -> st instanceof Delete;
            case MERGE -> st instanceof Merge;
            case CREATE -> type.startsWith("Create");
            case ALTER -> type.startsWith("Alter") || type.startsWith("Rename");
            default -> false;
        };
    }

    /** Fills {@code out} (whose kind and object type the lexer has set) from the tree. */
    static void extract(Statement st, FactsBuilder out) {
        new SyntaxTreeFacts(st, out).run();
    }

    private void run() {
        ddlTargets();
        walk();
        for (Table t : tables) {
            if (writtenTables.contains(t)) {
                out.tablesWritten.add(ref(t));
                continue;
            }
            TableRef r = ref(t);
            boolean aliasReference = qualifierTables.contains(t) && r.schema() == null
                    && aliases.containsKey(r.name()) && !r.name().equals(aliases.get(r.name()));
            if (!cteReferences.contains(t) && !aliasReference) {
                out.tablesRead.add(r);
            }
        }
        for (AllColumns star : stars) {
            String qualifier = star instanceof AllTableColumns atc ? qualifier(atc.getTable()) : null;
            out.columnsRead.add(new ColumnRef(qualifier, "*"));
        }
        Map<String, String> tableNames = new HashMap<>();
        for (Table t : tables) {
            tableNames.putIfAbsent(ref(t).name(), ref(t).qualified());
        }
        for (Column c : columns) {
            String name = ident(c.getColumnName());
            if (writtenColumns.contains(c) || (c.getTable() == null && NOT_COLUMNS.contains(name))) {
                continue;
            }
            out.columnsRead.add(new ColumnRef(qualifier(c.getTable()), name));
            if (c.getTable() == null) {
                // A bare alias or table name is a whole-row reference (row_to_json(c), SELECT c FROM t c):
                // it reads every column of that table.
                String whole = aliases.containsKey(name) ? aliases.get(name) : tableNames.get(name);
                if (whole != null) {
                    out.columnsRead.add(new ColumnRef(whole, "*"));
                }
            }
        }
        if (sawUpdateOrDelete) {
            out.hasWhere = allHaveWhere;
        } else if (root instanceof Merge) {
            out.hasWhere = true; // its ON condition chooses the rows, as a WHERE would
        } else if (root instanceof PlainSelect ps) {
            out.hasWhere = ps.getWhere() != null;
        }
    }

    /** The relation a CREATE/ALTER statement defines or changes. */
    private void ddlTargets() {
        if (root instanceof CreateTable ct) {
            writtenTables.add(ct.getTable());
        } else if (root instanceof CreateView cv) {
            writtenTables.add(cv.getView());
        } else if (root instanceof CreateIndex ci) {
            writtenTables.add(ci.getTable());
        } else if (root instanceof Alter a) {
            writtenTables.add(a.getTable());
        } else if (root instanceof AlterView av) {
            writtenTables.add(av.getView());
        }
    }

    /** A node to walk, and the WITH query names in scope where it stands. */
    private record Frame(Object node, Set<String> ctes) {
    }

    private void walk() {
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(root, Set.of()));
        while (!stack.isEmpty()) {
            Frame frame = stack.pop();
            Object node = frame.node();
            Set<String> ctes = frame.ctes();
            if (!seen.add(node)) {
                continue;
            }
            if (node instanceof Table t && ref(t).schema() == null && ctes.contains(ref(t).name())) {
                cteReferences.add(t);
            }
            if (node instanceof Column c) {
                columns.add(c);
                continue; // its Table is a qualifier, not a table read
            }
            if (node instanceof AllColumns star) {
                if (!functionStars.contains(star)) {
                    stars.add(star);
                }
                continue;
            }
            if (node instanceof Function f && f.getParameters() != null) {
                // count(*) counts rows; it reads no column.
                for (Object p : f.getParameters()) {
                    if (p instanceof AllColumns star && !(p instanceof AllTableColumns)) {
                        functionStars.add(star);
                    }
                }
            }
            visit(node);
            // A WITH list's names are in scope in the rest of its statement; each of its queries sees the ones
            // before it (all of them, itself included, with RECURSIVE), as PostgreSQL resolves them.
            List<?> with = withItems(node);
            Set<String> inBody = ctes;
            if (with != null && !with.isEmpty()) {
                boolean recursive = false;
                Set<String> all = new HashSet<>(ctes);
                for (Object item : with) {
                    if (item instanceof WithItem<?> w) {
                        recursive |= w.isRecursive();
                        if (w.getAliasName() != null) {
                            all.add(ident(w.getAliasName()));
                        }
                    }
                }
                Set<String> before = new HashSet<>(ctes);
                for (Object item : with) {
                    push(stack, item, recursive ? all : Set.copyOf(before));
                    if (item instanceof WithItem<?> w && w.getAliasName() != null) {
                        before.add(ident(w.getAliasName()));
                    }
                }
                inBody = all;
            }
            for (Field f : FIELDS.get(node.getClass())) {
                Object value;
                try {
                    value = f.get(node);
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("cannot read " + f, e);
                }
                if (with != null && value == with) {
                    continue;
                }
                if (f.getName().startsWith("forUpdateTable")) {
                    markQualifiers(value);
                }
                push(stack, value, inBody);
            }
        }
    }

    /** The WITH list of a query or a data-modifying statement, or null. */
    private static List<?> withItems(Object node) {
        if (node instanceof net.sf.jsqlparser.statement.select.Select s) {
            return s.getWithItemsList();
        } else if (node instanceof Insert i) {
            return i.getWithItemsList();
        } else if (node instanceof Update u) {
            return u.getWithItemsList();
        } else if (node instanceof Delete d) {
            return d.getWithItemsList();
        } else if (node instanceof Merge m) {
            return m.getWithItemsList();
        }
        return null;
    }

    private void markQualifiers(Object value) {
        if (value instanceof Table t) {
            qualifierTables.add(t);
        } else if (value instanceof Collection<?> items) {
            items.forEach(this::markQualifiers);
        }
    }

    private static void push(Deque<Frame> stack, Object value, Set<String> ctes) {
        if (value == null) {
            return;
        }
        if (value instanceof Collection<?> items) {
            for (Object item : items) {
                push(stack, item, ctes);
            }
        } else if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                push(stack, e.getKey(), ctes);
                push(stack, e.getValue(), ctes);
            }
        } else if (value instanceof Object[] array) {
            for (Object item : array) {
                push(stack, item, ctes);
            }
        } else if (value instanceof Optional<?> opt) {
            opt.ifPresent(v -> push(stack, v, ctes));
        } else {
            String name = value.getClass().getName();
            if (name.startsWith("net.sf.jsqlparser.") && !name.startsWith("net.sf.jsqlparser.parser.")
                    && !value.getClass().isEnum()) {
                stack.push(new Frame(value, ctes));
            }
        }
    }

    private void visit(Object node) {
        if (node instanceof net.sf.jsqlparser.statement.select.Select s && s.getForMode() != null
                && s.getForMode() != net.sf.jsqlparser.statement.select.ForMode.READ_ONLY) {
            // FOR UPDATE / SHARE ...: the rows read are locked, as LOCK locks a table. FOR READ ONLY is gram.y's
            // empty locking clause: it locks nothing (a helper's pass, a139 F1, had it held as a write).
            out.writes = true;
        }
        if (node instanceof Table t) {
            tables.add(t);
            Alias alias = t.getAlias();
            if (alias != null && alias.getName() != null) {
                String a = ident(alias.getName());
                String target = ref(t).qualified();
                String known = aliases.putIfAbsent(a, target);
                if (known != null && !known.equals(target)) {
                    aliases.put(a, a); // ambiguous: leave the qualifier as written
                }
            }
        } else if (node instanceof Function f) {
            String name = functionName(f);
            if (!name.isEmpty()) {
                out.functions.add(name);
            }
        } else if (node instanceof AnalyticExpression a && a.getName() != null) {
            out.functions.add(ident(a.getName()));
        } else if (node instanceof PlainSelect ps && ps.getIntoTables() != null) {
            writtenTables.addAll(ps.getIntoTables());
            out.writes = true;
        } else if (node instanceof Insert i && !(node instanceof ParenthesedInsert)) {
            dml(StatementKind.INSERT, node, i.getTable());
            if (i.getColumns() != null) {
                for (Column c : i.getColumns()) {
                    written(i.getTable(), c);
                }
            }
            if (i.getConflictAction() != null && i.getConflictAction().getUpdateSets() != null) {
                updateSets(i.getTable(), i.getConflictAction().getUpdateSets());
            }
        } else if (node instanceof Update u && !(node instanceof ParenthesedUpdate)) {
            dml(StatementKind.UPDATE, node, u.getTable());
            updateSets(u.getTable(), u.getUpdateSets());
            where(u.getWhere());
        } else if (node instanceof Delete d && !(node instanceof ParenthesedDelete)) {
            dml(StatementKind.DELETE, node, d.getTable());
            if (d.getTables() != null) {
                writtenTables.addAll(d.getTables());
            }
            where(d.getWhere());
        } else if (node instanceof Merge m) {
            dml(StatementKind.MERGE, node, m.getTable());
            if (m.getOperations() != null) {
                for (MergeOperation op : m.getOperations()) {
                    if (op instanceof MergeUpdate mu) {
                        out.innerKinds.add(StatementKind.UPDATE);
                        updateSets(m.getTable(), mu.getUpdateSets());
                    } else if (op instanceof MergeInsert mi) {
                        out.innerKinds.add(StatementKind.INSERT);
                        if (mi.getColumns() != null) {
                            for (Column c : mi.getColumns()) {
                                written(m.getTable(), c);
                            }
                        }
                    } else if (op instanceof MergeDelete) {
                        out.innerKinds.add(StatementKind.DELETE);
                    }
                }
            }
        }
    }

    private void dml(StatementKind kind, Object node, Table target) {
        if (target != null) {
            writtenTables.add(target);
        }
        if (node != root) {
            out.innerKinds.add(kind);
            out.dataModifyingCte = true;
        }
    }

    private void where(Expression where) {
        sawUpdateOrDelete = true;
        allHaveWhere &= where != null;
    }

    private void updateSets(Table target, List<UpdateSet> sets) {
        if (sets == null) {
            return;
        }
        for (UpdateSet set : sets) {
            if (set.getColumns() != null) {
                for (Column c : set.getColumns()) {
                    written(target, c);
                }
            }
        }
    }

    private void written(Table target, Column c) {
        writtenColumns.add(c);
        out.columnsWritten.add(new ColumnRef(target == null ? null : ref(target).qualified(),
                ident(c.getColumnName())));
    }

    /** A column's qualifier with an alias of this statement resolved to its table. */
    private String qualifier(Table t) {
        if (t == null || t.getName() == null) {
            return null;
        }
        String q = ref(t).qualified();
        String resolved = aliases.get(q);
        return resolved != null ? resolved : q;
    }

    static TableRef ref(Table t) {
        String schema = t.getSchemaName();
        return new TableRef(schema == null ? null : ident(schema), ident(t.getName()));
    }

    private static String functionName(Function f) {
        List<String> parts = f.getMultipartName();
        if (parts == null || parts.isEmpty()) {
            return ident(f.getName());
        }
        StringBuilder name = new StringBuilder();
        for (String p : parts) {
            if (name.length() > 0) {
                name.append('.');
            }
            name.append(ident(p));
        }
        return name.toString();
    }

    /**
     * PostgreSQL's folding: quoted identifiers keep their case without quotes, others are folded
     * ({@link Lexer#foldName}); both are cut to the 63 bytes the server keeps ({@link Lexer#truncateName}).
     */
    static String ident(String s) {
        if (s == null) {
            return "";
        }
        if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
            return Lexer.truncateName(s.substring(1, s.length() - 1).replace("\"\"", "\""));
        }
        return Lexer.truncateName(Lexer.foldName(s));
    }
}
