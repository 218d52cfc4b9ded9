package dev.warden.proxy.catalog;

import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.TextReferences;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The relations (tables, views, materialized views, foreign tables) a statement's names can refer to, with
 * their columns and, for views, their definitions: what masking needs to tell whether a statement could carry a
 * sensitive value. Looked up by name in every schema (the session's {@code search_path} decides which one a
 * name means, so every candidate counts), only for names statements actually use. A view's definition is
 * followed to the relations it names, a few levels deep. Entries (including "no relation of that name") expire
 * after {@link FunctionEffects#TTL_NANOS} and are dropped on DDL seen through Warden.
 */
final class RelationCatalog {

    /**
     * One relation: {@code kind} is pg_class.relkind; {@code definition} is set for views and matviews.
     * {@code onWrite} is what the server runs when the relation is written besides (or, for {@code DO INSTEAD}
     * and {@code INSTEAD OF}, instead of) the write itself: the actions of its rewrite rules other than a view's
     * {@code _RETURN} and its triggers, disabled ones included (their owner enables them in a statement); a call
     * of each trigger's function, and of each user function its columns' defaults and CHECK constraints (its own
     * and its domains') call, and nextval of each sequence those name; the writes of the foreign keys that
     * reference it. {@code onRead} is what the server runs when it is read (or written): a call of each user
     * function its view definition and its row security policies call, and nextval of each sequence they name. The effects of the functions called are applied where they are judged. {@code onWrite} is
     * null when one of them could not be read (then a write to it may write anything), {@code onRead} when one a
     * read runs could not be. {@code runTexts}: the texts they were read from.
     * {@code kin} are the tables it inherits from and those that inherit from it, at any depth (partitions,
     * INHERITS): a scan of a parent returns its descendants' rows, and a partition holds rows of its partitioned
     * table; masking reads a column: rule on any of them as a rule on it. An index's kin is its table.
     * {@code staleRows}, for a materialized view only: why its stored rows may have been computed by something
     * its definition reaches no longer computes (see {@link #staleMaterializedViews}); null when they cannot have.
     * {@code rowSecurity}: pg_class.relrowsecurity, whether a read evaluates row security policies over its rows.
     * {@code evaluated}: the expressions the server evaluates over each row written (or read) with that row's values
     * as arguments, each as a SELECT of the expression over the relation (see {@link #EVALUATED_OVER_ROWS}): its
     * CHECK constraints, its columns' domains' CHECK constraints, its row security policies' USING and WITH CHECK,
     * its triggers' WHEN conditions. Kept apart from {@code onWrite}: each is judged on its own, by masking only
     * (onWrite's calls of the user functions they name stay, for the guardrails). Null when one could not be read.
     * {@code evaluatedOnRead}: what a read evaluates: its row security policies' USING (where {@code rowSecurity}),
     * and a call of each function converting a literal or a parameter to one of its columns' types runs (the checks
     * of the domains the type reaches, casts into them, a user type's input function).
     * {@code onWriteThroughParent}: what of {@code onWrite} a write through a partitioned or parent table runs for the
     * rows of this one it routes here or reaches, its row-level and TRUNCATE triggers' calls; not its rules (the
     * rewriter applies the named table's), its statement-level triggers (the named table's fire) nor its defaults
     * (a routed row takes the named table's). Null when {@code onWrite} is.
     */
    record Relation(String schema, String name, char kind, List<Column> columns, String definition,
                    List<StatementFacts> definitionFacts, List<StatementFacts> onWrite, List<StatementFacts> onRead,
                    List<String> runTexts, List<dev.warden.sql.TableRef> children, List<Kin> kin,
                    String staleRows, boolean rowSecurity, List<StatementFacts> evaluated,
                    List<StatementFacts> evaluatedOnRead, List<StatementFacts> onWriteThroughParent) {
        Relation(String schema, String name, char kind, List<Column> columns, String definition,
                 List<StatementFacts> definitionFacts) {
            this(schema, name, kind, columns, definition, definitionFacts, List.of(), List.of(), List.of(), List.of(),
                    new ArrayList<>(), null, false, List.of(), List.of(), List.of());
        }

        /** This relation, its stored rows judged possibly stale for {@code why} (see {@link #staleRows}). */
        Relation withStaleRows(String why) {
            return new Relation(schema, name, kind, columns, definition, definitionFacts, onWrite, onRead, runTexts,
                    children, kin, why, rowSecurity, evaluated, evaluatedOnRead, onWriteThroughParent);
        }

        boolean isView() {
            return kind == 'v' || kind == 'm';
        }

        /** A sequence holds no value a statement stores: it has no columns here, and launders nothing. */
        boolean isSequence() {
            return kind == 'S';
        }

        /** An index: no columns here either; known so that an unqualified index name resolves to its schema. */
        boolean isIndex() {
            return kind == 'i' || kind == 'I';
        }
    }

    /** A table of a relation's inheritance tree (see {@link Relation#kin}). */
    record Kin(String schema, String name) {
    }

    /**
     * @param origin for a view's column that is a plain column of a relation, that column (as the server's
     *               RowDescription for the view's definition names it); null for expressions, and for every
     *               column of a table
     * @param generatedFrom for a stored generated column, the columns of its table its expression reads (the
     *                      server's dependencies of the expression); empty otherwise
     * @param key whether a unique index (a primary key's too) of the table, or of one of its partitions or children,
     *            has a column of this name: a foreign key may reference it, and cascade what is written there
     */
    record Column(String name, int typeOid, ColumnName origin, List<String> generatedFrom, boolean key) {
        Column(String name, int typeOid, ColumnName origin) {
            this(name, typeOid, origin, List.of(), false);
        }
    }

    private record Entry(List<Relation> relations, long loaded) {
    }

    /** How deep views over views are followed; a deeper one is judged sensitive (nothing says it is clear). */
    static final int MAX_VIEW_DEPTH = 8;
    private static final int MAX_NAMES_CACHED = 4096;

    private final Map<String, Entry> byName;
    /**
     * Whether a relation with row security, or with columns whose types' conversion runs a user function (see
     * {@link Relation#evaluatedOnRead}), was loaded since the last {@link #invalidate}: until then no read evaluates
     * a policy or such a function, and {@link CatalogCache#evaluatedOver} need not be asked for each name a read reaches
     * (that walk was 3.5 % of the event loops' samples under {@code pgbench -S}).
     */
    private volatile boolean anyRowSecurity;
    /** Names in a statement text, by text: lexing twice per statement is worth remembering. */
    private final Map<String, Set<String>> namesByText;
    /** For one session's statement (see {@link #seenFrom}): the relations it can mean; null: every candidate. */
    private final java.util.function.Predicate<Relation> visible;
    private final RelationCatalog all;

    RelationCatalog() {
        this.byName = new ConcurrentHashMap<>();
        this.namesByText = new ConcurrentHashMap<>();
        this.visible = null;
        this.all = this;
    }

    private RelationCatalog(RelationCatalog all, java.util.function.Predicate<Relation> visible) {
        this.byName = all.byName;
        this.namesByText = all.namesByText;
        this.visible = visible;
        this.all = all;
    }

    /**
     * What a statement of a session whose {@code search_path} resolves to {@code schemas}
     * ({@code current_schemas(true)}, the session's temporary schema and pg_catalog included) can mean by the
     * names in it: for a name it uses unqualified, the first relation of that name along those schemas, and every
     * relation of a schema the statement names (it may qualify the name; {@code pg_temp} stands for the session's
     * temporary schema). Other sessions' temporary tables and relations the path hides drop out. The names in a view's
     * definition are read with {@link #unfiltered()}: a view is bound to its relations, not to a search_path.
     */
    RelationCatalog seenFrom(List<String> schemas, Analysis analysis) {
        // Any schema the statement names, on the path or not; pg_temp means the session's own temporary schema.
        Set<String> named = new java.util.HashSet<>(names(analysis));
        for (String schema : schemas) {
            if (schema.startsWith("pg_temp_") && named.contains("pg_temp")) {
                named.add(schema);
            }
        }
        List<String> texts = new ArrayList<>();
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                texts.add(f.text());
            }
        }
        return new RelationCatalog(this, r -> named.contains(r.schema())
                || (first(schemas, r.name()) == r && !onlyQualified(r.name(), texts)));
    }

    /**
     * Whether every occurrence of {@code name} in the texts (as a word, in any case, inside strings too) follows a
     * dot: then the statement names it only with a schema, and the search_path does not decide what it means.
     * Any doubt (an occurrence in a string, a comment) leaves it unqualified, which only counts more relations; so
     * does a name the texts never spell as it is when they spell one with escapes: {@code U&"lk\0038"} is lk8, and no
     * occurrence was taken for "every occurrence qualified" (a helper's pass renamed a masked column of lk8 that way).
     */
    private static boolean onlyQualified(String name, List<String> texts) {
        boolean seen = false;
        java.util.regex.Pattern word = java.util.regex.Pattern.compile("(?<![\\p{L}\\p{N}_$])"
                + java.util.regex.Pattern.quote(name) + "(?![\\p{L}\\p{N}_$])",
                java.util.regex.Pattern.CASE_INSENSITIVE | java.util.regex.Pattern.UNICODE_CASE);
        for (String text : texts) {
            java.util.regex.Matcher m = word.matcher(text);
            while (m.find()) {
                seen = true;
                int i = m.start() - 1;
                if (i >= 0 && text.charAt(i) == '"') {
                    i--;
                }
                while (i >= 0 && Character.isWhitespace(text.charAt(i))) {
                    i--;
                }
                if (i < 0 || text.charAt(i) != '.') {
                    return false;
                }
            }
        }
        if (seen) {
            return true;
        }
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 60) {
            return false; // cut at 63 bytes: the text spells it longer (a helper's review)
        }
        // Not spelled as it is: a name decoded from a Unicode escape or a doubled quote counts as unqualified; any
        // other (a name a body or a definition gives) keeps counting as qualified, as before.
        for (String text : texts) {
            String lower = text.toLowerCase(java.util.Locale.ROOT);
            if (lower.contains("u&\"") || text.contains("\"\"")) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether every name of {@code analysis} is resolved with the search_path the session has before it runs:
     * one statement that runs no function body (a function may carry its own {@code SET search_path}, or set
     * it), no dynamic SQL, and sets nothing (SET, RESET, DISCARD, set_config). Otherwise every candidate counts.
     */
    static boolean resolvedWithSessionPath(Analysis analysis) {
        return analysis.statements().size() == 1
                && !StatementWalk.any(analysis.statements().get(0), RelationCatalog::mayResolveOtherwise);
    }

    /** Whether {@code f} runs a body, dynamic SQL or sets something: see {@link #resolvedWithSessionPath}. */
    private static boolean mayResolveOtherwise(StatementFacts f) {
        if (!f.nested().isEmpty() || f.dynamicSql() || f.kind() == dev.warden.sql.StatementKind.SET
                || f.kind() == dev.warden.sql.StatementKind.RESET || f.kind() == dev.warden.sql.StatementKind.DISCARD
                || f.kind() == dev.warden.sql.StatementKind.DO || f.kind() == dev.warden.sql.StatementKind.CALL) {
            return true;
        }
        for (String fn : f.functions()) { // asked for every statement: no stream
            if (fn.endsWith("set_config")) {
                return true;
            }
        }
        return false;
    }

    /** Every candidate relation, whatever search_path a session has. */
    RelationCatalog unfiltered() {
        return all;
    }

    /** Nests the bodies of the functions statements call (set once by the cache that owns this catalog). */
    private volatile java.util.function.UnaryOperator<List<StatementFacts>> withEffects =
            java.util.function.UnaryOperator.identity();

    void applyEffectsWith(java.util.function.UnaryOperator<List<StatementFacts>> effects) {
        all.withEffects = effects;
    }

    /**
     * What reading view {@code r} computes: its definition, and the calls of the user functions it names with
     * their bodies nested (a column {@code f()} carries what {@code f}'s body reads, which the definition does not
     * name); the definition alone when those calls could not be read.
     */
    List<StatementFacts> viewRuns(Relation r) {
        if (r.onRead() == null || r.onRead().isEmpty()) {
            return r.definitionFacts();
        }
        List<StatementFacts> out = new ArrayList<>(r.definitionFacts());
        out.addAll(all.withEffects.apply(r.onRead()));
        return out;
    }

    private Relation first(List<String> schemas, String name) {
        List<Relation> candidates = all.named(name);
        for (String schema : schemas) {
            for (Relation r : candidates) {
                if (r.schema().equals(schema)) {
                    return r;
                }
            }
        }
        return null;
    }

    /**
     * Whether a name of {@code analysis} could mean relations in more than one schema, or a temporary table
     * (perhaps another session's): what the statement reads then depends on the session's search_path.
     */
    boolean dependsOnSearchPath(Analysis analysis) {
        for (String name : names(analysis)) {
            List<Relation> candidates = all.named(name);
            for (Relation r : candidates) {
                if (!r.schema().equals(candidates.get(0).schema()) || r.schema().startsWith("pg_temp_")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Every name the statements of {@code analysis} use, nested statements (function bodies) included. */
    Set<String> names(Analysis analysis) {
        Set<String> out = new LinkedHashSet<>();
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                out.addAll(names(f.text()));
            }
        }
        return out;
    }

    Set<String> names(String text) {
        Set<String> cached = namesByText.get(text);
        if (cached != null) {
            return cached;
        }
        Set<String> names = Set.copyOf(TextReferences.names(text));
        if (namesByText.size() > MAX_NAMES_CACHED) {
            namesByText.clear();
        }
        namesByText.put(text, names);
        return names;
    }

    /**
     * The names {@code analysis} uses and, through the definitions of the views they name (as looked up so far),
     * the names those use: what DDL must touch to change what the statement reads.
     */
    Set<String> reached(Analysis analysis) {
        Set<String> out = new LinkedHashSet<>(names(analysis));
        java.util.Deque<String> todo = new java.util.ArrayDeque<>(out);
        while (!todo.isEmpty()) {
            for (Relation r : all.named(todo.pop())) {
                if (r.definition() != null) {
                    for (String n : names(r.definition())) {
                        if (out.add(n)) {
                            todo.add(n);
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Names of {@code analysis} not looked up yet, or expired. */
    Set<String> missing(Analysis analysis) {
        return missing(analysis, null);
    }

    /**
     * As above; and the names still current but due to be read again ({@link CatalogCache#REFRESH_AT_NANOS}) go
     * into {@code due}, when not null.
     */
    Set<String> missing(Analysis analysis, Set<String> due) {
        Set<String> out = new LinkedHashSet<>();
        long now = System.nanoTime();
        for (String n : names(analysis)) {
            long age = now - loaded(n, now);
            if (age >= FunctionEffects.TTL_NANOS) {
                out.add(n);
            } else if (due != null && age >= CatalogCache.REFRESH_AT_NANOS) {
                due.add(n);
            }
        }
        return out;
    }

    private Set<String> missing(Set<String> names) {
        return olderThan(names, FunctionEffects.TTL_NANOS);
    }

    /** Of {@code names}, those not looked up or due to be read again (not those another request read meanwhile). */
    Set<String> due(Set<String> names) {
        return olderThan(names, CatalogCache.REFRESH_AT_NANOS);
    }

    private Set<String> olderThan(Set<String> names, long age) {
        Set<String> out = new LinkedHashSet<>();
        long now = System.nanoTime();
        for (String n : names) {
            if (now - loaded(n, now) >= age) {
                out.add(n);
            }
        }
        return out;
    }

    /**
     * When {@code name} was looked up, the statistics' samples included for a statistics relation; one not looked
     * up counts as looked up one TTL ago (never current).
     */
    private long loaded(String name, long now) {
        long never = now - FunctionEffects.TTL_NANOS;
        Entry e = byName.get(name);
        long loaded = e == null ? never : e.loaded();
        if (STATISTICS.contains(name)) {
            Entry sampled = byName.get(SAMPLED);
            long s = sampled == null ? never : sampled.loaded();
            loaded = s - loaded < 0 ? s : loaded;
        }
        return loaded;
    }

    /**
     * When the oldest entry {@link #missing} consults for {@code analysis} was loaded (the statistics' samples
     * included); one that is not loaded counts as loaded one TTL before {@code now}.
     */
    long oldestLoaded(Analysis analysis, long now) {
        long oldest = now;
        for (String n : names(analysis)) {
            oldest = older(byName.get(n), oldest, now);
            if (STATISTICS.contains(n)) {
                oldest = older(byName.get(SAMPLED), oldest, now);
            }
        }
        return oldest;
    }

    private static long older(Entry e, long oldest, long now) {
        long loaded = e == null ? now - FunctionEffects.TTL_NANOS : e.loaded();
        return loaded - oldest < 0 ? loaded : oldest;
    }

    /** Relations of the planner's statistics whose columns hold sample values (see {@code Exposure#SAMPLED_VALUES}). */
    static final Set<String> STATISTICS = Set.of("pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic",
            "pg_statistic_ext_data");

    /**
     * Key (no relation name starts with a space) of the user relations the statistics sample: each with its
     * columns, looked up with a statistics relation and expiring with it; absent when the statistics cannot be
     * read (then every statistic counts as sensitive).
     */
    static final String SAMPLED = " sampled by statistics";

    /**
     * Every user relation that has statistics (a table's own, those of an index on it, extended statistics on it),
     * with all its columns: masking judges whether one of them is sensitive. Read only where pg_statistic can be
     * read; otherwise nothing is stored, and nothing says the statistics are clear.
     */
    private void loadSampled(Connection connection) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_statistic', 'SELECT')");
             ResultSet rs = ps.executeQuery()) {
            if (!rs.next() || !rs.getBoolean(1)) {
                return;
            }
        }
        Map<List<String>, List<Column>> columns = new java.util.LinkedHashMap<>();
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT n.nspname, c.relname, a.attname, a.atttypid::int, c.oid FROM pg_catalog.pg_class c "
                        + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        + "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                        + "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND c.oid IN ("
                        + "SELECT s.starelid FROM pg_catalog.pg_statistic s "
                        + "UNION SELECT i.indrelid FROM pg_catalog.pg_index i "
                        + "JOIN pg_catalog.pg_statistic s ON s.starelid = i.indexrelid "
                        + "UNION SELECT x.stxrelid FROM pg_catalog.pg_statistic_ext x) ORDER BY 1, 2");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                columns.computeIfAbsent(List.of(rs.getString(1), rs.getString(2), rs.getString(5)),
                        k -> new ArrayList<>()).add(new Column(rs.getString(3), rs.getInt(4), null));
            }
        }
        List<Relation> sampled = new ArrayList<>();
        Map<Long, Relation> sampledByOid = new HashMap<>();
        columns.forEach((name, cs) -> {
            Relation r = new Relation(name.get(0), name.get(1), 'r', cs, null, List.of());
            sampled.add(r);
            sampledByOid.put(Long.parseLong(name.get(2)), r);
        });
        loadKin(connection, sampledByOid);
        byName.put(SAMPLED, new Entry(List.copyOf(sampled), System.nanoTime()));
    }

    /** Whether {@code name} was looked up (a failed lookup leaves it unknown). */
    boolean known(String name) {
        return byName.containsKey(name);
    }

    /** The relations named {@code name} in any schema; empty when none (or not looked up). */
    List<Relation> named(String name) {
        Entry e = byName.get(name);
        if (e == null) {
            return List.of();
        }
        return visible == null ? e.relations() : e.relations().stream().filter(visible).toList();
    }

    /**
     * Looks up these names, then the names in the definitions of the views found, a few levels deep. Returns what
     * writing or reading the relations found runs (see {@link Relation}): the effects of the functions it calls
     * are read next.
     */
    List<StatementFacts> load(Connection connection, Set<String> names, Analyzer analyzer) throws SQLException {
        List<StatementFacts> run = new ArrayList<>();
        Set<String> next = names;
        boolean sampled = false;
        for (int depth = 0; depth <= MAX_VIEW_DEPTH && !next.isEmpty(); depth++) {
            if (!sampled && next.stream().anyMatch(STATISTICS::contains)) {
                loadSampled(connection); // the statement, or a view it reads, names the statistics
                sampled = true;
            }
            Map<String, List<Relation>> found = query(connection, next, analyzer);
            long now = System.nanoTime();
            Set<String> more = new LinkedHashSet<>();
            for (String n : next) {
                List<Relation> relations = found.getOrDefault(n, List.of());
                if (!anyRowSecurity && relations.stream().anyMatch(r -> r.rowSecurity()
                        || r.evaluatedOnRead() != null && !r.evaluatedOnRead().isEmpty())) {
                    anyRowSecurity = true; // before the entry: no reader finds it with the flag still unset
                }
                byName.put(n, new Entry(List.copyOf(relations), now));
                for (Relation r : relations) {
                    if (r.definition() != null) {
                        more.addAll(names(r.definition()));
                    }
                    for (String text : r.runTexts()) {
                        more.addAll(names(text)); // what a rule or trigger writes may have rules and triggers too
                    }
                    r.children().forEach(child -> more.add(child.name()));
                    run.addAll(r.onWrite() == null ? List.of() : r.onWrite());
                    run.addAll(r.onRead() == null ? List.of() : r.onRead());
                    run.addAll(r.evaluated() == null ? List.of() : r.evaluated());
                }
            }
            next = missing(more);
        }
        creatable = loadCreatable(connection);
        return run;
    }

    /**
     * The schemas the catalog's login may create relations in (an unqualified CREATE lands in one of them, the
     * first of its search_path that exists); null until read, and after DDL.
     */
    private volatile Set<String> creatable;

    Set<String> creatable() {
        return creatable;
    }

    private static Set<String> loadCreatable(Connection connection) throws SQLException {
        Set<String> out = new java.util.HashSet<>();
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT n.nspname FROM pg_catalog.pg_namespace n "
                        + "WHERE pg_catalog.has_schema_privilege(n.oid, 'CREATE') "
                        + "AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return Set.copyOf(out);
    }

    private static Map<String, List<Relation>> query(Connection connection, Set<String> names, Analyzer analyzer)
            throws SQLException {
        Map<String, List<Relation>> out = new HashMap<>();
        Map<Long, Relation> byOid = new HashMap<>();
        Set<Long> running = new java.util.HashSet<>();
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT c.oid, n.nspname, c.relname, c.relkind::text, a.attname, a.atttypid::int, "
                        + "CASE WHEN c.relkind IN ('v', 'm') THEN CASE WHEN " + LOCKED + " THEN '' "
                        + "ELSE pg_catalog.pg_get_viewdef(c.oid) END END, c.relhasrules OR c.relhastriggers "
                        + "OR c.relrowsecurity OR c.relchecks > 0 "
                        + "OR EXISTS (SELECT 1 FROM pg_catalog.pg_attrdef ad WHERE ad.adrelid = c.oid) "
                        + "OR EXISTS (SELECT 1 FROM pg_catalog.pg_index ix WHERE c.oid IN (ix.indrelid, ix.indexrelid) "
                        + "AND (ix.indexprs IS NOT NULL OR ix.indpred IS NOT NULL OR EXISTS (SELECT 1 "
                        + "FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = oc.opcfamily "
                        + "WHERE oc.oid = ANY (ix.indclass::pg_catalog.oid[]) AND ap.amproc::pg_catalog.oid >= 16384))) "
                        + "OR EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext sx WHERE sx.stxrelid = c.oid "
                        + "AND sx.stxexprs IS NOT NULL) "
                        // A partition key, and a column whose type may reach a domain or a cast made by a user
                        // (a domain, a composite, a user's type or an array of one): see functionsForTypes.
                        + "OR c.relkind = 'p' OR c.relispartition "
                        + "OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute da JOIN pg_catalog.pg_type dt "
                        + "ON dt.oid = da.atttypid WHERE da.attrelid = c.oid AND da.attnum > 0 "
                        + "AND (dt.typtype IN ('d', 'c') OR dt.oid >= 16384)), "
                        // The tables that inherit from it, partitions included: a read or write of it reaches them.
                        + "CASE WHEN c.relhassubclass THEN ARRAY(SELECT cn.nspname || '.' || cc.relname "
                        + "FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class cc ON cc.oid = i.inhrelid "
                        + "JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace WHERE i.inhparent = c.oid) END, "
                        + "c.relrowsecurity, "
                        // A stored generated column's sources: what the server computes it from, row by row.
                        + "CASE WHEN a.attgenerated = 's' THEN ARRAY(SELECT ra.attname FROM pg_catalog.pg_attrdef ad "
                        + "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass "
                        + "AND d.objid = ad.oid AND d.refobjid = c.oid AND d.refobjsubid > 0 "
                        + "JOIN pg_catalog.pg_attribute ra ON ra.attrelid = c.oid AND ra.attnum = d.refobjsubid "
                        + "WHERE ad.adrelid = c.oid AND ad.adnum = a.attnum) END, "
                        // A column a foreign key may reference (see Column#key).
                        + "c.relkind IN ('r', 'p', 'f') AND EXISTS (SELECT 1 FROM pg_catalog.pg_index ix "
                        + "JOIN pg_catalog.pg_attribute ka ON ka.attrelid = ix.indrelid AND ka.attnum = ANY (ix.indkey) "
                        + "WHERE ix.indisunique AND ka.attname = a.attname AND (ix.indrelid = c.oid "
                        + "OR ix.indrelid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree(c.oid) t) "
                        + "OR ix.indrelid IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid))) "
                        + "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        + "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                        + "AND NOT a.attisdropped "
                        // Sequences and indexes (no columns kept): where an unqualified name is, for rules on tables.
                        + "WHERE c.relname = ANY (?) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'i', 'I') "
                        + "ORDER BY c.oid, a.attnum")) {
            ps.setArray(1, connection.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long oid = rs.getLong(1);
                    Relation r = byOid.get(oid);
                    if (r == null) {
                        String definition = rs.getString(7);
                        if (definition != null && definition.isEmpty()) {
                            definition = lockedViewReads(connection, oid);
                        }
                        r = new Relation(rs.getString(2), rs.getString(3), rs.getString(4).charAt(0),
                                new ArrayList<>(), definition,
                                definition == null ? List.of() : analyzer.analyze(definition).statements(),
                                List.of(), List.of(), List.of(), children(rs.getArray(9)), new ArrayList<>(), null,
                                rs.getBoolean(10), List.of(), List.of(), List.of());
                        byOid.put(oid, r);
                        out.computeIfAbsent(r.name(), k -> new ArrayList<>()).add(r);
                        if (rs.getBoolean(8)) {
                            running.add(oid);
                        }
                    }
                    if (rs.getString(5) != null && !r.isSequence() && !r.isIndex()) {
                        java.sql.Array from = rs.getArray(11);
                        r.columns().add(new Column(rs.getString(5), rs.getInt(6), null,
                                from == null ? List.of() : List.of((String[]) from.getArray()), rs.getBoolean(12)));
                    }
                }
            }
        }
        for (Map.Entry<Long, String> e : staleMaterializedViews(connection, byOid).entrySet()) {
            Relation r = byOid.get(e.getKey());
            Relation stale = r.withStaleRows(e.getValue());
            byOid.put(e.getKey(), stale);
            List<Relation> named = out.get(r.name());
            named.set(named.indexOf(r), stale);
        }
        for (Relation r : byOid.values()) {
            if (r.definition() != null && !r.definition().startsWith(LOCKED_VIEW)) {
                withOrigins(connection, r);
            }
        }
        loadKin(connection, byOid);
        if (!running.isEmpty()) {
            Map<Long, List<String[]>> run = runTexts(connection, running);
            for (Map.Entry<Long, List<String[]>> e : run.entrySet()) {
                Relation r = byOid.get(e.getKey());
                Relation with = withRun(r, e.getValue(), analyzer);
                List<Relation> named = out.get(r.name());
                named.set(named.indexOf(r), with);
            }
        }
        return out;
    }

    /**
     * Fills in each relation's {@link Relation#kin}: its ancestors and descendants in pg_inherits; an index's, the
     * table it indexes (a rule on the table holds for what is done to its index).
     */
    private static void loadKin(Connection connection, Map<Long, Relation> byOid) throws SQLException {
        if (byOid.isEmpty()) {
            return;
        }
        if (byOid.values().stream().anyMatch(Relation::isIndex)) {
            try (PreparedStatement ps = connection.prepareStatement("SELECT x.indexrelid::bigint, n.nspname, "
                    + "c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indrelid "
                    + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE x.indexrelid = ANY (?)")) {
                ps.setArray(1, connection.createArrayOf("oid", byOid.entrySet().stream()
                        .filter(e -> e.getValue().isIndex()).map(Map.Entry::getKey).toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        byOid.get(rs.getLong(1)).kin().add(new Kin(rs.getString(2), rs.getString(3)));
                    }
                }
            }
        }
        try (PreparedStatement ps = connection.prepareStatement(
                "WITH RECURSIVE up (relid, kin) AS (SELECT i.inhrelid, i.inhparent FROM pg_catalog.pg_inherits i "
                        + "WHERE i.inhrelid = ANY (?) UNION SELECT up.relid, i.inhparent FROM up "
                        + "JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.kin), "
                        + "down (relid, kin) AS (SELECT i.inhparent, i.inhrelid FROM pg_catalog.pg_inherits i "
                        + "WHERE i.inhparent = ANY (?) UNION SELECT down.relid, i.inhrelid FROM down "
                        + "JOIN pg_catalog.pg_inherits i ON i.inhparent = down.kin) "
                        + "SELECT k.relid::bigint, n.nspname, c.relname FROM (SELECT * FROM up UNION SELECT * FROM down) k "
                        + "JOIN pg_catalog.pg_class c ON c.oid = k.kin "
                        + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace")) {
            Long[] oids = byOid.keySet().toArray(new Long[0]);
            ps.setArray(1, connection.createArrayOf("oid", oids));
            ps.setArray(2, connection.createArrayOf("oid", oids));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Relation r = byOid.get(rs.getLong(1));
                    if (r != null) {
                        r.kin().add(new Kin(rs.getString(2), rs.getString(3)));
                    }
                }
            }
        }
    }

    /**
     * The functions a dependency {@code d} of an expression runs: the function it names, or the function of the
     * operator it names (an expression records its operators, not their functions), and of that operator's
     * commutator and negator, which the planner may run instead ({@code NOT (a = b)} as {@code a <> b}); 0 where
     * there is none.
     */
    static final String FUNCTIONS_OF_DEPENDENCY = "CASE WHEN d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
            + "THEN ARRAY[d.refobjid] ELSE (SELECT ARRAY[op.oprcode::pg_catalog.oid, "
            + "COALESCE(oc.oprcode::pg_catalog.oid, 0), COALESCE(onot.oprcode::pg_catalog.oid, 0)] "
            + "FROM pg_catalog.pg_operator op LEFT JOIN pg_catalog.pg_operator oc ON oc.oid = op.oprcom "
            + "LEFT JOIN pg_catalog.pg_operator onot ON onot.oid = op.oprnegate WHERE op.oid = d.refobjid) END";

    /** {@link #FUNCTIONS_OF_DEPENDENCY}, one row each (a set-returning expression for a SELECT list). */
    static final String FUNCTION_OF_DEPENDENCY = "pg_catalog.unnest(" + FUNCTIONS_OF_DEPENDENCY + ")";

    /**
     * Joined after {@code JOIN pg_depend d ON ... AND}: each function that dependency makes the server call, as
     * {@code function} (see {@link #FUNCTIONS_OF_DEPENDENCY}).
     */
    static String dependedOnFunction(String function) {
        return "d.refclassid IN ('pg_catalog.pg_proc'::pg_catalog.regclass, "
                + "'pg_catalog.pg_operator'::pg_catalog.regclass) JOIN pg_catalog.pg_proc " + function + " ON "
                + function + ".oid = ANY (" + FUNCTIONS_OF_DEPENDENCY + ") ";
    }

    /**
     * {@code reach (relid, typ)}: the types {@code seed} gives ({@code relid, typ} rows) and each type they reach: a
     * domain's base type, an array's element, a composite's fields, recursively.
     */
    private static String typesReached(String seed) {
        return "WITH RECURSIVE reach (relid, typ) AS (" + seed + " "
                + "UNION SELECT r.relid, x.typ FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.typ "
                + "CROSS JOIN LATERAL (SELECT t.typbasetype UNION ALL SELECT t.typelem " + RANGE_PARTS
                + " UNION ALL SELECT f.atttypid "
                + "FROM pg_catalog.pg_attribute f WHERE f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped) "
                + "x (typ) WHERE x.typ <> 0) ";
    }

    /**
     * The user functions a value stored as one of the types {@code seed} gives runs, as {@code (relid, fid)} rows:
     * the checks of each domain those types reach ({@link #typesReached}) and each assignment or implicit cast into
     * a type reached that a user made (one into a built-in type runs only for a value of its source type, which a
     * read of a column of that type, a cast to it or a call returning it brings along: see {@link #castsOutOfTypes}),
     * and a range type's subtype class ({@link #RANGE_CLASS_OF_REACHED}: making a range compares its bounds).
     */
    static String functionsForTypes(String seed) {
        return "(" + typesReached(seed)
                + "SELECT r.relid, " + FUNCTION_OF_DEPENDENCY + " AS fid FROM reach r "
                + "JOIN pg_catalog.pg_constraint o ON o.contypid = r.typ "
                + dependencyOnAFunction("pg_catalog.pg_constraint", "o.oid")
                + "UNION SELECT r.relid, c.castfunc FROM reach r JOIN pg_catalog.pg_cast c ON c.casttarget = r.typ "
                + "AND r.typ >= 16384 AND c.castcontext IN ('a', 'i') AND c.castfunc <> 0 "
                + "UNION " + RANGE_CLASS_OF_REACHED + ")";
    }

    /**
     * The user functions the DEFAULT of each domain the types {@code seed} gives reach calls, as {@code (relid, fid)}
     * rows: a column of such a type without a default of its own takes it (see {@link #typesReached}).
     */
    static String domainDefaultsOfTypes(String seed) {
        return "(" + typesReached(seed)
                + "SELECT r.relid, " + FUNCTION_OF_DEPENDENCY + " AS fid FROM reach r "
                + "JOIN pg_catalog.pg_type t ON t.oid = r.typ AND t.typtype = 'd' AND t.typdefaultbin IS NOT NULL "
                + dependencyOnAFunction("pg_catalog.pg_type", "t.oid") + ")";
    }

    /** {@code JOIN pg_depend d}: each dependency of {@code object} (in {@code catalog}) on a function or operator. */
    private static String dependencyOnAFunction(String catalog, String object) {
        return "JOIN pg_catalog.pg_depend d ON d.classid = '" + catalog + "'::pg_catalog.regclass "
                + "AND d.objid = " + object + " AND d.refclassid IN ('pg_catalog.pg_proc'::pg_catalog.regclass, "
                + "'pg_catalog.pg_operator'::pg_catalog.regclass) ";
    }

    /**
     * After {@link #typesReached}: as {@code (relid, fid)} rows, the user support functions of a range type's
     * subtype operator class, which compares its bounds whenever a range of it is made or compared.
     */
    private static final String RANGE_CLASS_OF_REACHED = "SELECT r.relid, ap.amproc::pg_catalog.oid AS fid "
            + "FROM reach r "
            + "JOIN pg_catalog.pg_range g ON r.typ IN (g.rngtypid, g.rngmultitypid) "
            + "JOIN pg_catalog.pg_opclass oc ON oc.oid = g.rngsubopc "
            + "JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = oc.opcfamily "
            + "AND ap.amproclefttype = oc.opcintype AND ap.amprocrighttype = oc.opcintype "
            + "WHERE ap.amproc::pg_catalog.oid >= 16384";

    /**
     * After {@link #typesReached}: as {@code (relid, fid)} rows, the user functions (support functions, and those
     * of the operators) of the operator families the server compares, sorts and hashes a value of a type reached
     * with where no expression names an operator
     * (ORDER BY, DISTINCT, GROUP BY, a window's ORDER BY, max, array and row comparison, a range's bounds): those
     * of each default operator class of the type, and of a range type's subtype operator class (its bounds are
     * compared whenever a range is made or compared). The members for the class's own type only, as the type's cache
     * takes them (see {@link #INDEX_SUPPORT}).
     */
    private static final String SUPPORT_OF_REACHED = "SELECT r.relid, ap.amproc::pg_catalog.oid AS fid FROM reach r "
            + "JOIN pg_catalog.pg_opclass oc ON oc.opcintype = r.typ AND oc.opcdefault "
            + "JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = oc.opcfamily "
            + "AND ap.amproclefttype = oc.opcintype AND ap.amprocrighttype = oc.opcintype "
            + "WHERE ap.amproc::pg_catalog.oid >= 16384 "
            // ... and the functions of its operators: GROUP BY, UNION, PARTITION BY and array_position compare with
            // the class's = (which the type's cache takes from it), by no name in the text.
            + "UNION SELECT r.relid, o.oprcode::pg_catalog.oid FROM reach r "
            + "JOIN pg_catalog.pg_opclass oc ON oc.opcintype = r.typ AND oc.opcdefault "
            + "JOIN pg_catalog.pg_amop am ON am.amopfamily = oc.opcfamily "
            + "AND am.amoplefttype = oc.opcintype AND am.amoprighttype = oc.opcintype "
            + "JOIN pg_catalog.pg_operator o ON o.oid = am.amopopr WHERE o.oprcode::pg_catalog.oid >= 16384 "
            + "UNION " + RANGE_CLASS_OF_REACHED;

    /**
     * The user functions a value of one of the types {@code seed} gives runs when it is taken where another type
     * is wanted (a built-in function's argument, a column of another type): each cast out of a user's type reached,
     * whatever its context, as {@code (relid, fid)} rows; when it is sorted or compared ({@link #SUPPORT_OF_REACHED});
     * and when it is sent in binary (its type's send function). (A cast out of a built-in type into a user's runs where
     * the user's type is: a column, a parameter or a result of it, see {@link #functionsForTypes}.) Explicit casts
     * too: the server applies them where no text of the statement writes one (an attacker's pass, a109: to_json,
     * row_to_json, json_agg and the other JSON builders convert a user's type with its cast to json or jsonb, json.c's
     * categorizing; {@code c || 'x'}, quote_literal and quote_nullable are built-in SQL functions whose bodies write
     * {@code $1::text}).
     */
    static String castsOutOfTypes(String seed) {
        return "(" + typesReached(seed) + "SELECT r.relid, c.castfunc AS fid FROM reach r "
                + "JOIN pg_catalog.pg_cast c ON c.castsource = r.typ AND r.typ >= 16384 "
                + "AND c.castfunc <> 0 "
                // (Not a range's cast into its multirange: the built-in constructor the server made with the type,
                // whose multirange reaches the range again, a loop of calls Warden would count as unreadable.)
                + "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_range g WHERE g.rngtypid = c.castsource "
                + "AND g.rngmultitypid = c.casttarget) UNION " + SUPPORT_OF_REACHED + " "
                // The type's send function, which the server runs for each value it sends in binary (a Bind's
                // result format, COPY ... (FORMAT binary), array_send, record_send).
                + "UNION SELECT r.relid, t.typsend::pg_catalog.oid FROM reach r JOIN pg_catalog.pg_type t "
                + "ON t.oid = r.typ AND t.typsend::pg_catalog.oid >= 16384)";
    }

    /**
     * A call ({@code kind} w or r) of each user function {@code functions} gives for the columns of these relations
     * (see {@link #functionsForTypes}, {@link #castsOutOfTypes}).
     */
    private static String calledForColumnTypes(String kind, java.util.function.UnaryOperator<String> functions) {
        return calledForColumnTypes(kind, functions,
                dev.warden.proxy.guardrails.Guardrails.NamedRelations.CHECKED_OVER_EVERY_ROW);
    }

    /**
     * The user support functions of the operator classes the server sorts the values of these relations' columns
     * with (see {@link #SUPPORT_OF_REACHED}), as computed over every row: building an index on a column with its
     * type's default class, and ANALYZE, sort every value there.
     */
    static String sortedForColumnTypes() {
        return calledForColumnTypes("w", seed -> "(" + typesReached(seed) + SUPPORT_OF_REACHED + ")",
                dev.warden.proxy.guardrails.Guardrails.NamedRelations.COMPUTED_OVER_EVERY_ROW);
    }

    private static String calledForColumnTypes(String kind, java.util.function.UnaryOperator<String> functions,
                                               String name) {
        return "SELECT r.relid::int8, '" + kind + "', 'SELECT ' "
                + "|| pg_catalog.quote_ident(fn.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '() AS "
                + name + "' "
                + "FROM " + functions.apply("SELECT a.attrelid, a.atttypid FROM pg_catalog.pg_attribute a "
                + "WHERE a.attrelid::int8 = ANY (?) AND a.attnum > 0 AND NOT a.attisdropped") + " r "
                + "JOIN pg_catalog.pg_proc p ON p.oid = r.fid JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace "
                + "WHERE p.oid >= 16384";
    }

    /**
     * The user function a range type's {@code subtype_diff} is, for each column of such a type (or of a domain or
     * array over one, or its multirange): the server calls it with no expression naming it, to estimate a range
     * operator's selectivity on an analyzed column (any read), to ANALYZE the column and to place a row in a GiST
     * index on it. Formatted with the kind and the call's suffix.
     */
    static final String RANGE_DIFFERENCE = "SELECT a.attrelid::int8, '%s', 'SELECT ' "
            + "|| pg_catalog.quote_ident(fn.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '()%s' "
            + "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
            + "JOIN pg_catalog.pg_range g ON (g.rngtypid IN (t.oid, t.typbasetype, t.typelem) "
            + "OR g.rngmultitypid IN (t.oid, t.typbasetype, t.typelem)) "
            + "JOIN pg_catalog.pg_proc p ON p.oid = g.rngsubdiff "
            + "JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace "
            + "WHERE a.attrelid::int8 = ANY (?) AND a.attnum > 0 AND NOT a.attisdropped AND p.oid >= 16384";

    /**
     * The user support functions of the operator classes of the indexes of these relations (by table, or by index
     * itself: formatted with the column, the kind and a suffix). Those of the class's own type only, as the server
     * loads an index's support (LookupOpclassInfo: left and right type the class's input type): the family's
     * cross-type members run only for a comparison with the other type, whose operator the statement's own
     * resolution finds. Taking the whole family made every index on an integer column unreadable once a superuser
     * had added a cross-type function to the built-in integer_ops (the regression suite's equivclass does), and every
     * masked identity's write to such a table then had its messages and RETURNING masked.
     */
    private static final String OVER_EVERY_ROW = " AS "
            + dev.warden.proxy.guardrails.Guardrails.NamedRelations.COMPUTED_OVER_EVERY_ROW;

    static final String INDEX_SUPPORT = "SELECT %s::int8, '%s', 'SELECT ' "
            + "|| pg_catalog.quote_ident(fn.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '()%s' "
            + "FROM pg_catalog.pg_index x JOIN pg_catalog.pg_opclass oc "
            + "ON oc.oid = ANY (x.indclass::pg_catalog.oid[]) "
            + "JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = oc.opcfamily "
            + "AND ap.amproclefttype = oc.opcintype AND ap.amprocrighttype = oc.opcintype "
            + "JOIN pg_catalog.pg_proc p ON p.oid = ap.amproc JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace "
            + "WHERE %1$s::int8 = ANY (?) AND p.oid >= 16384";

    /** Where the server finds the user functions it calls for a relation: {@code pg_depend} of these objects. */
    private static final String CALLED = "SELECT %s::int8, '%s', 'SELECT ' "
            + "|| pg_catalog.quote_ident(fn.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '()' "
            + "FROM %s JOIN pg_catalog.pg_depend d ON d.classid = '%s'::pg_catalog.regclass AND d.objid = o.oid "
            + "AND d.refclassid IN ('pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_operator'::pg_catalog.regclass) "
            + "JOIN pg_catalog.pg_proc p ON p.oid = ANY (" + FUNCTIONS_OF_DEPENDENCY + ") "
            + "JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace "
            + "WHERE %s::int8 = ANY (?) AND p.oid >= 16384";

    /**
     * The column name {@link #runTexts} gives a call whose result goes into the row being written (a BEFORE ROW or
     * INSTEAD OF trigger's function, a column's or its domain's default): what it reads is stored in that row,
     * under the written table's column names (see {@link CatalogCache#setsTheRow}).
     */
    static final String SETS_THE_ROW = "sets_the_written_row";

    /** {@link #CALLED}, for what computes a value of the row being written (a column default): see SETS_THE_ROW. */
    private static final String CALLED_FOR_ROW = CALLED.replace("|| '()' ", "|| '() AS " + SETS_THE_ROW + "' ");

    /**
     * {@link #CALLED}, for what checks or computes a value of every row when ALTER TABLE rewrites or validates the
     * rows there (a CHECK constraint, a domain's check, a cast into a column's type, a partition key): see
     * CHECKED_OVER_EVERY_ROW.
     */
    private static final String CALLED_CHECKING_EVERY_ROW = CALLED.replace("|| '()' ", "|| '() AS "
            + dev.warden.proxy.guardrails.Guardrails.NamedRelations.CHECKED_OVER_EVERY_ROW + "' ");

    /**
     * The relation of a trigger {@code o} whose dependency on a function {@code p} is its WHEN condition's: null (no
     * relation) for its dependency on the function it calls.
     */
    private static final String TRIGGER_CONDITION_OF = "(CASE WHEN p.oid <> o.tgfoid THEN o.tgrelid END)";

    /** {@link #CALLED}, for what an index or a statistics object computes (see COMPUTED_OVER_EVERY_ROW). */
    private static final String CALLED_OVER_EVERY_ROW = CALLED.replace("|| '()' ", "|| '() AS "
            + dev.warden.proxy.guardrails.Guardrails.NamedRelations.COMPUTED_OVER_EVERY_ROW + "' ");

    /**
     * An expression's text with each {@code ('s'::text)::regclass} (how the server shows a sequence named as text)
     * written {@code 's'}: the literal names the sequence, which the analysis reads as it reads one typed in.
     */
    private static final String NAMED_AS_TEXT = "pg_catalog.regexp_replace(%s, "
            + "'\\(''((?:[^'']|'''')*)''::text\\)::regclass', '''\\1''', 'g')";

    /**
     * The sequences the server may move for a relation: a {@code nextval} call of each sequence these objects
     * depend on (a default, constraint, view or policy that names one calls nextval or setval with it; a serial
     * column's own sequence too).
     */
    private static final String SEQUENCES = "SELECT %s::int8, '%s', 'SELECT pg_catalog.nextval(' "
            + "|| pg_catalog.quote_literal(pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(sc.relname)) "
            + "|| ')' FROM %s JOIN pg_catalog.pg_depend d ON d.classid = '%s'::pg_catalog.regclass AND d.objid = o.oid "
            + "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
            + "JOIN pg_catalog.pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S' "
            + "JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace WHERE %s::int8 = ANY (?)";

    /** The kind {@link #runTexts} gives an expression evaluated over each row (see {@link Relation#evaluated}). */
    private static final String EVALUATED = "e";
    /** The kind {@link #runTexts} gives a row security policy's USING, evaluated over each row read too. */
    private static final String EVALUATED_ON_READ = "p";
    /**
     * The kind {@link #runTexts} gives a call of a function that converting a value to a column's type runs (a
     * domain's check, a cast, a type's input): a read comparing the column with a literal or parameter runs it.
     */
    private static final String CONVERTED_ON_READ = "c";
    /** The kind {@link #runTexts} gives a trigger's definition whose WHEN condition is evaluated over each row. */
    private static final String WHEN = "when";

    /**
     * The kind {@link #runTexts} gives what a write runs that a write through a partitioned or parent table runs for
     * this one's rows too (see {@link Relation#onWriteThroughParent}).
     */
    private static final String THROUGH_PARENT = "a";

    /**
     * In the recursion over the types a type reaches: a range's subtype (reading a range reads its bounds as the
     * subtype: a domain's check runs) and a multirange's range (an attacker's pass, 2026-12-06: a range over a domain
     * whose check read e-mails raised them in clear, where an array of the domain was masked).
     */
    private static final String RANGE_PARTS = "UNION ALL SELECT g.rngsubtype FROM pg_catalog.pg_range g "
            + "WHERE g.rngtypid = t.oid UNION ALL SELECT g.rngtypid FROM pg_catalog.pg_range g WHERE g.rngmultitypid = t.oid";

    /** Each column of the relations asked about with its type, as the seed of {@link #typesReached}. */
    private static final String COLUMN_TYPES = "SELECT a.attrelid, a.atttypid FROM pg_catalog.pg_attribute a "
            + "WHERE a.attrelid::int8 = ANY (?) AND a.attnum > 0 AND NOT a.attisdropped";

    /**
     * A call of {@code nextval(regclass)} (1574) or {@code setval(regclass, int8 [, bool])} (1576, 1765) in a stored
     * expression tree ({@code pg_node_tree} as text): built-in functions' ids are fixed across PostgreSQL versions.
     */
    static final String SEQUENCE_MOVERS = ":funcid (1574|1576|1765) ";

    /** A CHECK constraint's definition ({@code pg_get_constraintdef}) without CHECK and its flags: its expression. */
    private static final String CHECK_EXPRESSION = "pg_catalog.regexp_replace(pg_catalog.pg_get_constraintdef(o.oid), "
            + "'^CHECK (.*\\))( NO INHERIT)?( NOT VALID)?$', '\\1')";

    private static final String RELATION_NAMED = "pg_catalog.quote_ident(n.nspname) || '.' "
            + "|| pg_catalog.quote_ident(c.relname)";

    /**
     * The name {@link #EVALUATED_OVER_ROWS} gives a partitioned table's key ({@code SELECT (key) AS
     * routed_by_partition_key FROM t}) and a partition's constraint (its bound over the parents' keys; a lone default
     * partition has none, and its parent's key stands for it: a partition made beside it checks its rows): the server
     * computes them over each row written to choose its partition (or to refuse it), and over the rows of a table
     * attached as a partition. Which partition a row lands in ({@code tableoid}) and whether it fits tell what the
     * key computed from its values.
     */
    static final String ROUTED = "routed_by_partition_key";

    /**
     * For {@link #runTexts}: what the server evaluates over each row of these relations with the row's columns as
     * arguments (see {@link Relation#evaluated}), as a SELECT of the expression over the relation, so that the
     * analysis sees which columns reach which calls, built-in ones too ({@code set_config(..., email)}):
     * <ul>
     * <li>each CHECK constraint, {@code SELECT (expr) AS checked_over_every_row FROM t};</li>
     * <li>each CHECK constraint of a domain a column's type reaches (the column's own, a domain's base, an array's
     * element, a composite's field), its {@code VALUE} the column:
     * {@code SELECT (expr) AS checked_over_every_row FROM (SELECT col AS value FROM t) AS d};</li>
     * <li>each row security policy's USING (kind {@link #EVALUATED_ON_READ}) and WITH CHECK,
     * {@code SELECT (expr) FROM t};</li>
     * <li>each trigger's definition with a WHEN condition, kind {@link #WHEN}: {@link #withRun} makes it
     * {@code SELECT (condition) FROM t AS new, t AS old};</li>
     * <li>each stored generated column g, {@code INSERT INTO t (g) SELECT expr FROM t}: the value it computes is
     * stored under g's name (a column it reads may have been renamed to a masked name since the CREATE was judged),
     * and a CHECK over g sees it.</li>
     * </ul>
     * Deparsing an expression of a table takes a lock on it, so one of a table another transaction holds exclusively
     * (the client's own, after ALTER TABLE in a transaction) is not read: its text is null (the lookup would wait
     * for that transaction, which waits for the statement Warden is judging).
     */
    private static final String EVALUATED_OVER_ROWS = "SELECT o.conrelid::int8, '" + EVALUATED + "', CASE WHEN "
            + RelationCatalog.LOCKED + " THEN NULL ELSE 'SELECT ' || " + CHECK_EXPRESSION + " || ' AS "
            + dev.warden.proxy.guardrails.Guardrails.NamedRelations.CHECKED_OVER_EVERY_ROW + " FROM ' || "
            + RELATION_NAMED + " END FROM pg_catalog.pg_constraint o JOIN pg_catalog.pg_class c ON c.oid = o.conrelid "
            + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE o.contype = 'c' AND o.conrelid::int8 = ANY (?) "
            + "UNION ALL SELECT r.relid::int8, '" + EVALUATED + "', 'SELECT ' || " + CHECK_EXPRESSION + " || ' AS "
            + dev.warden.proxy.guardrails.Guardrails.NamedRelations.CHECKED_OVER_EVERY_ROW + " FROM (SELECT ' "
            + "|| pg_catalog.quote_ident(r.col) || ' AS value FROM ' || " + RELATION_NAMED + " || ') AS d' "
            + "FROM (WITH RECURSIVE reach (relid, col, typ) AS (SELECT a.attrelid, a.attname, a.atttypid "
            + "FROM pg_catalog.pg_attribute a WHERE a.attrelid::int8 = ANY (?) AND a.attnum > 0 AND NOT a.attisdropped "
            + "UNION SELECT r.relid, r.col, x.typ FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.typ "
            + "CROSS JOIN LATERAL (SELECT t.typbasetype UNION ALL SELECT t.typelem " + RANGE_PARTS
            + " UNION ALL SELECT f.atttypid "
            + "FROM pg_catalog.pg_attribute f WHERE f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped) "
            + "x (typ) WHERE x.typ <> 0) SELECT * FROM reach) r "
            + "JOIN pg_catalog.pg_constraint o ON o.contypid = r.typ AND o.contype = 'c' "
            + "JOIN pg_catalog.pg_class c ON c.oid = r.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            + "UNION ALL SELECT o.polrelid::int8, e.kind, CASE WHEN " + RelationCatalog.LOCKED + " THEN NULL "
            + "ELSE 'SELECT (' || pg_catalog.pg_get_expr(e.expr, o.polrelid) || ') FROM ' || " + RELATION_NAMED
            + " END FROM pg_catalog.pg_policy o CROSS JOIN LATERAL (VALUES ('" + EVALUATED_ON_READ + "', o.polqual), "
            + "('" + EVALUATED + "', o.polwithcheck)) e (kind, expr) "
            + "JOIN pg_catalog.pg_class c ON c.oid = o.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE e.expr IS NOT NULL AND o.polrelid::int8 = ANY (?) "
            + "UNION ALL SELECT t.tgrelid::int8, '" + WHEN + "', CASE WHEN " + RelationCatalog.LOCKED + " THEN NULL "
            + "ELSE pg_catalog.pg_get_triggerdef(t.oid) END FROM pg_catalog.pg_trigger t "
            + "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid WHERE t.tgrelid::int8 = ANY (?) AND t.tgqual IS NOT NULL "
            + "UNION ALL SELECT o.adrelid::int8, '" + EVALUATED + "', CASE WHEN " + RelationCatalog.LOCKED + " THEN NULL "
            + "ELSE 'INSERT INTO ' || " + RELATION_NAMED + " || ' (' || pg_catalog.quote_ident(a.attname) "
            + "|| ') SELECT ' || pg_catalog.pg_get_expr(o.adbin, o.adrelid) || ' FROM ' || " + RELATION_NAMED + " END "
            + "FROM pg_catalog.pg_attrdef o "
            + "JOIN pg_catalog.pg_attribute a ON a.attrelid = o.adrelid AND a.attnum = o.adnum AND a.attgenerated = 's' "
            + "JOIN pg_catalog.pg_class c ON c.oid = o.adrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE o.adrelid::int8 = ANY (?) "
            // A partitioned table's key (its strategy word cut off) and a partition's constraint: see ROUTED.
            // pg_get_partkeydef locks the table too (it waited behind ALTER TABLE ... ENABLE ROW LEVEL SECURITY in
            // the client's open transaction, 2026-12-06).
            + "UNION ALL SELECT c.oid::int8, '" + EVALUATED + "', CASE WHEN " + RelationCatalog.LOCKED + " THEN NULL "
            + "ELSE 'SELECT ' || pg_catalog.regexp_replace("
            + "pg_catalog.pg_get_partkeydef(c.oid), '^[A-Za-z]+ ', '') || ' AS " + ROUTED + " FROM ' || "
            + RELATION_NAMED + " END FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE c.relkind = 'p' AND c.oid::int8 = ANY (?) "
            // A partition's constraint is read with its table and its parent open.
            + "UNION ALL SELECT c.oid::int8, '" + EVALUATED + "', CASE WHEN " + RelationCatalog.LOCKED + " OR "
            + RelationCatalog.LOCKED.replace("l.relation = c.oid", "l.relation = i.inhparent") + " THEN NULL "
            + "ELSE 'SELECT (' || COALESCE(pg_catalog.pg_get_partition_constraintdef(c.oid), pg_catalog.regexp_replace("
            + "pg_catalog.pg_get_partkeydef(i.inhparent), '^[A-Za-z]+ ', '')) || ') AS " + ROUTED + " FROM ' || "
            + RELATION_NAMED + " END FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            + "JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid WHERE c.relispartition AND c.oid::int8 = ANY (?)";

    private static final String REFERENCING = "pg_catalog.quote_ident(cn.nspname) || '.' "
            + "|| pg_catalog.quote_ident(cc.relname)";
    private static final String FOREIGN_KEYS = "FROM pg_catalog.pg_constraint o "
            + "JOIN pg_catalog.pg_class cc ON cc.oid = o.conrelid "
            + "JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace "
            + "WHERE o.contype = 'f' AND o.confrelid::int8 = ANY (?) ";

    /**
     * The texts of what writing ({@code w}) or reading ({@code r}) these relations runs, each as
     * {@code {kind, text}}: {@code CREATE RULE} for each rewrite rule but a view's {@code _RETURN};
     * {@code SELECT f()} for the function of each trigger a user made (not those of foreign keys; of kind
     * {@link #THROUGH_PARENT} for a row-level or TRUNCATE trigger), and for each
     * user function (not built in) that a column default, a CHECK constraint (of the
     * table, or of a column's domain), a view's definition, a row security policy, an index or a statistics object
     * calls (the last two named {@code AS computed_over_every_row});
     * {@code SELECT nextval(s)} for each sequence one of those (but a domain's) names; {@code SELECT e} for each
     * column default e that calls nextval or setval (naming its sequence as text leaves no dependency) and for the
     * default of each column's domain; and
     * {@code DELETE FROM t} or {@code UPDATE t} for each table t whose foreign keys cascade, or set null or
     * default, on a write (an update's cascade as {@code UPDATE t SET fk = referenced.key FROM ... AS referenced}).
     * A rule whose relations another transaction holds exclusively is not read (deparsing it would wait for that
     * transaction): its text is null. And, of kinds {@link #EVALUATED},
     * {@link #EVALUATED_ON_READ} and {@link #WHEN}, the expressions evaluated over each row with its values
     * ({@link #EVALUATED_OVER_ROWS}).
     */
    private static Map<Long, List<String[]>> runTexts(Connection connection, Set<Long> oids) throws SQLException {
        Map<Long, List<String[]>> out = new HashMap<>();
        String sql = "SELECT w.ev_class::int8, 'w', CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_depend d "
                        + "JOIN pg_catalog.pg_locks l ON l.locktype = 'relation' AND l.relation = d.refobjid "
                        + "AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.database = (SELECT b.oid "
                        + "FROM pg_catalog.pg_database b WHERE b.datname = current_database()) "
                        + "WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = w.oid "
                        + "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass) THEN NULL "
                        + "ELSE pg_catalog.pg_get_ruledef(w.oid) END "
                        + "FROM pg_catalog.pg_rewrite w WHERE w.ev_class::int8 = ANY (?) AND w.rulename <> '_RETURN' "
                        // A call of each trigger's function: its effects (the statements of its body, and the
                        // functions it calls in expressions too) are applied where it is judged.
                        // A BEFORE ROW or INSTEAD OF trigger (tgtype bits ROW 1, BEFORE 2, INSTEAD 64) may set
                        // the row being written: its call says so (see SETS_THE_ROW).
                        // A row-level or TRUNCATE trigger fires for a write through a parent too (THROUGH_PARENT).
                        + "UNION ALL SELECT t.tgrelid::int8, CASE WHEN t.tgtype::int4 & 33 <> 0 THEN '"
                        + THROUGH_PARENT + "' ELSE 'w' END, 'SELECT ' || pg_catalog.quote_ident(tn.nspname) "
                        + "|| '.' || pg_catalog.quote_ident(tp.proname) || '()' || CASE WHEN t.tgtype::int4 & 3 = 3 "
                        + "OR t.tgtype::int4 & 64 <> 0 THEN ' AS " + SETS_THE_ROW + "' "
                        // A transition table (REFERENCING NEW TABLE AS nt) holds the rows written, under a name
                        // only the body knows: the call reads them whole, as NEW (see rowOfWriteColumns).
                        + "WHEN t.tgnewtable IS NOT NULL OR t.tgoldtable IS NOT NULL THEN ' AS \"new\"' ELSE '' END "
                        + "FROM pg_catalog.pg_trigger t "
                        + "JOIN pg_catalog.pg_proc tp ON tp.oid = t.tgfoid "
                        + "JOIN pg_catalog.pg_namespace tn ON tn.oid = tp.pronamespace "
                        + "WHERE t.tgrelid::int8 = ANY (?) AND NOT t.tgisinternal "
                        // A trigger's WHEN condition, evaluated for each row before its function is called (the
                        // trigger's dependency on its function is left to the call above).
                        + "UNION ALL " + CALLED.formatted(TRIGGER_CONDITION_OF, "w",
                        "(SELECT t.oid, t.tgrelid, t.tgfoid FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal) o",
                        "pg_catalog.pg_trigger", TRIGGER_CONDITION_OF) + " "
                        + "UNION ALL " + CALLED_FOR_ROW.formatted("o.adrelid", "w", "pg_catalog.pg_attrdef o",
                        "pg_catalog.pg_attrdef", "o.adrelid")
                        + " UNION ALL " + CALLED_CHECKING_EVERY_ROW.formatted("o.conrelid", "w",
                        "pg_catalog.pg_constraint o", "pg_catalog.pg_constraint", "o.conrelid")
                        + " UNION ALL " + CALLED.formatted("o.ev_class", "r", "pg_catalog.pg_rewrite o",
                        "pg_catalog.pg_rewrite", "o.ev_class")
                        + " UNION ALL " + CALLED.formatted("o.polrelid", "r", "pg_catalog.pg_policy o",
                        "pg_catalog.pg_policy", "o.polrelid")
                        // An index's expressions and predicate, computed for each row written (a statistics
                        // object's only by ANALYZE; counted with writes too, which only errs towards refusing).
                        + " UNION ALL " + CALLED_OVER_EVERY_ROW.formatted("o.indrelid", "w",
                        "(SELECT x.indexrelid AS oid, x.indrelid FROM pg_catalog.pg_index x) o", "pg_catalog.pg_class",
                        "o.indrelid")
                        // An index's operator classes' support functions: a btree's comparison, a hash index's
                        // hash..., run to place each row written and to search it for a read.
                        + " UNION ALL " + INDEX_SUPPORT.formatted("x.indrelid", "w", OVER_EVERY_ROW) + " UNION ALL "
                        + INDEX_SUPPORT.formatted("x.indrelid", "r", "")
                        + " UNION ALL " + INDEX_SUPPORT.formatted("x.indexrelid", "w", OVER_EVERY_ROW)
                        // An index's own, for REINDEX INDEX.
                        + " UNION ALL " + CALLED_OVER_EVERY_ROW.formatted("o.oid", "w",
                        "(SELECT x.indexrelid AS oid FROM pg_catalog.pg_index x) o", "pg_catalog.pg_class", "o.oid")
                        + " UNION ALL " + CALLED_OVER_EVERY_ROW.formatted("o.stxrelid", "w",
                        "pg_catalog.pg_statistic_ext o", "pg_catalog.pg_statistic_ext", "o.stxrelid")
                        // A partition key's expressions, computed for each row routed (and by ATTACH PARTITION).
                        + " UNION ALL " + CALLED_CHECKING_EVERY_ROW.formatted("o.oid", "w",
                        "(SELECT x.partrelid AS oid FROM pg_catalog.pg_partitioned_table x) o", "pg_catalog.pg_class",
                        "o.oid")
                        // The domains' CHECK constraints and the casts into the types of the columns (written),
                        // and the casts out of them (read: a value taken where another type is wanted).
                        + " UNION ALL " + calledForColumnTypes("w", RelationCatalog::functionsForTypes)
                        + " UNION ALL " + calledForColumnTypes("r", RelationCatalog::castsOutOfTypes)
                        + " UNION ALL " + sortedForColumnTypes()
                        + " UNION ALL " + RANGE_DIFFERENCE.formatted("r", "")
                        + " UNION ALL " + RANGE_DIFFERENCE.formatted("w", " AS "
                        + dev.warden.proxy.guardrails.Guardrails.NamedRelations.COMPUTED_OVER_EVERY_ROW)
                        + " UNION ALL " + SEQUENCES.formatted("o.adrelid", "w", "pg_catalog.pg_attrdef o",
                        "pg_catalog.pg_attrdef", "o.adrelid")
                        + " UNION ALL " + SEQUENCES.formatted("o.conrelid", "w", "pg_catalog.pg_constraint o",
                        "pg_catalog.pg_constraint", "o.conrelid")
                        + " UNION ALL " + SEQUENCES.formatted("o.ev_class", "r", "pg_catalog.pg_rewrite o",
                        "pg_catalog.pg_rewrite", "o.ev_class")
                        + " UNION ALL " + SEQUENCES.formatted("o.polrelid", "r", "pg_catalog.pg_policy o",
                        "pg_catalog.pg_policy", "o.polrelid")
                        // A default that names its sequence as text (nextval('s'::text)) depends on no sequence, and
                        // a domain's default is the type's, not the table's: their expressions, judged as a SELECT.
                        // Which defaults call nextval or setval is read from the stored expression tree (their
                        // function ids), which takes no lock: deparsing every default of a table to find them took
                        // one, and waited out lock_timeout (5 s) behind the client's own ALTER TABLE in an open
                        // transaction before the statement was refused. Such a default of a table held exclusively
                        // is not read: its text is null (unknown), as a rule's.
                        + " UNION ALL SELECT o.adrelid::int8, 'w', CASE WHEN " + LOCKED + " THEN NULL ELSE 'SELECT ' || "
                        + NAMED_AS_TEXT.formatted("pg_catalog.pg_get_expr(o.adbin, o.adrelid)") + " END "
                        + "FROM pg_catalog.pg_attrdef o JOIN pg_catalog.pg_class c ON c.oid = o.adrelid "
                        + "WHERE o.adrelid::int8 = ANY (?) AND o.adbin::text ~ '" + SEQUENCE_MOVERS + "'"
                        + " UNION ALL SELECT a.attrelid::int8, 'w', 'SELECT ' || " + NAMED_AS_TEXT.formatted(
                        "pg_catalog.pg_get_expr(t.typdefaultbin, 0)") + " || ' AS " + SETS_THE_ROW + "' "
                        + "FROM pg_catalog.pg_attribute a "
                        + "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
                        + "AND t.typtype = 'd' AND t.typdefaultbin IS NOT NULL "
                        + "WHERE a.attrelid::int8 = ANY (?) AND a.attnum > 0 AND NOT a.attisdropped"
                        // A read that compares a column with a literal or a parameter converts it to the column's
                        // type as the server parses or binds the statement: the checks of each domain the column's
                        // type reaches (an array's element, a composite's field), the casts into those types, and a
                        // user type's input function run then, and their errors and notices are the statement's
                        // (an attacker's pass, 2026-12-06: a temporary table's column of an array of a domain whose
                        // check read e-mails and raised them, at Parse, through every protocol).
                        + " UNION ALL SELECT r.relid::int8, '" + CONVERTED_ON_READ + "', 'SELECT ' "
                        + "|| pg_catalog.quote_ident(fn.nspname) "
                        + "|| '.' || pg_catalog.quote_ident(p.proname) || '() AS "
                        + dev.warden.proxy.guardrails.Guardrails.NamedRelations.CONVERTED_ON_READ
                        + "' FROM (SELECT * FROM "
                        + functionsForTypes(COLUMN_TYPES) + " f UNION (" + typesReached(COLUMN_TYPES)
                        + "SELECT r.relid, t.typinput::pg_catalog.oid FROM reach r "
                        + "JOIN pg_catalog.pg_type t ON t.oid = r.typ)) r "
                        + "JOIN pg_catalog.pg_proc p ON p.oid = r.fid JOIN pg_catalog.pg_namespace fn "
                        + "ON fn.oid = p.pronamespace WHERE p.oid >= 16384"
                        // A foreign key's actions: its (internal) triggers delete or update the referencing rows.
                        + " UNION ALL SELECT o.confrelid::int8, 'w', 'DELETE FROM ' || " + REFERENCING
                        + " || ' WHERE true' " + FOREIGN_KEYS + "AND o.confdeltype = 'c' "
                        + "UNION ALL SELECT o.confrelid::int8, 'w', 'UPDATE ' || " + REFERENCING
                        + " || ' SET referencing = NULL WHERE true' " + FOREIGN_KEYS
                        + "AND (o.confdeltype IN ('n', 'd') OR o.confupdtype IN ('n', 'd'))"
                        // ON UPDATE CASCADE stores the referenced columns' new values into the referencing ones,
                        // under their names: a helper's pass (a130) had "references u on update cascade" (u's key a
                        // masked column, named nowhere) copy the SSNs an UPDATE wrote into u into a clear column.
                        + " UNION ALL SELECT o.confrelid::int8, 'w', 'UPDATE ' || " + REFERENCING + " || ' SET ' || "
                        + "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' = referenced.' || "
                        + "pg_catalog.quote_ident(b.attname), ', ') FROM ROWS FROM (pg_catalog.unnest(o.conkey), "
                        + "pg_catalog.unnest(o.confkey)) AS k(fk, pk) "
                        + "JOIN pg_catalog.pg_attribute a ON a.attrelid = o.conrelid AND a.attnum = k.fk "
                        + "JOIN pg_catalog.pg_attribute b ON b.attrelid = o.confrelid AND b.attnum = k.pk) || ' FROM ' "
                        + "|| (SELECT pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(rc.relname) "
                        + "FROM pg_catalog.pg_class rc JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
                        + "WHERE rc.oid = o.confrelid) || ' AS referenced WHERE true' " + FOREIGN_KEYS
                        + "AND o.confupdtype = 'c'"
                        + " UNION ALL " + EVALUATED_OVER_ROWS;
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            java.sql.Array array = connection.createArrayOf("int8", oids.toArray());
            // Each parameter is the array of relations, as "= ANY (?)" (a '?' in a regular expression is none).
            int parameters = sql.split("ANY \\(\\?\\)", -1).length - 1;
            for (int i = 1; i <= parameters; i++) {
                ps.setArray(i, array);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>())
                            .add(new String[] {rs.getString(2), rs.getString(3)});
                }
            }
        }
        return out;
    }

    /**
     * {@code r} with what writing and reading it runs: the statements of each text but the CREATE that carries
     * them. What runs SQL built at run time, or could not be read, leaves it unknown (null): what a write runs for
     * any of them, what a read runs only for those a read runs (a trigger that routes rows with EXECUTE leaves a
     * read of the table known).
     */
    private static Relation withRun(Relation r, List<String[]> texts, Analyzer analyzer) {
        List<StatementFacts> onWrite = new ArrayList<>();
        List<StatementFacts> onRead = new ArrayList<>();
        List<StatementFacts> evaluated = new ArrayList<>();
        List<StatementFacts> evaluatedOnRead = new ArrayList<>();
        List<StatementFacts> throughParent = new ArrayList<>();
        List<String> read = new ArrayList<>();
        boolean unknown = false;
        boolean unknownRead = false;
        boolean unknownEvaluated = false;
        for (String[] kindAndText : texts) {
            String text = kindAndText[1];
            boolean evaluates = kindAndText[0].equals(EVALUATED) || kindAndText[0].equals(WHEN)
                    || kindAndText[0].equals(EVALUATED_ON_READ);
            if (text != null && kindAndText[0].equals(WHEN)) {
                text = overTheRow(whenCondition(text), r);
            }
            if (text == null && evaluates) {
                unknownEvaluated = true;
                unknownRead |= kindAndText[0].equals(EVALUATED_ON_READ) && r.rowSecurity();
                continue;
            }
            if (text == null) {
                unknown = true;
                unknownRead |= kindAndText[0].equals("r") || kindAndText[0].equals(CONVERTED_ON_READ);
                continue;
            }
            read.add(text);
            if (kindAndText[0].equals(CONVERTED_ON_READ)) {
                // Judged with what a read evaluates (masking), and run by a read (the guardrails).
                List<StatementFacts> statements = analyzer.analyze(text).statements();
                evaluatedOnRead.addAll(statements);
                onRead.addAll(statements);
                continue;
            }
            if (evaluates) {
                List<StatementFacts> statements = analyzer.analyze(text).statements();
                evaluated.addAll(statements);
                if (kindAndText[0].equals(EVALUATED_ON_READ) && r.rowSecurity()) {
                    evaluatedOnRead.addAll(statements); // policies are evaluated on read only where enabled
                    onRead.addAll(statements); // and a read runs what they read (a subquery's table's policies)
                }
                continue;
            }
            List<StatementFacts> into = kindAndText[0].equals("r") ? onRead : onWrite;
            for (StatementFacts top : analyzer.analyze(text).statements()) {
                if (!text.startsWith("CREATE ")) {
                    // A call (its function's effects are applied where it is judged), or a foreign key's action.
                    into.add(top);
                    if (kindAndText[0].equals(THROUGH_PARENT)) {
                        throughParent.add(top);
                    }
                    continue;
                }
                for (StatementFacts f : top.allStatements()) {
                    unknown |= f.dynamicSql();
                    unknownRead |= f.dynamicSql() && into == onRead;
                    if (f != top) {
                        into.add(f);
                    }
                }
            }
        }
        return new Relation(r.schema(), r.name(), r.kind(), r.columns(), r.definition(), r.definitionFacts(),
                unknown ? null : List.copyOf(onWrite), unknownRead ? null : List.copyOf(onRead), List.copyOf(read),
                r.children(), r.kin(), r.staleRows(), r.rowSecurity(),
                unknownEvaluated ? null : List.copyOf(evaluated), unknownEvaluated ? null : List.copyOf(evaluatedOnRead),
                unknown ? null : List.copyOf(throughParent));
    }

    /**
     * A trigger's WHEN condition as a SELECT over {@code r}, its {@code new.} and {@code old.} (as the server
     * deparses them) the rows of {@code r}: what the condition passes on is what those columns hold. Null when
     * {@code condition} is.
     */
    private static String overTheRow(String condition, Relation r) {
        if (condition == null) {
            return null;
        }
        String relation = quote(r.schema()) + "." + quote(r.name());
        return "SELECT " + condition + " FROM " + relation + " AS new, " + relation + " AS old";
    }

    /**
     * The parenthesised WHEN condition of a trigger's definition ({@code pg_get_triggerdef}), or null when it has
     * none that this reads. Found by the first WHEN outside quotes, then its parentheses matched outside quotes:
     * the names before it (the trigger's, the table's, REFERENCING's) may be quoted identifiers holding any text,
     * the condition and the function's arguments strings holding any.
     */
    static String whenCondition(String definition) {
        int depth = 0;
        int start = -1;
        for (int i = 0; i < definition.length(); i++) {
            char c = definition.charAt(i);
            if (c == '"' || c == '\'') {
                // A quoted identifier or a string ends at its quote not doubled; an E'' string escapes with \.
                boolean escapes = c == '\'' && i > 0 && (definition.charAt(i - 1) == 'E' || definition.charAt(i - 1) == 'e');
                int j = i + 1;
                while (j < definition.length()) {
                    char d = definition.charAt(j);
                    if (escapes && d == '\\') {
                        j += 2;
                    } else if (d == c && j + 1 < definition.length() && definition.charAt(j + 1) == c) {
                        j += 2;
                    } else if (d == c) {
                        break;
                    } else {
                        j++;
                    }
                }
                i = j;
            } else if (start < 0) {
                if (c == ' ' && definition.regionMatches(true, i, " WHEN (", 0, 7)) {
                    start = i + 6;
                    i = start - 1;
                }
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                return definition.substring(start, i + 1);
            }
        }
        return null;
    }

    /** {@code schema.name} of each child, as pg_inherits lists them (names as the server keeps them). */
    private static List<dev.warden.sql.TableRef> children(java.sql.Array array) throws SQLException {
        if (array == null) {
            return List.of();
        }
        List<dev.warden.sql.TableRef> out = new ArrayList<>();
        for (String qualified : (String[]) array.getArray()) {
            int dot = qualified.indexOf('.');
            out.add(new dev.warden.sql.TableRef(qualified.substring(0, dot), qualified.substring(dot + 1)));
        }
        return List.copyOf(out);
    }

    /**
     * The materialized views of {@code byOid} whose stored rows may have been computed by something their
     * definitions reach no longer computes, each with why: a view the definition reads was replaced (CREATE OR
     * REPLACE VIEW), a function it calls (directly, through a view, or through another function's body, by name) was
     * replaced, a relation a function body names was made again or had its columns changed, or a materialized view it
     * reads was refreshed, since the rows were computed. Masking judges a materialized view by what its definition
     * reaches now, which then need not be what computed its rows: for an identity that masks, each of its columns is
     * masked (see {@code Exposure}).
     *
     * <p>When the rows were computed is read from the rows themselves: only CREATE ... WITH DATA and REFRESH write
     * them, a plain REFRESH every row with its own transaction id, a CONCURRENTLY one the rows it changes (every row
     * left then matches the definition as it was at that refresh), and CLUSTER and VACUUM FULL keep them. So any one
     * row's {@code xmin} is a lower bound of the last time the rows were made to match the definition. (Not the
     * view's own {@code pg_class.xmin}: ALTER ... OWNER, SET, RENAME, GRANT and CREATE INDEX rewrite that row and
     * recompute nothing.) What could change is compared by the {@code xmin} of its catalog row: the {@code _RETURN}
     * rule of each view reached ({@code pg_depend}, recursively), the {@code pg_proc} row of each user function
     * reached (through {@code pg_depend}, and by every word of a function's body: all overloads, every schema, as
     * {@link FunctionEffects} follows them), the {@code pg_class} row and columns of each relation a body names by a
     * word, and the {@code pg_class} row of each materialized view reached (every REFRESH rewrites it). A change
     * in a later transaction (by {@code age()}), or in the same one at the same or a later command (its
     * {@code cmin}, trusted only when no {@code xmax} says it may be a combo id), makes the rows possibly stale.
     *
     * <p>Fails closed where it cannot tell: rows it cannot read (another transaction holds or waits for the view
     * exclusively, which the read would wait behind; no SELECT privilege; an error) and a row {@code xmin} that
     * looks newer than the view's own {@code pg_class} row or in the future (transaction ids wrapped around) make
     * the rows possibly stale. An empty or unpopulated materialized view holds nothing to tell. Left open (see the
     * README): transaction ids order transactions by when they began to write, not by when they committed, so a
     * change made by a transaction whose id is older than the refresh's but that committed after it (another
     * session's open transaction, or the transaction enclosing a REFRESH run in a savepoint) counts as older; what a
     * function body named that was dropped since (a temporary table, an object of a schema earlier on the
     * refreshing session's search_path) leaves no row to compare; rows older than 2^32 transactions may look new;
     * a REFRESH CONCURRENTLY that leaves some row unchanged keeps that row's older {@code xmin}, so a view stays
     * possibly stale after it (a plain REFRESH clears it).
     */
    static Map<Long, String> staleMaterializedViews(Connection connection, Map<Long, Relation> byOid)
            throws SQLException {
        List<Long> matviews = new ArrayList<>();
        for (Map.Entry<Long, Relation> e : byOid.entrySet()) {
            if (e.getValue().kind() == 'm') {
                matviews.add(e.getKey());
            }
        }
        Map<Long, String> out = new HashMap<>();
        if (matviews.isEmpty()) {
            return out;
        }
        Map<Long, String> readable = new java.util.LinkedHashMap<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT c.oid::int8, c.relispopulated, "
                + "pg_catalog.has_table_privilege(c.oid, 'SELECT'), EXISTS (SELECT 1 FROM pg_catalog.pg_locks l "
                + "WHERE l.locktype = 'relation' AND l.relation = c.oid AND l.mode = 'AccessExclusiveLock' "
                + "AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())), "
                + "pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) "
                + "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.oid::int8 = ANY (?) AND c.relkind = 'm'")) {
            ps.setArray(1, connection.createArrayOf("int8", matviews.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long oid = rs.getLong(1);
                    if (!rs.getBoolean(2)) {
                        continue; // not populated: reading it fails, it holds nothing
                    }
                    if (!rs.getBoolean(3)) {
                        out.put(oid, "Warden cannot read its stored rows to tell when they were computed");
                    } else if (rs.getBoolean(4)) {
                        // A granted or awaited exclusive lock: the read would wait for that transaction.
                        out.put(oid, "another transaction holds it exclusively (a REFRESH, an ALTER), so Warden "
                                + "cannot read when its stored rows were computed");
                    } else {
                        readable.put(oid, rs.getString(5));
                    }
                }
            }
        }
        if (!readable.isEmpty()) {
            readStoredRows(connection, readable, out);
        }
        return out;
    }

    /**
     * The second half of {@link #staleMaterializedViews}: reads one stored row of each materialized view of
     * {@code readable} (oid to its qualified name, as the first query found it) and puts each one whose rows may be
     * stale, or that could not be read, into {@code out}.
     */
    static void readStoredRows(Connection connection, Map<Long, String> readable, Map<Long, String> out)
            throws SQLException {
        StringBuilder rows = new StringBuilder();
        for (Map.Entry<Long, String> e : readable.entrySet()) {
            // The name was found to be this materialized view by the query above, a separate statement: another
            // session may since have dropped it and made a view or a table of that name. Nothing of theirs may run
            // as Warden's login here: TABLESAMPLE is refused for a view at parse time, before anything runs (a
            // view may have a column named xmin); row_security is off on this connection, so a table's policies
            // make the read fail instead of running them; and a row of another relation is told by its tableoid.
            rows.append(rows.length() == 0 ? "" : " UNION ALL ").append("SELECT ").append(e.getKey())
                    .append("::pg_catalog.oid, t.xmin, t.cmin::text::int8, t.xmax <> '0'::pg_catalog.xid, "
                    + "t.tableoid <> ").append(e.getKey()).append("::pg_catalog.oid "
                    + "FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT xmin, cmin, xmax, tableoid FROM ONLY ")
                    .append(e.getValue()).append(" TABLESAMPLE pg_catalog.system (100) LIMIT 1) t ON true");
        }
        String sql = "WITH RECURSIVE mv (mv, x, cid, locked, other) AS (" + rows + "), " + REACHED + ", " + CHANGED
                + "SELECT m.mv::int8, m.x IS NULL, pg_catalog.age(m.x) < 0 OR pg_catalog.age(m.x) "
                + "< pg_catalog.age(k.xmin), (SELECT pg_catalog.string_agg(DISTINCT c.what, ', ') FROM changed c "
                + "WHERE c.mv = m.mv AND (pg_catalog.age(c.x) < pg_catalog.age(m.x) OR pg_catalog.age(c.x) < 0 "
                + "OR (c.x = m.x AND (c.cid >= m.cid OR c.locked OR m.locked)))), m.other IS TRUE "
                + "FROM mv m JOIN pg_catalog.pg_class k ON k.oid = m.mv";
        try (java.sql.Statement s = connection.createStatement()) {
            // A lock taken between the check above and the read: fail at once rather than wait for it.
            s.execute("SET lock_timeout = 200");
            try (ResultSet rs = s.executeQuery(sql)) {
                while (rs.next()) {
                    long oid = rs.getLong(1);
                    if (rs.getBoolean(5)) {
                        out.put(oid, "its name named another relation when Warden read its stored rows");
                        continue;
                    }
                    if (rs.getBoolean(2)) {
                        continue; // empty: nothing stored to leak
                    }
                    if (rs.getBoolean(3)) {
                        out.put(oid, "the transaction id of its stored rows is not one Warden can compare "
                                + "(wrapped around)");
                    } else if (rs.getString(4) != null) {
                        out.put(oid, "its stored rows may predate a change to " + rs.getString(4)
                                + " (until it is refreshed)");
                    }
                }
            } catch (SQLException e) {
                for (Long oid : readable.keySet()) {
                    out.put(oid, "Warden could not read when its stored rows were computed: " + e.getMessage());
                }
            } finally {
                s.execute("RESET lock_timeout");
            }
        }
    }

    /**
     * For {@link #staleMaterializedViews}: {@code reach (mv, classid, objid, named)}, what each materialized view
     * {@code mv} reaches, from its own {@code pg_class} row: what the {@code _RETURN} rule of each relation reached
     * depends on, what each user function reached depends on, an operator's function, and (marked {@code named})
     * every user function and relation named by a word of a user function's body.
     */
    private static final String REACHED = "reach (mv, classid, objid, named) AS ("
            + "SELECT m.mv, 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, m.mv, false FROM mv m "
            + "UNION SELECT r.mv, e.classid, e.objid, e.named FROM reach r CROSS JOIN LATERAL ("
            + "SELECT d.refclassid AS classid, d.refobjid AS objid, false AS named FROM pg_catalog.pg_rewrite w "
            + "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
            + "AND d.objid = w.oid "
            + "WHERE r.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND w.ev_class = r.objid "
            + "AND w.rulename = '_RETURN' AND d.refobjid <> w.ev_class "
            + "UNION ALL SELECT d.refclassid, d.refobjid, false FROM pg_catalog.pg_depend d "
            + "WHERE r.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND r.objid >= 16384 "
            + "AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = r.objid "
            + "UNION ALL SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, o.oprcode::pg_catalog.oid, false "
            + "FROM pg_catalog.pg_operator o "
            + "WHERE r.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = r.objid "
            + "UNION ALL SELECT n.classid, n.objid, true FROM pg_catalog.pg_proc p "
            + "CROSS JOIN LATERAL (SELECT DISTINCT w[1] AS word "
            + "FROM pg_catalog.regexp_matches(p.prosrc, '([[:alpha:]_][[:alnum:]_$]*)', 'g') w) b "
            + "CROSS JOIN LATERAL (SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid AS classid, "
            + "q.oid AS objid FROM pg_catalog.pg_proc q "
            + "WHERE q.proname IN (b.word, pg_catalog.lower(b.word)) AND q.oid >= 16384 "
            + "UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid FROM pg_catalog.pg_class c "
            + "WHERE c.relname IN (b.word, pg_catalog.lower(b.word)) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) n "
            + "WHERE r.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = r.objid AND p.oid >= 16384"
            + ") e)";

    /**
     * For {@link #staleMaterializedViews}: {@code changed (mv, what, x, cid, locked)}, the catalog rows whose
     * change may make {@code mv}'s rows stale, with their {@code xmin}, {@code cmin}, and whether an {@code xmax}
     * makes that {@code cmin} untrustworthy: a view's rule, a user function, a relation a body names (its
     * {@code pg_class} row and its columns), a materialized view read (refreshed).
     */
    private static final String CHANGED = "changed (mv, what, x, cid, locked) AS ("
            + "SELECT r.mv, 'the view ' || w.ev_class::pg_catalog.regclass::text, w.xmin, w.cmin::text::int8, "
            + "w.xmax <> '0'::pg_catalog.xid FROM reach r JOIN pg_catalog.pg_rewrite w "
            + "ON r.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND w.ev_class = r.objid "
            + "AND w.rulename = '_RETURN' JOIN pg_catalog.pg_class c ON c.oid = w.ev_class AND c.relkind = 'v' "
            + "UNION ALL SELECT r.mv, 'the function ' || p.oid::pg_catalog.regprocedure::text, p.xmin, "
            + "p.cmin::text::int8, p.xmax <> '0'::pg_catalog.xid FROM reach r JOIN pg_catalog.pg_proc p "
            + "ON r.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = r.objid AND p.oid >= 16384 "
            + "UNION ALL SELECT r.mv, CASE WHEN c.relkind = 'm' THEN 'the materialized view ' ELSE 'the relation ' "
            + "END || c.oid::pg_catalog.regclass::text, c.xmin, c.cmin::text::int8, c.xmax <> '0'::pg_catalog.xid "
            + "FROM reach r JOIN pg_catalog.pg_class c ON r.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
            + "AND c.oid = r.objid AND c.oid <> r.mv AND (r.named OR c.relkind = 'm') "
            + "UNION ALL SELECT r.mv, 'the columns of ' || c.oid::pg_catalog.regclass::text, a.xmin, "
            + "a.cmin::text::int8, a.xmax <> '0'::pg_catalog.xid FROM reach r JOIN pg_catalog.pg_class c "
            + "ON r.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = r.objid AND r.named "
            + "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0) ";

    /**
     * Whether another transaction holds the view exclusively (the client's own session, in an open transaction
     * after ALTER VIEW): reading its definition would wait for that transaction, so the lookup, on Warden's own
     * connection, could never finish before the client's next statement needs it.
     */
    private static final String LOCKED = "EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.locktype = 'relation' "
            + "AND l.relation = c.oid AND l.mode = 'AccessExclusiveLock' AND l.granted "
            + "AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database()))";

    /** Marks a definition made from a locked view's dependencies (its columns' origins stay unknown). */
    private static final String LOCKED_VIEW = "/* locked view: what it depends on */ ";

    /**
     * A stand-in definition for a view held exclusively by another transaction: every relation its committed
     * rewrite rule depends on (as DROP ... CASCADE would find them, from pg_depend, which takes no lock on the
     * view) and every relation the holding transaction has locked (a definition it replaced reads those), read
     * whole. Judged like a definition, it makes the view sensitive whenever a relation it reads has a
     * sensitive column: coarser than the definition, never less safe.
     */
    private static String lockedViewReads(Connection connection, long view) throws SQLException {
        List<String> reads = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT DISTINCT n.nspname, c.relname FROM pg_catalog.pg_rewrite r "
                        + "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
                        + "AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
                        + "JOIN pg_catalog.pg_class c ON c.oid = d.refobjid "
                        + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE r.ev_class = ?::pg_catalog.oid AND c.oid <> r.ev_class "
                        // What the holder's transaction has opened: a definition it replaced and has not
                        // committed (CREATE OR REPLACE VIEW) is not in pg_depend yet, but its relations are locked
                        // by that transaction until it ends.
                        + "UNION SELECT n.nspname, c.relname FROM pg_catalog.pg_locks l "
                        + "JOIN pg_catalog.pg_class c ON c.oid = l.relation "
                        + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        + "WHERE l.locktype = 'relation' AND l.relation <> ?::pg_catalog.oid "
                        + "AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d "
                        + "WHERE d.datname = current_database()) "
                        + "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                        + "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND l.pid IN (SELECT h.pid FROM pg_catalog.pg_locks h "
                        + "WHERE h.locktype = 'relation' AND h.relation = ?::pg_catalog.oid "
                        + "AND h.mode = 'AccessExclusiveLock' AND h.granted) ORDER BY 1, 2")) {
            ps.setLong(1, view);
            ps.setLong(2, view);
            ps.setLong(3, view);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    reads.add(quote(rs.getString(1)) + "." + quote(rs.getString(2)));
                }
            }
        }
        return LOCKED_VIEW + (reads.isEmpty() ? "SELECT" : "SELECT * FROM " + String.join(", ", reads));
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    /**
     * Which of a view's columns are plain columns of another relation: its definition described (not run) as a
     * query, as PostgreSQL's RowDescription reports each column's origin. A definition that cannot be described
     * leaves every column an expression.
     */
    private static void withOrigins(Connection connection, Relation view) {
        try (PreparedStatement ps = connection.prepareStatement(view.definition())) {
            java.sql.ResultSetMetaData md = ps.getMetaData();
            org.postgresql.PGResultSetMetaData pg = md.unwrap(org.postgresql.PGResultSetMetaData.class);
            if (md.getColumnCount() != view.columns().size()) {
                return;
            }
            for (int i = 1; i <= md.getColumnCount(); i++) {
                String table = pg.getBaseTableName(i);
                if (table != null && !table.isEmpty()) {
                    Column c = view.columns().get(i - 1);
                    view.columns().set(i - 1, new Column(c.name(), c.typeOid(),
                            new ColumnName(pg.getBaseSchemaName(i), table, pg.getBaseColumnName(i))));
                }
            }
        } catch (SQLException e) {
            // Every column stays an expression: masked when the view is sensitive.
        }
    }

    /** See {@link #anyRowSecurity}. */
    boolean anyRowSecurity() {
        return all.anyRowSecurity;
    }

    void invalidate() {
        // Cleared before the entries: a load racing with this sets it again for what it puts back.
        anyRowSecurity = false;
        byName.clear();
        creatable = null;
    }
}
