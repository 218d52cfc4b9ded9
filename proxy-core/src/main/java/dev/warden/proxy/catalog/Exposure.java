package dev.warden.proxy.catalog;

import dev.warden.masking.Masker;
import dev.warden.sql.Analysis;
import dev.warden.sql.ColumnRef;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import dev.warden.sql.TableRef;
import dev.warden.sql.TextReferences;

import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a statement could carry a sensitive value to its outputs, decided from two sources: which relations
 * and columns the policy makes sensitive (the catalog's columns judged by the {@link Masker}; a view or
 * materialized view is sensitive when its definition is), and which of them the statement refers to (its
 * names, see {@link TextReferences}, and its parsed reads). Parser failure alone never makes a statement
 * sensitive: only one that names a sensitive relation does.
 *
 * <p>A statement is sensitive when it names a sensitive column (anywhere: select list, WHERE, a function
 * argument, a string handed to {@code query_to_xml}), or names a relation that has one and then either reads
 * it whole ({@code *}, {@code t.*}, a bare alias), renames its columns with an alias list, names it other than
 * as a table it reads (inside a string, as a {@code regclass}), or could not be followed (unparsed, dynamic).
 * Relations of the system catalogs count only where a {@code column:} rule names them (see {@link #isSystem}); a
 * view is judged by its definition, where its own name (a recursive view) adds nothing, and a view another
 * transaction holds exclusively by the relations it depends on (see {@code RelationCatalog}).
 *
 * @param sensitive       whether expression outputs and echoed values must be masked
 * @param derivedColumns  {@code schema.relation.column} (lower case) of sensitive views the statement names:
 *                        their columns carry sensitive values under other names
 * @param sensitiveNames  names of the sensitive columns of the relations the statement names (for
 *                        {@code masking.protect_filters})
 * @param reason          why the statement is sensitive, for logs and refusals; empty when it is not
 */
public record Exposure(boolean sensitive, Set<String> derivedColumns, Set<String> sensitiveNames, String reason,
                       String launders) {

    public static final Exposure NONE = new Exposure(false, Set.of(), Set.of(), "");

    public Exposure {
        derivedColumns = Set.copyOf(derivedColumns);
        sensitiveNames = Set.copyOf(sensitiveNames);
    }

    /** An exposure that writes nothing out of masking's sight. */
    public Exposure(boolean sensitive, Set<String> derivedColumns, Set<String> sensitiveNames, String reason) {
        this(sensitive, derivedColumns, sensitiveNames, reason, "");
    }

    private static final int MAX_VIEW_DEPTH = RelationCatalog.MAX_VIEW_DEPTH;

    /** Views nested deeper than lineage follows: nothing says they are clear. */
    private static final Exposure TOO_DEEP = new Exposure(true, Set.of(), Set.of(), "views nested too deep to follow");

    /**
     * A materialized view whose stored rows may have been computed by something its definition no longer reaches
     * (see {@code RelationCatalog#staleMaterializedViews}): what its definition computes now says nothing of them,
     * so, as {@link #TOO_DEEP}, every column counts as computed from a sensitive value.
     */
    private static Exposure staleRows(RelationCatalog.Relation r) {
        return new Exposure(true, Set.of(), Set.of(), "a materialized view whose stored rows Warden cannot tie to its "
                + "definition now: " + r.staleRows());
    }

    /**
     * The exposure of {@code analysis}; for a sensitive statement that writes, the columns of the relations it
     * writes are derived too (RETURNING hands back what was written from a sensitive read), and
     * {@link #launders()} names a written relation with no sensitive column (a copy of sensitive values under
     * clear names, readable later without masking), or is empty. Views and materialized views are exempt from
     * the latter: reading them is judged by their definitions.
     */
    static Exposure of(Analysis analysis, Masker masker, RelationCatalog catalog) {
        Exposure e = of(analysis.statements(), masker, catalog, List.of());
        String schema = renamedRuleSchema(analysis, masker);
        if (schema != null) {
            return new Exposure(true, e.derivedColumns(), e.sensitiveNames(), "it renames the schema " + schema,
                    "the relations of the schema " + schema + " under a schema name no rule masks (ALTER SCHEMA ... "
                    + "RENAME)");
        }
        for (StatementFacts top : analysis.statements()) {
            String generated = top.kind() == StatementKind.CREATE ? generatedFromMasked(top, masker) : null;
            if (generated != null) {
                // Nothing is in the table yet, so the CREATE reads nothing sensitive; but what is later copied into
                // the masked column is computed into the clear one (an attacker's pass read the e-mails so).
                return new Exposure(true, e.derivedColumns(), e.sensitiveNames(), "it computes a column from a "
                        + "masked one", generated + ", a generated column no rule masks, computed from a masked column");
            }
            String copied = top.kind() == StatementKind.CREATE ? builtInTriggerOverMasked(top, masker, catalog) : null;
            if (copied != null) {
                // A built-in trigger function has no body to judge: tsvector_update_trigger(tv, cfg, email) copied
                // the masked column into a clear tsvector of the same row at every INSERT (an attacker's pass).
                return new Exposure(true, e.derivedColumns(), e.sensitiveNames(), "it makes a built-in trigger "
                        + "function hand on a masked column", copied);
            }
            String catalogWritten = masker.identifiesSensitiveColumns() ? systemCatalogWritten(top, catalog) : null;
            if (catalogWritten != null) {
                // Only a superuser login can; UPDATE pg_attribute renamed a masked column under Warden in an
                // attacker's pass (with the baseline's system-catalog-write rule off, as masking does not rely on it).
                return new Exposure(true, e.derivedColumns(), e.sensitiveNames(), "it writes the system catalog "
                        + catalogWritten, "the system catalog " + catalogWritten + ", which holds the column names and "
                        + "function bodies masking judges by");
            }
            if (top.kind() == StatementKind.ALTER && masker.identifiesSensitiveColumns()
                    && TextReferences.renamesTypedTablesColumns(top.text())) {
                // The tables made OF the type are not in the text, nor in what the catalog reads for it: an attacker's
                // pass copied e-mails into such a table's email column, renamed it through the type, and read it.
                return new Exposure(true, e.derivedColumns(), e.sensitiveNames(), "it renames the columns of the "
                        + "tables of a type", "the tables made OF the type, under column names no rule masks (ALTER "
                        + "TYPE ... RENAME ATTRIBUTE ... CASCADE)");
            }
        }
        return e.sensitive() ? withWritesOf(analysis, e, masker, catalog) : e;
    }

    /**
     * {@link #of(Analysis, Masker, RelationCatalog)} for statements that meet sensitive values no name of theirs
     * says: sensitive for {@code reason}, and what they write judged as a sensitive statement's writes.
     */
    static Exposure assumingSensitive(Analysis analysis, Masker masker, RelationCatalog catalog, String reason) {
        Exposure e = of(analysis.statements(), masker, catalog, List.of());
        return withWritesOf(analysis, new Exposure(true, e.derivedColumns(), e.sensitiveNames(),
                e.sensitive() ? e.reason() : reason), masker, catalog);
    }

    /** Sensitive {@code e}, with the columns {@code analysis} writes derived and what it launders (see above). */
    private static Exposure withWritesOf(Analysis analysis, Exposure e, Masker masker, RelationCatalog catalog) {
        Set<String> derived = new LinkedHashSet<>(e.derivedColumns());
        String launders = "";
        for (StatementFacts top : analysis.statements()) {
            boolean definesView = top.objectType().endsWith("VIEW");
            if (launders.isEmpty() && definesTriggerFunction(top)) {
                // Its body runs later on behalf of a write that names only the firing table (NEW.v := (SELECT
                // email ...)), so what it reads lands in that table under a clear name.
                launders = "a trigger function, which hands what it reads to the rows of the table that fires it";
            }
            for (StatementFacts f : top.allStatements()) {
                TableRef sequence = launders.isEmpty() ? sequenceWritten(f, catalog) : null;
                if (sequence != null && setsSequenceFromSensitive(top, e.sensitiveNames())) {
                    // setval stores the value it is given, which currval and last_value return in clear; it may
                    // reach setval through a function's parameter, or come from a function's body (a body's
                    // SELECT setval($1, $2) too, though a body's other SELECTs only assign variables).
                    launders = (sequence.equals(TableRef.ANY_RELATION) ? "a sequence named at run time"
                            : sequence.qualified()) + " through setval, whose value currval and last_value return "
                            + "in clear";
                }
                boolean storesInCte = storesThroughCte(f);
                if (f != top && f.kind() == StatementKind.SELECT && !storesInCte) {
                    // SELECT ... INTO in a PL/pgSQL body assigns a variable; one whose WITH query inserts or updates
                    // stores rows (a helper's pass, a134 F0b: a body's WITH ... INSERT copied whole rows into a table
                    // with no masked column).
                    continue;
                }
                if (f.kind() == StatementKind.ALTER && launders.isEmpty() && movesUnderClearName(f)) {
                    // The values stay in a table with masked columns, but in a column no rule masks: renamed
                    // (email -> contact), generated from one, or computed by USING or a function.
                    String relation = f.tablesWritten().isEmpty() ? "the relation it alters"
                            : f.tablesWritten().iterator().next().qualified();
                    launders = TextReferences.relocation(f.text()).isPresent()
                            ? relation + " under a relation or schema name no rule masks (RENAME TO, SET SCHEMA)"
                            : relation + " under a column name no rule masks (ALTER ... RENAME, GENERATED, SET "
                            + "EXPRESSION, USING or a function)";
                    continue;
                }
                if (!copiesValues(f)) {
                    continue; // DDL on a relation (an index, ALTER, LOCK...) moves no value into it
                }
                for (TableRef t : f.tablesWritten()) {
                    List<RelationCatalog.Relation> written = catalog.named(t.name());
                    if (isSequence(t, written)) {
                        continue; // nextval moves a counter and stores nothing; setval: see above
                    }
                    boolean anySensitive = false;
                    for (RelationCatalog.Relation r : written) {
                        for (RelationCatalog.Column c : r.columns()) {
                            derived.add((r.schema() + "." + r.name() + "." + c.name()).toLowerCase(Locale.ROOT));
                            anySensitive |= masks(masker, r, c);
                        }
                    }
                    if (!anySensitive && !definesView && launders.isEmpty()) {
                        launders = t.qualified() + ", which has no masked column";
                    }
                    String clear = !anySensitive || definesView || !launders.isEmpty() ? null
                            : STORES_ROWS.contains(f.kind()) ? clearColumnStoring(f, written, masker,
                            e.sensitiveNames(), catalog)
                            : storesInCte ? anyColumnWrittenUnmasked(f, written, masker) : null;
                    if (clear != null) {
                        launders = clear;
                    }
                    String shown = anySensitive && !definesView && launders.isEmpty()
                            && STORES_ROWS.contains(f.kind()) ? computedIntoPartShown(f, written, masker, e, catalog)
                            : null;
                    if (shown != null) {
                        launders = shown + ", whose masking strategy tells something of what is stored there (a value "
                                + "computed from a sensitive read)";
                    }
                }
            }
        }
        return new Exposure(true, derived, e.sensitiveNames(), e.reason(), launders);
    }

    /**
     * A column of a written table masked with a strategy that tells something of the value (email keeps the
     * domain, partial the last characters, hash and tokenize give equal values equal tokens) which {@code f} gives a value computed from a sensitive read: the computation
     * chooses what lands in the part shown ({@code SET email = 'a@' || translate(email, '@', '-')} shows the
     * whole address after the @). A copy as it is (the name itself, lower, upper, trim) is not, when every column of
     * that name the statement reads or writes is masked as the one stored into ({@link #copyKeepsMasking}). When
     * which value lands where is not read (a MERGE, whole rows, a subquery in FROM, a view's computed column), every
     * such column it writes counts. Null when none.
     */
    private static String computedIntoPartShown(StatementFacts f, List<RelationCatalog.Relation> written,
                                                Masker masker, Exposure read, RelationCatalog catalog) {
        Carried carried = carried(f, read.sensitiveNames());
        if (carried == Carried.NOTHING) {
            return null;
        }
        Set<String> writtenNames = new HashSet<>();
        for (ColumnRef c : f.columnsWritten()) {
            writtenNames.add(c.column().toLowerCase(Locale.ROOT));
        }
        boolean unread = carried == Carried.UNREAD || f.kind() == StatementKind.MERGE
                || dev.warden.masking.MaskContext.anyComputed(read.derivedColumns());
        for (RelationCatalog.Relation r : written) {
            if (r.isView()) {
                continue;
            }
            java.util.Map<String, Boolean> computed = unread ? null : TextReferences.computedValueStores(f.text(),
                    read.sensitiveNames(), r.columns().stream().map(RelationCatalog.Column::name).toList(),
                    (column, source) -> copyKeepsMasking(f, r, written, column, source, masker, catalog));
            for (RelationCatalog.Column c : r.columns()) {
                String name = c.name().toLowerCase(Locale.ROOT);
                boolean given = computed == null ? writtenNames.isEmpty() || writtenNames.contains(name)
                        : computed.entrySet().stream().anyMatch(x -> x.getValue() && x.getKey().equalsIgnoreCase(name));
                if (given && showsPart(masker, r, c)) {
                    return r.schema() + "." + r.name() + "." + c.name();
                }
            }
        }
        return null;
    }

    /**
     * Whether a copy as it is of the column named {@code source} into {@code r}'s column {@code column} shows there no
     * more than where it is read: every column named {@code source} of the relations {@code f} reads or writes (the
     * name alone does not say which of them it is) is masked as {@code column} is, kin included. Masked otherwise, the
     * value may be anything: a redacted column (an ssn) shows nothing of what it holds, so a value computed from a
     * sensitive read may be stored there, and copied on into an email column it showed whole after the {@code @}
     * (an attacker's pass of 2026-12-05); an SSN copied as it is into a phone column (partial) showed its last digits.
     * False when no such column is known.
     */
    private static boolean copyKeepsMasking(StatementFacts f, RelationCatalog.Relation r,
                                            List<RelationCatalog.Relation> written, String column, String source,
                                            Masker masker, RelationCatalog catalog) {
        RelationCatalog.Column into = columnNamed(r, column);
        if (into == null) {
            return false;
        }
        List<RelationCatalog.Relation> candidates = new java.util.ArrayList<>(written);
        for (TableRef t : f.tablesRead()) {
            if (!t.equals(TableRef.ANY_RELATION)) {
                candidates.addAll(catalog.named(t.name()));
            }
        }
        boolean found = false;
        for (RelationCatalog.Relation s : candidates) {
            RelationCatalog.Column from = columnNamed(s, source);
            if (from == null) {
                continue;
            }
            found = true;
            if (!maskedAlike(masker, s, from, r, into)) {
                return false;
            }
        }
        return found;
    }

    private static RelationCatalog.Column columnNamed(RelationCatalog.Relation r, String name) {
        for (RelationCatalog.Column c : r.columns()) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return null;
    }

    /** Whether {@code a}'s column {@code ac} and {@code b}'s {@code bc} are masked alike, under every kin's name too. */
    private static boolean maskedAlike(Masker masker, RelationCatalog.Relation a, RelationCatalog.Column ac,
                                       RelationCatalog.Relation b, RelationCatalog.Column bc) {
        List<RelationCatalog.Kin> as = new java.util.ArrayList<>(a.kin());
        as.add(new RelationCatalog.Kin(a.schema(), a.name()));
        List<RelationCatalog.Kin> bs = new java.util.ArrayList<>(b.kin());
        bs.add(new RelationCatalog.Kin(b.schema(), b.name()));
        for (RelationCatalog.Kin x : as) {
            for (RelationCatalog.Kin y : bs) {
                if (!masker.masksAlike(x.schema(), x.name(), ac.name(), ac.typeOid(), y.schema(), y.name(), bc.name(),
                        bc.typeOid())) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether a write's values may carry a sensitive value, and whether its text shows which values do. */
    private enum Carried { NOTHING, IN_TEXT, UNREAD }

    /**
     * {@code UNREAD} when {@code f} reads whole rows, gives what it reads a column list of other names (an alias's or
     * a WITH query's: {@code SELECT i, x FROM customers AS u(i, n, x)} read the SSNs as {@code x}, which no sensitive
     * name in the text said, and stored them in clear; a helper's attacker pass), or a function it calls reads a
     * sensitive value (its body's result lands wherever the call stands: VALUES (10, f()), SET note = f());
     * {@code IN_TEXT} when its own text uses a sensitive name as a value ({@link TextReferences#valueUse});
     * {@code NOTHING} otherwise. Asked only of a statement that reads something sensitive.
     */
    private static Carried carried(StatementFacts f, Set<String> sensitiveNames) {
        for (StatementFacts s : f.allStatements()) {
            for (ColumnRef c : s.columnsRead()) {
                if (c.column().equals("*")) {
                    return Carried.UNREAD;
                }
            }
            if (s.unparsed() || s.dynamicSql() || TextReferences.renamesColumns(s.text())
                    || TextReferences.readsWholeTable(s.text())) {
                return Carried.UNREAD; // unparsed: INSERT INTO t TABLE customers read nothing by name (a helper's pass)
            }
            if (s != f && TextReferences.valueUse(s.text(), sensitiveNames).isPresent()) {
                return Carried.UNREAD;
            }
        }
        return TextReferences.valueUse(f.text(), sensitiveNames).isPresent() ? Carried.IN_TEXT : Carried.NOTHING;
    }

    private static boolean showsPart(Masker masker, RelationCatalog.Relation r, RelationCatalog.Column c) {
        if (masker.revealsPartOfSourceColumn(r.schema(), r.name(), c.name(), c.typeOid())) {
            return true;
        }
        for (RelationCatalog.Kin k : r.kin()) {
            if (masker.revealsPartOfSourceColumn(k.schema(), k.name(), c.name(), c.typeOid())) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code t}, written as {@code written} in the catalog, is a sequence (nextval, setval). */
    private static boolean isSequence(TableRef t, List<RelationCatalog.Relation> written) {
        return t.equals(TableRef.ANY_RELATION)
                || (!written.isEmpty() && written.stream().allMatch(RelationCatalog.Relation::isSequence));
    }

    /** The first sequence {@code f} writes (nextval, setval), or null. */
    private static TableRef sequenceWritten(StatementFacts f, RelationCatalog catalog) {
        for (TableRef t : f.tablesWritten()) {
            if (isSequence(t, t.equals(TableRef.ANY_RELATION) ? List.of() : catalog.named(t.name()))) {
                return t;
            }
        }
        return null;
    }

    /**
     * Whether {@code top} calls setval where its value may come from a sensitive column: its text or the body of
     * a function it calls names one (in any clause: a setval in a WHERE stores as well; a function's parameter
     * carries what the call gives it, a function's result what its body reads), reads whole rows, or the sensitive
     * names are not known.
     */
    private static boolean setsSequenceFromSensitive(StatementFacts top, Set<String> sensitiveNames) {
        Set<String> names = new java.util.HashSet<>();
        boolean wholeRows = false;
        for (StatementFacts s : top.allStatements()) {
            names.addAll(TextReferences.names(s.text()));
            for (ColumnRef c : s.columnsRead()) {
                wholeRows |= c.column().equals("*");
            }
        }
        if (!names.contains("setval")) {
            return false;
        }
        if (wholeRows) {
            return true;
        }
        if (sensitiveNames.isEmpty()) {
            return true;
        }
        for (String name : sensitiveNames) {
            if (names.contains(name) || names.contains(name.toLowerCase(Locale.ROOT))) {
                return true;
            }
        }
        return false;
    }

    /** @param path the views whose definitions are being judged, outermost first (empty for a statement) */
    private static Exposure of(List<StatementFacts> statements, Masker masker, RelationCatalog catalog,
                               List<String> path) {
        Set<String> names = new LinkedHashSet<>();
        boolean unfollowed = false;
        boolean wholeRows = false;
        Set<String> readAsTables = new HashSet<>();
        for (StatementFacts top : statements) {
            for (StatementFacts f : top.allStatements()) {
                names.addAll(catalog.names(f.text()));
                unfollowed |= f.unparsed() || f.dynamicSql() || f.kind() == StatementKind.DO
                        || f.kind() == StatementKind.OTHER;
                for (ColumnRef c : f.columnsRead()) {
                    wholeRows |= c.column().equals("*");
                }
                wholeRows |= TextReferences.readsWholeTable(f.text()); // (TABLE customers) t: a fifth helper's pass
                for (TableRef t : f.tablesRead()) {
                    readAsTables.add(t.name());
                }
                for (TableRef t : f.tablesWritten()) {
                    readAsTables.add(t.name());
                }
            }
        }
        for (String name : names) {
            if (!catalog.known(name)) {
                // The catalog could not be read (or the view nesting is too deep): nothing says it is clear.
                // Every column counts as derived: a view's column read through a name not looked up (a prepared
                // statement judged again after DDL) carries what its unknown definition computes.
                return new Exposure(true, Set.of(dev.warden.masking.MaskContext.EVERY_COLUMN), Set.of(),
                        "Warden could not look up the name \"" + name + "\" in the catalog");
            }
        }
        Set<String> sensitiveNames = new LinkedHashSet<>();
        Set<String> sensitiveRelations = new LinkedHashSet<>();
        Set<String> sensitiveColumns = new HashSet<>(); // every column of those relations, lower-case
        Set<String> derived = new LinkedHashSet<>();
        // For the reason: the relation each sensitive name and relation was found in, and why a view is.
        java.util.Map<String, String> found = new java.util.HashMap<>();
        // A view whose definition computes over sensitive values beyond passing columns through (in its WHERE, a
        // join, a function it calls, a computed column): what the server raises there reaches a statement that
        // names none of its sensitive columns.
        String evaluatesSensitive = null;
        for (String name : names) {
            for (RelationCatalog.Relation r : catalog.named(name)) {
                Set<String> sampled = SAMPLED_VALUES.getOrDefault(r.schema() + "." + r.name(), Set.of());
                if (!sampled.isEmpty() && !statisticsSampleSensitive(masker, catalog.unfiltered())) {
                    sampled = Set.of();
                }
                if (SESSION_NAMED_BY_VALUES.containsKey(r.schema() + "." + r.name())) {
                    sampled = SESSION_NAMED_BY_VALUES.get(r.schema() + "." + r.name());
                } else if (countsActivity(r)) {
                    sampled = counters(r);
                }
                if (isSystem(r) && sampled.isEmpty() && !masker.namesRelation(r.schema(), r.name())) {
                    continue;
                }
                String where = r.schema() + "." + r.name();
                if (r.isView() && path.contains(where)) {
                    // A view naming itself (a recursive view, its own name in a string): what it yields is what
                    // the rest of its definition, judged now, computes.
                    continue;
                }
                boolean any = false;
                Exposure view = null;
                if (r.isView() && sampled.isEmpty()) {
                    // A statistics view is judged by its sampled columns alone: its definition (CASE over
                    // pg_statistic's slots) would make every statistic (n_distinct, correlation) sensitive.
                    List<String> deeper = new java.util.ArrayList<>(path);
                    deeper.add(where);
                    view = path.size() >= MAX_VIEW_DEPTH ? TOO_DEEP
                            : r.staleRows() != null ? staleRows(r)
                            : of(catalog.viewRuns(r), masker, catalog.unfiltered(), deeper);
                }
                boolean everyColumn = view == TOO_DEEP || (view != null && r.staleRows() != null);
                if (view != null && view.sensitive()) {
                    where += everyColumn && view != TOO_DEEP ? ", " + view.reason()
                            : ", a view whose definition is sensitive: " + view.reason();
                    for (RelationCatalog.Column c : r.columns()) {
                        if (everyColumn || carriesSensitive(c, masker, catalog.unfiltered())) {
                            String q = (r.schema() + "." + r.name() + "." + c.name()).toLowerCase(Locale.ROOT);
                            derived.add(q);
                            if (everyColumn || !passedThrough(c, catalog.unfiltered())) {
                                derived.add(dev.warden.masking.MaskContext.computed(q));
                            }
                            sensitiveNames.add(c.name());
                            found.putIfAbsent(c.name().toLowerCase(Locale.ROOT), where);
                            any = true;
                        }
                    }
                    if (evaluatesSensitive == null && (!any || evaluatesBeyondItsColumns(r, view, masker,
                            catalog.unfiltered()))) {
                        evaluatesSensitive = where;
                    }
                }
                for (RelationCatalog.Column c : r.columns()) {
                    if (sampled.contains(c.name())) {
                        derived.add((r.schema() + "." + r.name() + "." + c.name()).toLowerCase(Locale.ROOT));
                    }
                    if (maskedByKin(masker, r, c) || generatedFromMasked(masker, r, c)) {
                        // Masked by a rule on a table of its inheritance tree, or computed from a masked column,
                        // not by its own name: its values are masked where they come from this relation.
                        derived.add((r.schema() + "." + r.name() + "." + c.name()).toLowerCase(Locale.ROOT));
                    }
                    if (sampled.contains(c.name()) || masks(masker, r, c)) {
                        sensitiveNames.add(c.name());
                        found.putIfAbsent(c.name().toLowerCase(Locale.ROOT), where);
                        any = true;
                    }
                }
                if (any) {
                    sensitiveRelations.add(r.name());
                    found.putIfAbsent(" " + r.name(), where);
                    for (RelationCatalog.Column c : r.columns()) {
                        sensitiveColumns.add(c.name().toLowerCase(Locale.ROOT));
                    }
                }
            }
        }
        Set<String> lowerSensitive = new HashSet<>();
        sensitiveNames.forEach(n -> lowerSensitive.add(n.toLowerCase(Locale.ROOT)));
        Set<String> filterNames = new LinkedHashSet<>(sensitiveNames);
        filterNames.addAll(lowerSensitive);
        for (StatementFacts top : statements) {
            for (StatementFacts f : top.allStatements()) {
                // A bare relation or alias in a filter compares whole rows (row_to_json(c)::text LIKE ...).
                filterNames.addAll(TextReferences.aliasesOf(f.text(), sensitiveRelations));
            }
        }
        for (String n : names) {
            if (sensitiveNames.contains(n) || lowerSensitive.contains(n)) {
                return new Exposure(true, derived, filterNames, "it names the sensitive column " + n + " (of "
                        + found.get(n.toLowerCase(Locale.ROOT)) + ")");
            }
        }
        if (evaluatesSensitive != null) {
            // Sensitive for what it raises (a cast error in the view's WHERE quotes the value it computed; a helper's
            // pass, a134 F8, read every customer so); its clear columns stay clear.
            return new Exposure(true, derived, filterNames, "it reads " + evaluatesSensitive + ", evaluated over "
                    + "every row it reads");
        }
        if (sensitiveRelations.isEmpty()) {
            return new Exposure(false, derived, filterNames, "");
        }
        String first = sensitiveRelations.iterator().next();
        String relation = first + " (" + found.get(" " + first) + ")";
        if (unfollowed) {
            return new Exposure(true, derived, filterNames, "Warden cannot follow a statement over " + relation);
        }
        if (wholeRows) {
            return new Exposure(true, derived, filterNames, "it reads whole rows of " + relation);
        }
        for (StatementFacts top : statements) {
            for (StatementFacts f : top.allStatements()) {
                Set<String> joined = TextReferences.joinAliases(f.text(), sensitiveRelations);
                if (!joined.isEmpty()) {
                    return new Exposure(true, derived, filterNames, "it names the join " + joined.iterator().next()
                            + " over " + relation + ", whose whole rows no column name shows");
                }
                java.util.Optional<String> call = TextReferences.callOnRow(f.text(),
                        TextReferences.aliasesOf(f.text(), sensitiveRelations), sensitiveColumns);
                if (call.isPresent()) {
                    return new Exposure(true, derived, filterNames, "it names " + call.get() + ", which is no "
                            + "column of " + relation + ": a call of a function on its whole rows");
                }
            }
        }
        for (String r : sensitiveRelations) {
            if (!readAsTables.contains(r)) {
                return new Exposure(true, derived, filterNames, "it names " + r + " other than as a table it reads");
            }
        }
        for (StatementFacts top : statements) {
            for (StatementFacts f : top.allStatements()) {
                String moved = f.kind() == StatementKind.ALTER ? movedOutOfRules(f, names, masker, catalog) : null;
                if (moved != null) {
                    return new Exposure(true, derived, filterNames, "it renames or moves " + moved + ", whose "
                            + "masked columns the policy names where it is now");
                }
                Set<String> renamed = TextReferences.renamedRelations(f.text(), sensitiveRelations);
                if (!renamed.isEmpty()) {
                    return new Exposure(true, derived, filterNames, "it renames the columns of "
                            + renamed.iterator().next());
                }
            }
        }
        return new Exposure(false, derived, filterNames, "");
    }

    /**
     * A relation of pg_catalog that {@code top} (its nested statements, function bodies included) writes, qualified,
     * or null: named so, or unqualified where the catalog knows one of that name in pg_catalog, or beginning with
     * {@code pg_} where it knows none (the server searches pg_catalog first unless a search_path names it later).
     */
    private static String systemCatalogWritten(StatementFacts top, RelationCatalog catalog) {
        for (StatementFacts f : top.allStatements()) {
            if (!dev.warden.proxy.guardrails.Guardrails.STORES_ROWS.contains(f.kind())
                    || dev.warden.proxy.guardrails.Guardrails.onlyPlannerEstimates(f)) {
                continue; // VACUUM FULL, REINDEX, LOCK ... of the catalogs change no value in them
            }
            for (TableRef t : f.tablesWritten()) {
                String written = catalogWrittenAs(t, catalog, 0);
                if (written != null) {
                    return written;
                }
            }
        }
        return null;
    }

    /**
     * The catalog relation a write of {@code t} writes: {@code t}, or a relation the definition of a view of its name
     * reads (an automatically updatable view writes it: an attacker's pass renamed a masked column through a view
     * over pg_attribute), views followed as deep as lineage follows them; null when none.
     */
    private static String catalogWrittenAs(TableRef t, RelationCatalog catalog, int depth) {
        if (t.equals(TableRef.ANY_RELATION) || t.name().equals("*")) {
            return null; // schema.*: maintenance of every table of a schema
        }
        if (t.schema() != null && (t.schema().equals("pg_catalog") || t.schema().equals("pg_toast"))) {
            return t.qualified(); // pg_toast: the catalogs' long values (a function's body)
        }
        List<RelationCatalog.Relation> named = catalog.named(t.name());
        if (t.schema() == null && (named.isEmpty() ? t.name().startsWith("pg_")
                : named.stream().anyMatch(r -> r.schema().equals("pg_catalog")))) {
            return "pg_catalog." + t.name();
        }
        if (depth >= MAX_VIEW_DEPTH) {
            return null;
        }
        for (RelationCatalog.Relation r : named) {
            if (t.schema() != null && !t.schema().equals(r.schema())) {
                continue;
            }
            for (StatementFacts definition : r.definitionFacts()) {
                for (StatementFacts f : definition.allStatements()) {
                    for (TableRef read : f.tablesRead()) {
                        String written = catalogWrittenAs(read, catalog, depth + 1);
                        if (written != null) {
                            return written;
                        }
                    }
                }
            }
        }
        return null;
    }

    /**
     * Whether the relation is a system catalog: its columns are the server's own (a {@code passwd} of
     * {@code pg_user}, an {@code address} of {@code pg_hba_file_rules} hold no row of the policy's data), and its
     * views wrap set-returning functions of the same name, which lineage cannot see through. It carries a
     * sensitive value only where a {@code column:} rule names it ({@link Masker#namesRelation}); value detection
     * still scans what it returns.
     */
    static boolean isSystem(RelationCatalog.Relation r) {
        return SYSTEM_SCHEMAS.contains(r.schema());
    }

    private static final Set<String> SYSTEM_SCHEMAS = Set.of("pg_catalog", "information_schema", "pg_toast");

    /**
     * Columns of the planner's statistics computed from the values of user tables' columns (of sensitive columns,
     * of expression indexes and extended statistics over them, after ANALYZE), not the server's own data: masked as
     * sensitive columns wherever a statement names them. Which table a row describes is not known to a column-wise
     * mask, so they are masked for every table. Not only the sampled values themselves (most common values,
     * histograms, PostgreSQL 17's range histograms): a masked identity may store any value computed from a sensitive
     * read in a redacted column, so every number the server derives from the stored values can spell one (an
     * attacker's pass read 200 customers from {@code range_bounds_histogram} of {@code int4range(ssn_as_int, ...)};
     * {@code elem_count_histogram} gives array lengths, a one-row table's {@code avg_width} the length of a value it
     * chose, {@code n_distinct}, {@code correlation} and the frequencies which stored values are equal or in order).
     * Kept: the names of what is described, {@code inherited}, and a column's {@code null_frac} (a masked value
     * stays NULL where it is NULL, so the fraction tells nothing a read does not); an expression's null fraction is
     * the expression's, computed by the server, and masked.
     */
    static final java.util.Map<String, Set<String>> SAMPLED_VALUES = java.util.Map.of(
            "pg_catalog.pg_stats", Set.of("avg_width", "n_distinct", "most_common_vals", "most_common_freqs",
                    "histogram_bounds", "correlation", "most_common_elems", "most_common_elem_freqs",
                    "elem_count_histogram", "range_length_histogram", "range_empty_frac", "range_bounds_histogram"),
            "pg_catalog.pg_stats_ext", Set.of("n_distinct", "dependencies", "most_common_vals",
                    "most_common_val_nulls", "most_common_freqs", "most_common_base_freqs"),
            "pg_catalog.pg_stats_ext_exprs", Set.of("null_frac", "avg_width", "n_distinct", "most_common_vals",
                    "most_common_freqs", "histogram_bounds", "correlation", "most_common_elems",
                    "most_common_elem_freqs", "elem_count_histogram", "range_length_histogram", "range_empty_frac",
                    "range_bounds_histogram"),
            "pg_catalog.pg_statistic", Set.of("stawidth", "stadistinct", "stanumbers1", "stanumbers2", "stanumbers3",
                    "stanumbers4", "stanumbers5", "stavalues1", "stavalues2", "stavalues3", "stavalues4", "stavalues5"),
            "pg_catalog.pg_statistic_ext_data", Set.of("stxdndistinct", "stxddependencies", "stxdmcv", "stxdexpr"));

    /**
     * Columns of the session's own views that a statement may have set to any value, with no result masking on the
     * way: PL/pgSQL's OPEN names its portal by the refcursor variable's value ({@code c := email; OPEN c FOR ...}),
     * and the portal lives on in {@code pg_cursors} to the end of the transaction. Masked as sampled values are,
     * whatever the policy samples, so {@code SELECT name FROM pg_cursors} shows no name (the views' functions,
     * {@code pg_cursor()} and {@code pg_prepared_statement()}, are judged sensitive where they are called).
     */
    static final java.util.Map<String, Set<String>> SESSION_NAMED_BY_VALUES = java.util.Map.of(
            "pg_catalog.pg_cursors", Set.of("name", "statement"),
            "pg_catalog.pg_prepared_statements", Set.of("name", "statement"));

    /**
     * Whether {@code r} is a view of the server's cumulative activity counters ({@code pg_stat_xact_user_tables},
     * {@code pg_stat_user_tables}, {@code pg_statio_*}, {@code pg_stat_database}, {@code pg_stat_wal},
     * {@code pg_stat_io}, {@code pg_stat_statements}...): a statement over sensitive values may move one as many
     * times as a value says ({@code CASE WHEN <bit> THEN (SELECT count(*) FROM (SELECT 1 FROM orders LIMIT 64) s)
     * END}), and a later read returned the count in clear (a helper's pass, a140 F9: two SSN digits a statement).
     * Their counts are masked like sampled values; the names of what they count are kept. The views of sessions
     * and their progress (what runs now, not how often) are not counters.
     */
    static boolean countsActivity(RelationCatalog.Relation r) {
        String n = r.name();
        if (n.equals("pg_stat_statements") || n.equals("pg_stat_statements_info")) {
            return true;
        }
        return r.schema().equals("pg_catalog") && (n.startsWith("pg_stat_") || n.startsWith("pg_statio_"))
                && !NOT_COUNTERS.contains(n) && !n.startsWith("pg_stat_progress_");
    }

    private static final Set<String> NOT_COUNTERS = Set.of("pg_stat_activity", "pg_stat_replication",
            "pg_stat_ssl", "pg_stat_gssapi", "pg_stat_wal_receiver", "pg_stat_subscription", "pg_stat_recovery_prefetch",
            "pg_stat_replication_slots");

    /** What a counters view names rather than counts: kept in clear. */
    private static final Set<String> COUNTED_NAMES = Set.of("relid", "indexrelid", "funcid", "schemaname",
            "relname", "indexrelname", "funcname", "datid", "datname", "userid", "dbid", "toplevel", "queryid",
            "query", "backend_type", "object", "context", "name", "slot_name", "subid", "subname", "stats_reset");

    private static Set<String> counters(RelationCatalog.Relation r) {
        Set<String> out = new HashSet<>();
        for (RelationCatalog.Column c : r.columns()) {
            if (!COUNTED_NAMES.contains(c.name())) {
                out.add(c.name());
            }
        }
        return out;
    }

    /**
     * Whether the statistics hold samples of a sensitive column: a relation they sample (its own statistics, an
     * expression index's, extended statistics) has a column the policy masks; also when that cannot be read.
     * Judged per relation, not per column: an index expression or extended statistics over a sensitive column
     * are stored under other names.
     */
    private static boolean statisticsSampleSensitive(Masker masker, RelationCatalog catalog) {
        if (!catalog.known(RelationCatalog.SAMPLED)) {
            return true;
        }
        for (RelationCatalog.Relation r : catalog.named(RelationCatalog.SAMPLED)) {
            for (RelationCatalog.Column c : r.columns()) {
                if (masks(masker, r, c)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** CREATE FUNCTION ... RETURNS trigger (or event_trigger): a body that runs inside other statements' writes. */
    static boolean definesTriggerFunction(StatementFacts f) {
        return f.kind() == StatementKind.CREATE && f.objectType().equals("FUNCTION")
                && TextReferences.returnsTrigger(f.text());
    }

    private static final java.util.regex.Pattern USING = java.util.regex.Pattern.compile("(?i)\\busing\\b");

    /** A word anywhere in the text (a string or a comment too: more, never less). */
    private static final java.util.regex.Pattern RENAME_OR_GENERATED =
            java.util.regex.Pattern.compile("(?i)\\b(rename|generated|expression)\\b");

    /**
     * The relation an ALTER renames ({@code RENAME TO}) or moves ({@code SET SCHEMA}) that has a column the policy
     * masks where it is and would not where it goes: a {@code column:} rule names its table and schema, so
     * the values would leave it; or takes out of an inheritance tree ({@code DETACH PARTITION}, {@code NO
     * INHERIT}) while a rule on its kin masks one of its columns. Null when none (a column masked by its name stays
     * masked).
     */
    private static String movedOutOfRules(StatementFacts f, Set<String> names, Masker masker, RelationCatalog catalog) {
        if (TextReferences.leavesTree(f.text())) {
            // DETACH PARTITION, NO INHERIT: a table masked by its kin's rule would be masked by none.
            for (String name : names) {
                for (RelationCatalog.Relation r : catalog.named(name)) {
                    for (RelationCatalog.Column c : r.columns()) {
                        if (maskedByKin(masker, r, c)
                                && !masker.masksSourceColumn(r.schema(), r.name(), c.name(), c.typeOid())) {
                            return r.schema() + "." + r.name();
                        }
                    }
                }
            }
        }
        Optional<TextReferences.Relocation> to = TextReferences.relocation(f.text());
        if (to.isEmpty()) {
            return null;
        }
        for (String name : names) {
            for (RelationCatalog.Relation r : catalog.named(name)) {
                String schema = to.get().schema() != null ? to.get().schema() : r.schema();
                String table = to.get().name() != null ? to.get().name() : r.name();
                for (RelationCatalog.Column c : r.columns()) {
                    if (masks(masker, r, c) && !masker.masksSourceColumn(schema, table, c.name(), c.typeOid())
                            && !maskedByKin(masker, r, c)) {
                        return r.schema() + "." + r.name();
                    }
                }
            }
        }
        return null;
    }

    /**
     * The schema an {@code ALTER SCHEMA ... RENAME TO} renames when a masking {@code column:} rule names it: its
     * relations' columns would no longer be masked. Null otherwise.
     */
    private static String renamedRuleSchema(Analysis analysis, Masker masker) {
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                if (f.kind() != StatementKind.ALTER || !f.objectType().equals("SCHEMA")
                        || TextReferences.relocation(f.text()).isEmpty()) {
                    continue;
                }
                for (String word : TextReferences.names(f.text())) {
                    if (masker.namesSchema(word)) {
                        return word;
                    }
                }
            }
        }
        return null;
    }

    /**
     * Whether an ALTER of a sensitive statement (it names a sensitive column) can leave that column's values
     * under a name no rule masks: RENAME (masking by column name follows names), a generated column (GENERATED, and
     * PostgreSQL 17's {@code ALTER COLUMN ... SET EXPRESSION AS (ssn)}, which a helper's pass, a130, used to recompute
     * a clear generated column from a masked one), or values computed by USING or a function. Only asked when the
     * statement is sensitive, so renaming or computing clear columns stays allowed.
     */
    static boolean movesUnderClearName(StatementFacts f) {
        // The words in a row are read from the tokens: a comment may stand between them.
        return copiesValues(f) || RENAME_OR_GENERATED.matcher(f.text()).find() || TextReferences.setsSchema(f.text())
                || TextReferences.leavesTree(f.text());
    }

    /**
     * Whether {@code f} can put values it read into the relations it writes: DML, SELECT INTO, CREATE TABLE AS
     * ALTER that computes column values, and what Warden cannot classify. DDL that only names a relation
     * (CREATE INDEX, ALTER ... RESET, LOCK, VACUUM...) moves no value, so it launders nothing.
     */
    static boolean copiesValues(StatementFacts f) {
        return switch (f.kind()) {
            case INSERT, UPDATE, MERGE, SELECT, COPY, CALL, DO, EXECUTE, OTHER -> true;
            case CREATE -> f.objectType().equals("TABLE") || f.objectType().isEmpty();
            // ALTER COLUMN ... TYPE ... USING and ADD COLUMN ... DEFAULT compute every row's new value, and a
            // function there may read another table.
            case ALTER -> !f.functions().isEmpty() || USING.matcher(f.text()).find();
            default -> false;
        };
    }

    /**
     * Whether a column of a sensitive view carries a sensitive value: an expression (its inputs are not known
     * column by column), a column of another view, or a sensitive column under another name.
     */
    /**
     * Whether a view's column is a table's column passed through as it is (its origin a table, not a view, and
     * looked up), rather than computed: only then does it hold the values a strategy keeping part of them expects.
     */
    private static boolean passedThrough(RelationCatalog.Column c, RelationCatalog catalog) {
        ColumnName o = c.origin();
        if (o == null) {
            return false;
        }
        List<RelationCatalog.Relation> named = catalog.named(o.table()).stream()
                .filter(r -> r.schema().equals(o.schema())).toList();
        return !named.isEmpty() && named.stream().noneMatch(RelationCatalog.Relation::isView);
    }

    private static boolean carriesSensitive(RelationCatalog.Column c, Masker masker, RelationCatalog catalog) {
        ColumnName o = c.origin();
        if (o == null) {
            return true;
        }
        for (RelationCatalog.Relation r : catalog.named(o.table())) {
            if (r.isView() && r.schema().equals(o.schema())) {
                return true;
            }
        }
        RelationCatalog.Relation table = catalog.named(o.table()).stream().filter(r -> r.schema().equals(o.schema()))
                .findFirst().orElse(null);
        if (table == null) {
            // Not looked up (a view past the depth the catalog loads): nothing says the column is clear.
            return true;
        }
        int type = table.columns().stream().filter(x -> x.name().equals(o.column()))
                .mapToInt(RelationCatalog.Column::typeOid).findFirst().orElse(0);
        return masks(masker, table, new RelationCatalog.Column(o.column(), type, null));
    }

    /**
     * Whether a sensitive view computes over sensitive values beyond passing columns through: a column it computes
     * from one, or a sensitive name after its top-level FROM (in a join, WHERE, GROUP BY, HAVING, a function in FROM).
     * What the server raises there reaches a statement that reads only its clear columns (a helper's pass, a136 F1:
     * a view keeping one computed SSN column and casting SSNs in its WHERE echoed them to {@code SELECT id FROM v}).
     * A definition Warden cannot split so counts.
     */
    private static boolean evaluatesBeyondItsColumns(RelationCatalog.Relation r, Exposure view, Masker masker,
                                                     RelationCatalog catalog) {
        for (RelationCatalog.Column c : r.columns()) {
            if (carriesSensitive(c, masker, catalog) && !passedThrough(c, catalog)) {
                return true;
            }
        }
        String definition = r.definition();
        if (definition == null) {
            return true;
        }
        String lower = definition.toLowerCase(Locale.ROOT);
        int from = topLevelFrom(lower);
        if (from < 0) {
            return true;
        }
        String rest = lower.substring(from);
        for (String name : view.sensitiveNames()) {
            if (java.util.regex.Pattern.compile("(?<![\\w$])" + java.util.regex.Pattern.quote(
                    name.toLowerCase(Locale.ROOT)) + "(?![\\w$])").matcher(rest).find()) {
                return true;
            }
        }
        return false;
    }

    /** Where the first FROM outside parentheses and quotes begins in a view's definition, or -1. */
    private static int topLevelFrom(String lower) {
        int depth = 0;
        for (int i = 0; i < lower.length(); i++) {
            char ch = lower.charAt(i);
            if (ch == '\'' || ch == '"') {
                int end = lower.indexOf(ch, i + 1);
                if (end < 0) {
                    return -1;
                }
                i = end;
            } else if (ch == '(') {
                depth++;
            } else if (ch == ')') {
                depth--;
            } else if (depth == 0 && lower.startsWith("from", i) && (i == 0 || !Character.isLetterOrDigit(
                    lower.charAt(i - 1)) && lower.charAt(i - 1) != '_') && (i + 4 == lower.length()
                    || !Character.isLetterOrDigit(lower.charAt(i + 4)) && lower.charAt(i + 4) != '_')) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Whether {@code f}, of another kind, stores rows through a data-modifying WITH query ({@code WITH w AS (INSERT
     * ... RETURNING 1) SELECT 1}): which value lands in which column is not read there, so every column it writes
     * counts ({@link #anyColumnWrittenUnmasked}). Before, only INSERT, UPDATE and MERGE statements were judged so,
     * and a helper's pass (a134 F0) stored computed SSNs in a clear column of a table with one masked column.
     */
    static boolean storesThroughCte(StatementFacts f) {
        return !STORES_ROWS.contains(f.kind()) && (f.innerKinds().contains(StatementKind.INSERT)
                || f.innerKinds().contains(StatementKind.UPDATE) || f.innerKinds().contains(StatementKind.MERGE));
    }

    /**
     * A column {@code f} writes (every column, when it names none) of a table among {@code written} that no rule
     * masks, or masks with a strategy that shows part of the value; null when none.
     */
    private static String anyColumnWrittenUnmasked(StatementFacts f, List<RelationCatalog.Relation> written,
                                                   Masker masker) {
        Set<String> named = new HashSet<>();
        for (ColumnRef c : f.columnsWritten()) {
            named.add(c.column().toLowerCase(Locale.ROOT));
        }
        for (RelationCatalog.Relation r : written) {
            if (r.isView()) {
                // Which base column a view's column stores into is not followed here (a helper's pass, a136 F3:
                // a view's column named ssn over a clear base column took every SSN).
                return r.schema() + "." + r.name() + ", a view a data-modifying WITH query writes through";
            }
            Set<String> columns = new HashSet<>();
            for (RelationCatalog.Column c : r.columns()) {
                columns.add(c.name().toLowerCase(Locale.ROOT));
                if ((named.isEmpty() || named.contains(c.name().toLowerCase(Locale.ROOT)))
                        && (!masks(masker, r, c) || showsPart(masker, r, c))) {
                    return r.schema() + "." + r.name() + "." + c.name() + ", a column a data-modifying WITH query "
                            + "writes that no rule masks in full (which value lands there is not read)";
                }
            }
            for (String n : named) {
                if (!columns.contains(n)) {
                    // A field of a composite column (c.f), or a column the catalog does not have yet (a136 F4).
                    return r.schema() + "." + r.name() + "." + n + ", which a data-modifying WITH query writes and "
                            + "the catalog does not show as a column";
                }
            }
        }
        return null;
    }

    /** Statements that store values into rows of an existing table (a CREATE's column list defines, not stores). */
    private static final Set<StatementKind> STORES_ROWS = Set.of(StatementKind.INSERT, StatementKind.UPDATE,
            StatementKind.MERGE);

    /**
     * A column of a table with masked columns that {@code f} writes while it uses a sensitive value as a value, not
     * only to filter ({@link TextReferences#valueUse}), or reads whole rows, and that no rule masks: {@code UPDATE t
     * SET extra = note} would leave the value there in clear. For an UPDATE, the columns its SET list assigns a
     * sensitive value; for an INSERT whose rows are read ({@link TextReferences#insertValueUses}), the columns
     * given one; otherwise every column it writes (its INSERT column list; all, when it names none), as which
     * value lands where is not read. Null when none. A view's column counts as the base table's column it stores
     * into.
     */
    private static String clearColumnStoring(StatementFacts f, List<RelationCatalog.Relation> written, Masker masker,
                                             Set<String> sensitiveNames, RelationCatalog catalog) {
        Carried carried = carried(f, sensitiveNames);
        if (carried == Carried.NOTHING) {
            return null;
        }
        Set<String> targets = new HashSet<>();
        java.util.Map<String, Boolean> assigned = carried == Carried.UNREAD ? null
                : f.kind() == StatementKind.UPDATE ? TextReferences.updateValueUses(f.text(), sensitiveNames)
                : f.kind() == StatementKind.INSERT ? TextReferences.insertValueUses(f.text(), sensitiveNames)
                : null;
        if (assigned != null) {
            // An UPDATE's SET list, an INSERT's values: only the columns given a sensitive value.
            assigned.forEach((column, uses) -> {
                if (uses) {
                    targets.add(column.toLowerCase(Locale.ROOT));
                }
            });
            if (targets.isEmpty()) {
                return null;
            }
        } else {
            for (ColumnRef c : f.columnsWritten()) {
                targets.add(c.column().toLowerCase(Locale.ROOT));
            }
        }
        Set<String> unknown = new HashSet<>(targets);
        unknown.removeIf(t -> t.equals("*") || t.indexOf('.') >= 0); // every column; a composite's field
        boolean cascades = f.kind() == StatementKind.UPDATE || f.kind() == StatementKind.MERGE
                || (f.kind() == StatementKind.INSERT && ON_CONFLICT_UPDATE.matcher(f.text()).find());
        for (RelationCatalog.Relation r : written) {
            for (RelationCatalog.Column c : r.columns()) {
                String name = c.name().toLowerCase(Locale.ROOT);
                unknown.remove(name);
                if (!targets.isEmpty() && !targets.contains(name)) {
                    continue;
                }
                String where = r.schema() + "." + r.name() + "." + c.name();
                if (r.isView()) {
                    // The server stores a view's column into the base column it passes through, under that column's
                    // name: a helper's pass (a130) wrote SSNs through "SELECT id, note AS ssn FROM tb" into tb.note.
                    String base = clearBaseColumn(c, masker, catalog, 0);
                    if (base != null) {
                        return where + " (stored into " + base + "), a column no rule masks";
                    }
                } else if (!masks(masker, r, c)) {
                    return where + ", a column no rule masks";
                } else if (c.key() && cascades) {
                    // A foreign key referencing it cascades an update into the referencing table's columns: one made
                    // in this transaction or another's still open, or reached through another cascade or a
                    // partition, is not in the catalog Warden reads (a helper's pass, a132).
                    return where + ", a key a foreign key may reference: ON UPDATE CASCADE copies what is written "
                            + "there into columns Warden may not see (made by DDL not yet committed, or further than "
                            + "it follows)";
                }
            }
        }
        if (!unknown.isEmpty() && written.stream().noneMatch(RelationCatalog.Relation::isView)) {
            // A column DDL of an open transaction added (this session's, or another's this write will wait for):
            // the catalog Warden reads has only what is committed (a helper's pass, a132: ADD COLUMN n, then SSNs
            // into n in the same transaction).
            return unknown.iterator().next() + ", a column the catalog does not have yet (added by DDL not yet "
                    + "committed), which no rule masks";
        }
        return null;
    }

    /** An INSERT that may update the row it conflicts with (which may cascade, as an UPDATE does). */
    private static final java.util.regex.Pattern ON_CONFLICT_UPDATE =
            java.util.regex.Pattern.compile("(?is)\\bon\\s+conflict\\b.*\\bdo\\s+update\\b");

    /**
     * The table column a write into view column {@code c} stores into, followed through views, when no rule masks it
     * (or when Warden cannot tell which it is: an expression, a definition not described, a view deeper than the
     * catalog read); null when it is masked.
     */
    private static String clearBaseColumn(RelationCatalog.Column c, Masker masker, RelationCatalog catalog, int depth) {
        ColumnName o = c.origin();
        if (o == null || depth > 8) {
            return "a column Warden cannot trace";
        }
        // A view is bound to its relations, not to the session's search_path: looked up unfiltered, by schema.
        RelationCatalog.Relation base = catalog.unfiltered().named(o.table()).stream()
                .filter(r -> r.schema().equals(o.schema())).findFirst().orElse(null);
        RelationCatalog.Column column = base == null ? null : columnNamed(base, o.column());
        if (column == null) {
            return o.schema() + "." + o.table() + "." + o.column();
        }
        if (base.isView()) {
            return clearBaseColumn(column, masker, catalog, depth + 1);
        }
        return masks(masker, base, column) ? null : base.schema() + "." + base.name() + "." + column.name();
    }

    /**
     * The first generated column a CREATE TABLE declares that no rule masks, computed from one of the table's own
     * columns a rule masks by its name (as {@code ALTER TABLE ... ADD COLUMN ... GENERATED} is judged); or null.
     */
    private static String generatedFromMasked(StatementFacts create, Masker masker) {
        if (!create.objectType().equals("TABLE") || create.tablesWritten().size() != 1) {
            return null;
        }
        TableRef table = create.tablesWritten().iterator().next();
        java.util.Map<String, Set<String>> generated = TextReferences.generatedColumns(create.text());
        for (java.util.Map.Entry<String, Set<String>> g : generated.entrySet()) {
            if (masker.masksSourceColumn(table.schema(), table.name(), g.getKey(), 0)) {
                continue;
            }
            for (String used : g.getValue()) {
                if (masker.masksSourceColumn(table.schema(), table.name(), used, 0)) {
                    return table.qualified() + "." + g.getKey();
                }
            }
        }
        return null;
    }

    /**
     * Built-in (C) trigger functions that hand a column's stored value on, by the column names their arguments give
     * or by the table's primary key: {@code tsvector_update_trigger} and {@code tsvector_update_trigger_column} copy
     * columns into a tsvector column of the row; contrib's {@code triggered_change_notification} (tcn) sends the
     * key's values in a NOTIFY, {@code check_primary_key} and {@code check_foreign_key} (refint) look them up in
     * another table (and delete or set what matches), {@code lo_manage} unlinks the large object an old value names.
     * Others take no column (suppress_redundant_updates_trigger) or store no value of one (moddatetime,
     * insert_username, autoinc).
     */
    private static final Set<String> BUILT_IN_TRIGGERS_OVER_COLUMNS = Set.of("tsvector_update_trigger",
            "tsvector_update_trigger_column", "check_primary_key", "check_foreign_key", "lo_manage");
    private static final Set<String> BUILT_IN_TRIGGERS_OVER_KEY = Set.of("triggered_change_notification");

    private static final java.util.regex.Pattern TRIGGER_FUNCTION = java.util.regex.Pattern.compile(
            "(?is)\\bEXECUTE\\s+(?:FUNCTION|PROCEDURE)\\s+((?:\"[^\"]*\"|[\\w$]+)(?:\\s*\\.\\s*(?:\"[^\"]*\"|[\\w$]+))?)"
                    + "\\s*\\((.*)\\)");

    private static final java.util.regex.Pattern TRIGGER_TABLE = java.util.regex.Pattern.compile(
            "(?is)\\bON\\s+(?:ONLY\\s+)?((?:\"[^\"]*\"|[\\w$]+)(?:\\s*\\.\\s*(?:\"[^\"]*\"|[\\w$]+))?)");

    /** The last part of a (qualified) name, unquoted. */
    private static String unquoted(String name) {
        String n = name.replaceAll("\\s", "");
        boolean quoted = n.endsWith("\"");
        n = n.replace("\"", "");
        n = n.substring(n.lastIndexOf('.') + 1);
        return quoted ? n : n.toLowerCase(Locale.ROOT);
    }

    /**
     * What a CREATE TRIGGER that runs one of the built-in trigger functions above hands on, for a masked column of
     * the table it is made on: an argument that names one (a column name, quoted or not, or a string), or for tcn
     * any masked column of the table (its key). A trigger function of the user's is judged by its body, where it is
     * made. Null when none.
     */
    private static String builtInTriggerOverMasked(StatementFacts create, Masker masker, RelationCatalog catalog) {
        if (!create.objectType().equals("TRIGGER")) {
            return null;
        }
        java.util.regex.Matcher m = TRIGGER_FUNCTION.matcher(create.text());
        if (!m.find()) {
            return null;
        }
        String function = m.group(1).replace("\"", "").replaceAll("\\s", "");
        function = function.substring(function.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
        boolean overColumns = BUILT_IN_TRIGGERS_OVER_COLUMNS.contains(function);
        if (!overColumns && !BUILT_IN_TRIGGERS_OVER_KEY.contains(function)) {
            return null;
        }
        List<String> arguments = new java.util.ArrayList<>();
        for (String a : m.group(2).split(",")) {
            String t = a.strip();
            if (t.length() >= 2 && (t.startsWith("'") || t.startsWith("\""))) {
                t = t.substring(1, t.length() - 1);
            }
            arguments.add(t);
        }
        // The analysis lists the table ON names among what it reads, beside the trigger's own name.
        java.util.regex.Matcher on = TRIGGER_TABLE.matcher(create.text());
        String onName = on.find() ? unquoted(on.group(1)) : null;
        for (TableRef table : create.tablesRead()) {
            if (onName != null && !table.name().equalsIgnoreCase(onName)) {
                continue;
            }
            for (String a : arguments) {
                if (overColumns && !a.isEmpty() && masker.masksSourceColumn(table.schema(), table.name(), a, 0)) {
                    return handedOn(function, table.qualified() + "." + a);
                }
            }
            for (RelationCatalog.Relation r : catalog.named(table.name())) {
                for (RelationCatalog.Column c : r.columns()) {
                    boolean named = !overColumns || arguments.stream().anyMatch(a -> a.equalsIgnoreCase(c.name()));
                    if (named && masks(masker, r, c)) {
                        return handedOn(function, r.schema() + "." + r.name() + "." + c.name());
                    }
                }
            }
        }
        return null;
    }

    private static String handedOn(String function, String column) {
        return "what the built-in trigger function " + function + " makes of " + column + ", a masked column";
    }

    /**
     * Whether the policy masks column {@code c} of table {@code r}: by its own rules, by a rule on its kin, or as a
     * stored generated column computed from one it masks.
     */
    static boolean masks(Masker masker, RelationCatalog.Relation r, RelationCatalog.Column c) {
        return masker.masksSourceColumn(r.schema(), r.name(), c.name(), c.typeOid()) || maskedByKin(masker, r, c)
                || generatedFromMasked(masker, r, c);
    }

    /**
     * Whether {@code c} is a stored generated column the server computes from a column of its table that the policy
     * masks: it holds what that column holds, under a name no rule masks (a helper's pass, a130, had one recomputed
     * from the SSNs and read it reversed, past the value detectors).
     */
    private static boolean generatedFromMasked(Masker masker, RelationCatalog.Relation r, RelationCatalog.Column c) {
        for (String source : c.generatedFrom()) {
            RelationCatalog.Column s = columnNamed(r, source);
            if (s != null && (masker.masksSourceColumn(r.schema(), r.name(), s.name(), s.typeOid())
                    || maskedByKin(masker, r, s))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a rule on a table of {@code r}'s inheritance tree masks the column of the same name: a partition
     * holds its partitioned table's rows, and a parent's scan returns its children's.
     */
    private static boolean maskedByKin(Masker masker, RelationCatalog.Relation r, RelationCatalog.Column c) {
        for (RelationCatalog.Kin k : r.kin()) {
            if (masker.masksSourceColumn(k.schema(), k.name(), c.name(), c.typeOid())) {
                return true;
            }
        }
        return false;
    }
}
