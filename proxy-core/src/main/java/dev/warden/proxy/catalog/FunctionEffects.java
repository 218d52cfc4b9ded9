package dev.warden.proxy.catalog;

import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import dev.warden.sql.StatementFacts;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What calling a function does, read from {@code pg_proc}: a volatile user-defined function is a write; the
 * body of a {@code sql} or {@code plpgsql} function is analysed like top-level statements (a DELETE in it
 * makes the calling SELECT a DELETE), following the functions it calls a few levels deep; a body that runs
 * SQL computed at run time, or is written in another procedural language, is dynamic. Operators, casts and
 * attribute names ({@code op:}, {@code cast:}, {@code attr:} keys), a column's type named {@code t.c%TYPE}
 * ({@code coltype:}), the event triggers DDL fires ({@code evt:}, by the command's first word) and the typmod_in
 * function of a type named with modifiers ({@code typmod:}), the types of what the names of a statement that
 * fills a value of an unnamed type give ({@code typeof:}), and the domain check ALTER DOMAIN ... VALIDATE CONSTRAINT
 * names ({@code domcheck:}) take on the effects of the user functions
 * that implement them, and aggregates those of their support functions; a built-in one of those that changes
 * something when called (set_config, lo_from_bytea ...) gives what a direct call of it with unknown arguments gives
 * (see {@link Union#addBuiltInCall}). A name the catalog does not know counts as a write: the server
 * refuses the call unless the function is created first, and a function created through Warden was judged by
 * its body where it was written (the analysis nests a CREATE FUNCTION's body).
 *
 * <p>Functions are looked up by name in every schema, all overloads together: the session's
 * {@code search_path} decides which one runs, so Warden takes the union. Entries, built-in ones included, are
 * kept for {@link #TTL_NANOS} (and dropped on DDL seen through Warden), so a function replaced behind Warden's
 * back is re-read within seconds. A name after a dot ({@code t.f}, which calls {@code f(t)} when {@code t} has
 * no field f) counts as a call of the user functions of that name, and as nothing when there are none.
 */
final class FunctionEffects {

    static final long TTL_NANOS = 5_000_000_000L;
    private static final Set<String> KEYWORDS = Set.of("any", "all", "some", "exists", "array", "row", "in",
            "values", "coalesce", "nullif", "greatest", "least", "cast", "extract", "overlay", "position",
            "substring", "trim", "treat", "xmlelement", "xmlforest", "xmlconcat", "xmlparse", "xmlpi",
            "xmlroot", "xmlserialize", "xmlexists", "grouping", "normalize", "collation");
    private static final int MAX_DEPTH = 3;

    /**
     * Whether a name the catalog does not know is syntax rather than a call: {@code ANY(...)}, {@code COALESCE(...)};
     * and a word such as {@code options}, {@code key} or {@code if} before {@code (}, listed as a call because a user
     * function of that name runs there (see {@link dev.warden.sql.Analyzer#isSyntaxUnlessAFunction}). (A function of
     * that name made earlier in the same text was judged by its body where it was made.)
     */
    private static boolean syntax(String name) {
        return KEYWORDS.contains(name.toLowerCase(java.util.Locale.ROOT))
                || dev.warden.sql.Analyzer.isSyntaxUnlessAFunction(name);
    }
    private static final int FIRST_NORMAL_OBJECT_ID = 16384;

    /** One function name's effect: the union over its overloads. */
    record Effect(boolean known, boolean writes, boolean dynamic, List<StatementFacts> statements, long loaded,
                  boolean userDefined) {
        Effect(boolean known, boolean writes, boolean dynamic, List<StatementFacts> statements, long loaded) {
            this(known, writes, dynamic, statements, loaded, false);
        }

        boolean fresh(long now) {
            return now - loaded < TTL_NANOS;
        }
    }

    private final Map<String, Effect> effects = new ConcurrentHashMap<>();

    /** The names in {@code analysis} whose effect is not known or has expired. */
    Set<String> missing(Analysis analysis) {
        return missing(analysis, null);
    }

    /**
     * As above; and the names whose effect is still current but due to be read again
     * ({@link CatalogCache#REFRESH_AT_NANOS}) go into {@code due}, when not null.
     */
    Set<String> missing(Analysis analysis, Set<String> due) {
        Set<String> out = new HashSet<>();
        long now = System.nanoTime();
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                for (String name : calls(f)) {
                    Effect e = effects.get(name);
                    if (e == null || !e.fresh(now)) {
                        out.add(name);
                    } else if (due != null && now - e.loaded() >= CatalogCache.REFRESH_AT_NANOS) {
                        due.add(name);
                    }
                }
            }
        }
        return out;
    }

    /** Of {@code names}, those not loaded or due to be read again (not those another request read meanwhile). */
    Set<String> due(Set<String> names) {
        Set<String> out = new HashSet<>();
        long now = System.nanoTime();
        for (String n : names) {
            if (due(effects.get(n), now)) {
                out.add(n);
            }
        }
        return out;
    }

    private static boolean due(Effect e, long now) {
        return e == null || now - e.loaded() >= CatalogCache.REFRESH_AT_NANOS;
    }

    /**
     * When the oldest effect {@link #missing} consults for {@code analysis} was loaded; one that is not loaded
     * counts as loaded one TTL before {@code now}.
     */
    long oldestLoaded(Analysis analysis, long now) {
        long oldest = now;
        for (StatementFacts top : analysis.statements()) {
            for (StatementFacts f : top.allStatements()) {
                for (String name : calls(f)) {
                    Effect e = effects.get(name);
                    long loaded = e == null ? now - TTL_NANOS : e.loaded();
                    oldest = loaded - oldest < 0 ? loaded : oldest;
                }
            }
        }
        return oldest;
    }

    /** {@code analysis} with the effects of the functions its statements call (all must be loaded). */
    Analysis apply(Analysis analysis, boolean standardConformingStrings) {
        List<StatementFacts> out = null; // made only when a statement changes (asked for every statement)
        List<StatementFacts> statements = analysis.statements();
        for (int i = 0; i < statements.size(); i++) {
            StatementFacts f = statements.get(i);
            StatementFacts g = withEffects(f, 0);
            if (g.unparsed() && !g.writes() && !g.dynamicSql()) {
                // A query JSqlParser could not parse is a read when every function it calls is known not to
                // write: the built-in list vouches for built-ins, the catalog for user-defined functions.
                g = dev.warden.sql.ReadOnlyProof.proveWithCatalog(g, standardConformingStrings, this::vouches);
            }
            if (g != f && out == null) {
                out = new ArrayList<>(statements.subList(0, i));
            }
            if (out != null) {
                out.add(g);
            }
        }
        return out != null ? new Analysis(out) : analysis;
    }

    /** Whether {@code f} or a statement inside it calls a function, an operator or a cast Warden resolves. */
    private static boolean callsAnything(StatementFacts f) {
        return StatementWalk.any(f, s -> !s.functions().isEmpty() || !s.implicitCalls().isEmpty());
    }

    /**
     * A user-defined function none of whose overloads is volatile, writes or runs dynamic SQL; for
     * {@code operator(s.###)} (an operator named outside pg_catalog, see
     * {@link dev.warden.sql.ReadOnlyProof#unknownFunctions}), every operator of that name, as its {@code op:} key
     * reads them wherever they are written: as for {@code 1 ### 2}, what they run neither writes nor is dynamic.
     */
    private boolean vouches(String function) {
        if (function.startsWith("operator(")) {
            Effect e = effects.get("op:" + function.substring(function.lastIndexOf('.') + 1, function.length() - 1));
            return e != null && e.known() && !e.writes() && !e.dynamic();
        }
        Effect e = effects.get(unqualified(function));
        return e != null && e.known() && e.userDefined() && !e.writes() && !e.dynamic();
    }

    /**
     * Whether Warden has not read what a function of this name runs: not loaded (made in a transaction not committed
     * yet, or no such function), or a user's function whose body it cannot read (a language it does not parse, SQL
     * built at run time). A built-in one is read.
     */
    boolean bodyUnread(String function) {
        Effect e = effects.get(unqualified(function));
        return e == null || !e.known() || e.userDefined() && e.dynamic();
    }

    /**
     * Partitioning strategies: {@code PARTITION BY RANGE (a)} reads as a call of {@code range}. (An index's access
     * method is no call in the analysis: see {@code LexicalAnalysis.indexAccessMethod}.)
     */
    private static final Set<String> PARTITION_STRATEGIES = Set.of("range", "list", "hash");

    /**
     * Whether {@code f} (or a statement inside it) calls code a user made, or a name whose effect is not read (not
     * loaded, or no such function yet: it may be made in the same text): a function, or an operator or cast that
     * runs one. (The relation of CREATE INDEX ... ON t (...) is no call in the analysis: a function named like it,
     * made in the same text, is not passed over with it.)
     */
    boolean callsUserCode(StatementFacts f) {
        for (StatementFacts s : f.allStatements()) {
            if (callsUserCode(s.functions(), s.implicitCalls(), s.text())) {
                return true;
            }
        }
        return false;
    }

    /**
     * As {@link #callsUserCode(StatementFacts)}, for one statement's {@code functions} and {@code implicitCalls} (as
     * {@link StatementFacts} names them) in its {@code text}: a caller that judges only some of a statement's calls
     * (a trigger's WHEN, not the trigger's own function) names those.
     */
    boolean callsUserCode(Collection<String> functions, Collection<String> implicitCalls, String text) {
        for (String fn : calls(functions, implicitCalls)) {
            Effect e = effects.get(fn);
            if (PARTITION_STRATEGIES.contains(fn.toLowerCase(java.util.Locale.ROOT)) && onlyAsStrategy(fn, text)
                    && e != null && !e.known()) {
                // PARTITION BY RANGE (...) reads as a call; a function of that name is still one.
                continue;
            }
            if (e == null) {
                return true;
            }
            if (!e.known() && syntax(fn)) {
                continue;
            }
            if (!e.known() && fn.indexOf('.') >= 0 && effects.get(unqualified(fn)) != null
                    && effects.get(unqualified(fn)).known()) {
                continue; // a schema-qualified call: judged by its last part (see calls)
            }
            if (!e.known() || e.userDefined() || !e.statements().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether every {@code name (} in {@code text} follows BY (a partitioning strategy): a function of that name made
     * in the same text is not known yet, and {@code CREATE FUNCTION list(text) ...; CREATE INDEX ON t (list(ssn))}
     * would otherwise pass as a strategy (a helper's review). A text with a Unicode-escaped name may spell it
     * otherwise: no.
     */
    private static boolean onlyAsStrategy(String name, String text) {
        if (text.toLowerCase(java.util.Locale.ROOT).contains("u&\"")) {
            return false;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)(?<![\\w$.])\"?" + java.util.regex.Pattern.quote(name)
                + "\"?\\s*\\(").matcher(text);
        while (m.find()) {
            String before = text.substring(Math.max(0, m.start() - 24), m.start());
            if (!STRATEGY_BEFORE.matcher(before).find()) {
                return false;
            }
        }
        return true;
    }

    private static final java.util.regex.Pattern STRATEGY_BEFORE = java.util.regex.Pattern.compile("(?i)\\bby\\s+$");

    /** Beyond this many distinct statements, what a call runs is not listed further: it counts as dynamic. */
    private static final int MAX_STATEMENTS = 256;

    /**
     * The distinct statements of a list (a body called from forty places is judged once), at most
     * {@link #MAX_STATEMENTS}; null when there were more. Keeps nested calls from multiplying without end.
     */
    private static List<StatementFacts> distinct(List<StatementFacts> statements) {
        if (statements.size() <= 1) {
            return statements;
        }
        Map<List<Object>, StatementFacts> seen = new java.util.LinkedHashMap<>();
        for (StatementFacts f : statements) {
            seen.putIfAbsent(List.of(f.fingerprint(), f.kind(), f.objectType(), f.hasWhere(), f.writes(),
                    f.dynamicSql(), f.tablesWritten(), f.nested().size()), f);
            if (seen.size() > MAX_STATEMENTS) {
                return null;
            }
        }
        return new ArrayList<>(seen.values());
    }

    private StatementFacts withEffects(StatementFacts f, int depth) {
        if (!callsAnything(f)) {
            return f; // what the loop below would give, without its lists
        }
        List<StatementFacts> nested = new ArrayList<>();
        boolean writes = false;
        boolean dynamic = false;
        for (StatementFacts s : f.allStatements()) {
            for (String fn : calls(s)) {
                Effect e = effects.get(fn);
                if (e == null) {
                    dynamic = true; // the catalog could not be read: it could be anything
                    continue;
                }
                if (!e.known() && syntax(fn)) {
                    continue; // ANY(...), ALL(...), SOME(...): no function unless the catalog has one by that name
                }
                if (!e.known()) {
                    // No such function in the catalog: the server will refuse the call, unless the function
                    // is created first (in the same text or transaction, or in pg_temp), and a function created
                    // through Warden was judged by its body where it was written. (A whole dotted name that is
                    // not one quoted name is just a schema-qualified call, looked up by its last part.) Or it is a
                    // function-style cast to a type of the name: what that runs (see loadFunctions) is judged.
                    writes |= fn.indexOf('.') < 0;
                    nested.addAll(e.statements());
                    continue;
                }
                writes |= e.writes();
                dynamic |= e.dynamic();
                nested.addAll(e.statements());
            }
        }
        List<StatementFacts> bounded = distinct(nested);
        return bounded == null ? f.withNested(List.of(), true, true) : f.withNested(bounded, writes, dynamic);
    }

    /** Function names and implicit calls ({@code op:}, {@code cast:}, {@code attr:}) of a statement, as effect keys. */
    private static List<String> calls(StatementFacts f) {
        return calls(f.functions(), f.implicitCalls());
    }

    private static List<String> calls(Collection<String> functions, Collection<String> implicitCalls) {
        List<String> out = new ArrayList<>(functions.size() + implicitCalls.size());
        for (String fn : functions) {
            out.add(unqualified(fn));
            if (fn.indexOf('.') >= 0) {
                out.add(fn); // perhaps one quoted name, "a.f"
            }
        }
        out.addAll(implicitCalls);
        return out;
    }

    /** Whether the effect of each of {@code names} is loaded (perhaps expired since). */
    boolean loaded(Set<String> names) {
        return names.stream().allMatch(effects::containsKey);
    }

    /** The statements of the bodies of {@code names} as loaded (callees' included), for their names. */
    List<StatementFacts> bodies(Set<String> names) {
        List<StatementFacts> out = new ArrayList<>();
        for (String n : names) {
            Effect e = effects.get(n);
            if (e != null) {
                out.addAll(e.statements());
            }
        }
        return out;
    }

    /** Reads the effects of {@code names} (and of what their bodies call) on {@code connection}. */
    void load(Connection connection, Set<String> names, Analyzer analyzer) throws SQLException {
        loadLevel(connection, names, analyzer, 0);
    }

    private void loadLevel(Connection connection, Set<String> names, Analyzer analyzer, int depth)
            throws SQLException {
        if (names.isEmpty()) {
            return;
        }
        Set<String> implicit = new HashSet<>();
        Set<String> functions = new HashSet<>();
        for (String n : names) {
            (isImplicitCall(n) ? implicit : functions).add(n);
        }
        Map<String, Set<String>> implementing = implicit.isEmpty() ? Map.of() : implicitCalls(connection, implicit);
        long now = System.nanoTime();
        for (Set<String> fns : implementing.values()) {
            for (String fn : fns) {
                if (due(effects.get(fn), now)) {
                    functions.add(fn);
                }
            }
        }
        loadFunctions(connection, functions, analyzer, depth);
        for (String key : implicit) {
            // Built-in operators and casts run built-in functions: only user-defined ones are listed here.
            Union union = new Union();
            for (String fn : implementing.getOrDefault(key, Set.of())) {
                union.add(fn, false);
                union.addBuiltInCall(fn, analyzer);
            }
            effects.put(key, new Effect(true, union.writes, union.dynamic, List.copyOf(union.statements), now));
        }
    }

    /** Whether {@code key} names what an operator, a cast ... runs ({@code op:}, {@code cast:} ...), not a function. */
    private static boolean isImplicitCall(String key) {
        return key.startsWith("op:") || key.startsWith("cast:") || key.startsWith("attr:") || key.startsWith("coltype:")
                || key.startsWith("evt:") || key.startsWith("typmod:") || key.startsWith("opclass:")
                || key.startsWith("typeof:") || key.startsWith("domcheck:");
    }

    /**
     * The effect key of a name a body's expressions call: a function by its last part (see {@link #unqualified}),
     * an implicit call ({@code coltype:t.c}, {@code op:###}) as it is.
     */
    private static String bodyCallKey(String name) {
        return isImplicitCall(name) ? name : unqualified(name);
    }

    /** What several callees do together, as the effect of the one that calls them. */
    private final class Union {
        boolean writes;
        boolean dynamic;
        final List<StatementFacts> statements = new ArrayList<>();

        /**
         * When {@code name}, run by an operator, a cast or an aggregate, is a built-in that changes something when
         * called (set_config, lo_from_bytea, nextval ...): what a direct call of it does with arguments no text shows
         * ({@link Analyzer#callWithUnknownArguments}), a write, and for set_config a change of an unknown role,
         * which the role-escalation rule refuses as it refuses {@code SELECT set_config(x, y, false)}. A built-in
         * counts as no effect of its own (see {@link #loadFunctions}): its effect is what its arguments make it,
         * and here nothing names them.
         */
        void addBuiltInCall(String name, Analyzer analyzer) {
            List<StatementFacts> call = analyzer.callWithUnknownArguments(name);
            if (!call.isEmpty()) {
                writes = true;
                statements.addAll(call);
            }
        }

        /**
         * Adds the effect of {@code name}. A name not loaded counts as dynamic; one the catalog does not know
         * counts as a write when {@code unknownWrites}, else as dynamic.
         */
        void add(String name, boolean unknownWrites) {
            Effect e = effects.get(name);
            if (e != null && !e.known() && syntax(name)) {
                return; // coalesce(...), greatest(...) in a PL/pgSQL expression: syntax, as withEffects reads it
            }
            if (e == null || (!e.known() && !unknownWrites)) {
                dynamic = true;
            } else if (!e.known()) {
                writes = true;
                statements.addAll(e.statements()); // a function-style cast's, if a type has the name
            } else {
                writes |= e.writes();
                dynamic |= e.dynamic();
                statements.addAll(e.statements());
            }
        }
    }

    /**
     * {@code (key, type)} rows for the types {@code cast:} keys name: by name, or by OID as {@code #oid} (a
     * parameter type a Parse gives, see {@code RelayHandler}).
     */
    /**
     * The CHECK constraints of domains a {@code domcheck:} key names (see {@code LexicalAnalysis.domainCheck}), as
     * {@code (k, conoid, contypid)}.
     */
    private static final String DOMAIN_CHECKS_NAMED = "SELECT k, o.oid AS conoid, o.contypid "
            + "FROM pg_catalog.unnest(?::pg_catalog.text[]) k JOIN pg_catalog.pg_type t ON t.typtype = 'd' "
            + "JOIN pg_catalog.pg_constraint o ON o.contypid = t.oid AND o.contype = 'c' "
            + "AND k = pg_catalog.length(t.typname::pg_catalog.text) || ':' || t.typname || o.conname";

    private static final String TYPES_NAMED = "SELECT k, t.oid FROM pg_catalog.pg_type t "
            + "JOIN pg_catalog.unnest(?::pg_catalog.text[]) k ON k IN (t.typname::pg_catalog.text, "
            + "'#' || t.oid::pg_catalog.text)";

    /**
     * {@code (key, type)} rows for {@code typeof:} keys: the types of what each name gives, a value of which a
     * statement may hand to jsonb_populate_record and its kin (see {@code LexicalAnalysis.implicitCalls}): the row
     * type of each relation of that name (which reaches its columns'), each type of that name, the result and
     * parameter types of each user function of that name (OUT parameters make its rows), the result of each user
     * operator of that name; and for {@code *} (a parameter or a variable of a body) every domain.
     */
    private static final String TYPES_OF_NAMES = "SELECT k, c.reltype FROM pg_catalog.unnest(?::pg_catalog.text[]) k "
            + "JOIN pg_catalog.pg_class c ON c.relname = k AND c.reltype <> 0 "
            + "UNION ALL SELECT k, t.oid FROM pg_catalog.unnest(?::pg_catalog.text[]) k "
            + "JOIN pg_catalog.pg_type t ON t.typname = k "
            + "UNION ALL SELECT k, x.typ FROM pg_catalog.unnest(?::pg_catalog.text[]) k "
            + "JOIN pg_catalog.pg_proc p ON p.proname = k AND p.oid >= 16384 CROSS JOIN LATERAL (SELECT p.prorettype "
            + "UNION ALL SELECT pg_catalog.unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[]))) x (typ) "
            + "UNION ALL SELECT k, o.oprresult FROM pg_catalog.unnest(?::pg_catalog.text[]) k "
            + "JOIN pg_catalog.pg_operator o ON o.oprname = k AND o.oid >= 16384 "
            + "UNION ALL SELECT '*', t.oid FROM pg_catalog.pg_type t "
            + "WHERE t.typtype = 'd' AND '*' = ANY (?::pg_catalog.text[])";

    /**
     * The user-defined functions that operators and casts run: every operator of that name whatever its
     * argument types, every cast to a type of that name, the type's input function (a typed literal), the
     * functions a domain's checks call, the functions of a row an attribute name may call, the functions of the
     * enabled event triggers that take a command, the typmod_in function of each type of a name, and the support
     * functions of each operator class of a name, and what a domain's check named by {@code ALTER DOMAIN ... VALIDATE
     * CONSTRAINT} calls.
     */
    private static Map<String, Set<String>> implicitCalls(Connection connection, Set<String> keys)
            throws SQLException {
        List<String> operators = new ArrayList<>();
        List<String> types = new ArrayList<>();
        List<String> attributes = new ArrayList<>();
        List<String> columns = new ArrayList<>();
        List<String> events = new ArrayList<>();
        List<String> modified = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        List<String> typed = new ArrayList<>();
        List<String> checks = new ArrayList<>();
        for (String k : keys) {
            if (k.startsWith("domcheck:")) {
                checks.add(k.substring(9));
            } else if (k.startsWith("typeof:")) {
                typed.add(k.substring(7));
            } else if (k.startsWith("evt:")) {
                events.add(k.substring(4));
            } else if (k.startsWith("typmod:")) {
                modified.add(k.substring(7));
            } else if (k.startsWith("opclass:")) {
                classes.add(k.substring(8));
            } else if (k.startsWith("op:")) {
                operators.add(k.substring(3));
            } else if (k.startsWith("attr:")) {
                attributes.add(k.substring(5));
            } else if (k.startsWith("coltype:")) {
                columns.add(k.substring(8));
            } else {
                types.add(k.substring(5));
            }
        }
        Map<String, Set<String>> out = new HashMap<>();
        try (PreparedStatement ps = connection.prepareStatement(
                // The planner may run an operator's negator (NOT (a = b) as a <> b) or commutator instead.
                "SELECT 'op:' || o.oprname, f.proname FROM pg_catalog.pg_operator o "
                        + "JOIN pg_catalog.pg_operator r ON r.oid IN (o.oid, o.oprcom, o.oprnegate) "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = r.oprcode "
                        + "WHERE o.oprname = ANY (?) AND (r.oid >= 16384 OR f.oid >= 16384) "
                        + "UNION ALL SELECT 'cast:' || t.typname, f.proname FROM pg_catalog.pg_cast c "
                        + "JOIN pg_catalog.pg_type t ON t.oid = c.casttarget "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = c.castfunc "
                        + "WHERE t.typname = ANY (?) AND (c.oid >= 16384 OR f.oid >= 16384) "
                        + "UNION ALL SELECT 'cast:' || t.typname, f.proname FROM pg_catalog.pg_type t "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = t.typinput "
                        + "WHERE t.typname = ANY (?) AND f.oid >= 16384 "
                        // A value cast to a type is checked by each domain the type reaches (itself, what it is
                        // over, a composite's fields, an array's element), and its parts cast into their types.
                        + "UNION ALL SELECT 'cast:' || r.relid, f.proname FROM " + RelationCatalog.functionsForTypes(
                        TYPES_NAMED) + " r "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = r.fid WHERE f.oid >= 16384 "
                        // ... and the value, of that type, cast out of it where another type is wanted.
                        + "UNION ALL SELECT 'cast:' || r.relid, f.proname FROM " + RelationCatalog.castsOutOfTypes(
                        TYPES_NAMED) + " r "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = r.fid WHERE f.oid >= 16384 "
                        // t.f calls f(t), and (x).f calls f(x) whatever x is: a function callable with one
                        // argument (a helper's pass, a126, ran (1).bump, whose body updates, with no approval).
                        + "UNION ALL SELECT 'attr:' || f.proname, f.proname FROM pg_catalog.pg_proc f "
                        + "WHERE f.proname = ANY (?) AND f.pronargs >= 1 AND f.pronargs - f.pronargdefaults <= 1 "
                        + "AND f.oid >= 16384 "
                        // t.c%TYPE (a PL/pgSQL variable, a parameter): the type of column c of each relation t.
                        + "UNION ALL SELECT 'coltype:' || r.relid, f.proname FROM " + RelationCatalog.functionsForTypes(
                        "SELECT c.relname || '.' || a.attname, a.atttypid FROM pg_catalog.pg_class c "
                        + "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                        + "WHERE c.relname || '.' || a.attname = ANY (?)") + " r "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = r.fid WHERE f.oid >= 16384 "
                        // DDL: the function of each enabled event trigger whose tags (none: all) take the command
                        // (login triggers run at connection, for no statement).
                        + "UNION ALL SELECT 'evt:' || k, f.proname FROM pg_catalog.unnest(?::pg_catalog.text[]) k "
                        + "JOIN pg_catalog.pg_event_trigger e ON e.evtenabled <> 'D' AND e.evtevent <> 'login' "
                        + "AND (e.evttags IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.unnest(e.evttags) g "
                        + "WHERE pg_catalog.lower(pg_catalog.split_part(g, ' ', 1)) = k)) "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = e.evtfoid "
                        // name(5): the typmod_in function of a type of that name, run where the type is named so.
                        + "UNION ALL SELECT 'typmod:' || t.typname, f.proname FROM pg_catalog.pg_type t "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = t.typmodin "
                        + "WHERE t.typname = ANY (?) AND f.oid >= 16384 "
                        // An index column's operator class: its family's support functions place every row.
                        + "UNION ALL SELECT 'opclass:' || oc.opcname, f.proname FROM pg_catalog.pg_opclass oc "
                        + "JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = oc.opcfamily "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = ap.amproc "
                        + "WHERE oc.opcname = ANY (?) AND f.oid >= 16384 "
                        // A value filled as the type of what a name gives (jsonb_populate_record(c, ...)): checked
                        // as a value cast to that type is.
                        + "UNION ALL SELECT 'typeof:' || r.relid, f.proname FROM " + RelationCatalog.functionsForTypes(
                        TYPES_OF_NAMES) + " r "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = r.fid WHERE f.oid >= 16384 "
                        // ALTER DOMAIN ... VALIDATE CONSTRAINT: what the named check's expression calls, and the
                        // checks and casts of the types it names (not its own domain's: their other checks stay).
                        + "UNION ALL SELECT 'domcheck:' || x.k, f.proname FROM (SELECT c.k, "
                        + RelationCatalog.FUNCTION_OF_DEPENDENCY + " AS fid FROM (" + DOMAIN_CHECKS_NAMED + ") c "
                        + "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass "
                        + "AND d.objid = c.conoid AND d.refclassid IN ('pg_catalog.pg_proc'::pg_catalog.regclass, "
                        + "'pg_catalog.pg_operator'::pg_catalog.regclass)) x "
                        + "JOIN pg_catalog.pg_proc f ON f.oid = x.fid WHERE f.oid >= 16384 "
                        + "UNION ALL SELECT 'domcheck:' || r.relid, f.proname FROM " + RelationCatalog.functionsForTypes(
                        "SELECT c.k, d.refobjid FROM (" + DOMAIN_CHECKS_NAMED + ") c JOIN pg_catalog.pg_depend d "
                        + "ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND d.objid = c.conoid "
                        + "AND d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.refobjid <> c.contypid")
                        + " r JOIN pg_catalog.pg_proc f ON f.oid = r.fid WHERE f.oid >= 16384 "
                        // A column made of a type named (ADD COLUMN c t, CREATE TABLE ... (c t)) takes the DEFAULT
                        // of each domain t reaches for the rows there and each row written without it (an attacker's
                        // pass, a109). Counted for a cast to t too, which only errs towards judging.
                        + "UNION ALL SELECT 'cast:' || r.relid, f.proname FROM " + RelationCatalog.domainDefaultsOfTypes(
                        TYPES_NAMED) + " r JOIN pg_catalog.pg_proc f ON f.oid = r.fid WHERE f.oid >= 16384")) {
            ps.setArray(1, connection.createArrayOf("text", operators.toArray()));
            ps.setArray(2, connection.createArrayOf("text", types.toArray()));
            ps.setArray(3, connection.createArrayOf("text", types.toArray()));
            ps.setArray(4, connection.createArrayOf("text", types.toArray()));
            ps.setArray(5, connection.createArrayOf("text", types.toArray()));
            ps.setArray(6, connection.createArrayOf("text", attributes.toArray()));
            ps.setArray(7, connection.createArrayOf("text", columns.toArray()));
            ps.setArray(8, connection.createArrayOf("text", events.toArray()));
            ps.setArray(9, connection.createArrayOf("text", modified.toArray()));
            ps.setArray(10, connection.createArrayOf("text", classes.toArray()));
            for (int i = 11; i <= 15; i++) {
                ps.setArray(i, connection.createArrayOf("text", typed.toArray()));
            }
            ps.setArray(16, connection.createArrayOf("text", checks.toArray()));
            ps.setArray(17, connection.createArrayOf("text", checks.toArray()));
            ps.setArray(18, connection.createArrayOf("text", types.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(rs.getString(1), k -> new HashSet<>()).add(rs.getString(2));
                }
            }
        }
        return out;
    }

    private void loadFunctions(Connection connection, Set<String> names, Analyzer analyzer, int depth)
            throws SQLException {
        if (names.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        Map<String, List<Row>> rows = query(connection, names);
        Map<String, Analyzer.RoutineAnalysis> bodies = new HashMap<>();
        Set<String> callees = new HashSet<>();
        java.util.function.Consumer<String> want = callee -> {
            // Due, not only expired: a callee is read again with the function that calls it.
            if (!names.contains(callee) && due(effects.get(callee), now)) {
                callees.add(callee);
            }
        };
        for (String name : names) {
            for (Row r : rows.getOrDefault(name, List.of())) {
                if (r.builtIn()) {
                    continue;
                }
                r.support().forEach(want);
                if (r.body() == null) {
                    continue;
                }
                Analyzer.RoutineAnalysis body = analyzer.analyzeRoutineBody(r.language(), r.body(), true,
                        r.parameters());
                bodies.put(name + "#" + r.oid(), body);
                body.functions().forEach(fn -> want.accept(bodyCallKey(fn)));
                for (StatementFacts s : body.statements()) {
                    for (StatementFacts t : s.allStatements()) {
                        calls(t).forEach(want);
                    }
                }
            }
        }
        // A call of a name no function has is a function-style cast when a type has the name (d('x') is
        // 'x'::d): the type's checks and the casts into it run. An attacker's pass emptied a table through a domain's
        // check so, with the same statement spelled '1'::d refused.
        // What such a cast runs is kept as the effect of its cast: key, as a written cast's: a name no function has
        // is asked for again at every statement (it may be made a moment later), its cast only as often as the casts.
        Set<String> castKeys = new HashSet<>();
        for (String name : names) {
            if (rows.getOrDefault(name, List.of()).isEmpty() && !syntax(name) && due(effects.get("cast:" + name), now)) {
                castKeys.add("cast:" + name);
            }
        }
        Map<String, Set<String>> castsOfMissing = castKeys.isEmpty() ? Map.of() : implicitCalls(connection, castKeys);
        castsOfMissing.values().forEach(fns -> fns.forEach(want));
        if (depth < MAX_DEPTH) {
            loadLevel(connection, callees, analyzer, depth + 1);
        }
        for (String name : names) {
            List<Row> overloads = rows.getOrDefault(name, List.of());
            if (overloads.isEmpty()) {
                // Unknown now, perhaps created a moment later: kept for this statement only, asked again next time.
                // What a function-style cast to a type of the name runs is its statements.
                String key = "cast:" + name;
                if (castKeys.contains(key)) {
                    Union cast = new Union();
                    for (String fn : castsOfMissing.getOrDefault(key, Set.of())) {
                        if (depth < MAX_DEPTH) {
                            cast.add(fn, false);
                        } else {
                            cast.dynamic = true;
                        }
                        cast.addBuiltInCall(fn, analyzer);
                    }
                    List<StatementFacts> ran = distinct(cast.statements);
                    effects.put(key, ran == null ? new Effect(true, true, true, List.of(), now)
                            : new Effect(true, cast.writes, cast.dynamic, List.copyOf(ran), now));
                }
                Effect cast = effects.get(key);
                effects.put(name, new Effect(false, true, true, cast == null || syntax(name) ? List.of()
                        : cast.statements(), now - TTL_NANOS));
                continue;
            }
            if (overloads.stream().allMatch(Row::builtIn)) {
                // Built-in, for now: a user overload of the same name may be created at any time, so this
                // expires like any other entry.
                effects.put(name, new Effect(true, false, false, List.of(), now));
                continue;
            }
            Union union = new Union();
            boolean tooDeep = depth >= MAX_DEPTH;
            for (Row r : overloads) {
                if (r.builtIn()) {
                    continue;
                }
                union.writes |= r.volatility() == 'v';
                for (String fn : r.support()) {
                    // An aggregate runs its support functions for every row it aggregates.
                    union.dynamic |= tooDeep;
                    if (!tooDeep) {
                        union.add(fn, false);
                    }
                    union.addBuiltInCall(fn, analyzer);
                }
                if (r.body() == null && !r.language().equals("c") && !r.language().equals("internal")) {
                    // pltcl, plperl, plpython, plv8...: code Warden cannot read can run any SQL.
                    union.dynamic = true;
                }
                Analyzer.RoutineAnalysis body = bodies.get(name + "#" + r.oid());
                if (body == null) {
                    continue;
                }
                union.dynamic |= body.dynamic();
                for (String fn : body.functions()) {
                    // Calls in PL/pgSQL expressions (RETURN f(), x := f(), IF a OPERATOR(s.###) b), outside any
                    // statement. (A built-in's own effect is in the statements: see RoutineBodies.writingCalls.)
                    union.dynamic |= tooDeep;
                    if (!tooDeep) {
                        union.add(bodyCallKey(fn), true);
                    }
                }
                for (StatementFacts s : body.statements()) {
                    // A callee Warden could not follow (too deep, or recursion) is unknown.
                    StatementFacts resolved = tooDeep ? s.withNested(List.of(), false, !calls(s).isEmpty())
                            : withEffects(s, depth + 1);
                    union.writes |= resolved.writes();
                    union.dynamic |= resolved.dynamicSql();
                    union.statements.add(resolved);
                }
            }
            List<StatementFacts> bounded = distinct(union.statements);
            effects.put(name, bounded == null ? new Effect(true, true, true, List.of(), now, true)
                    : new Effect(true, union.writes, union.dynamic, List.copyOf(bounded), now, true));
        }
    }

    /** After DDL: any function may have changed. */
    void invalidate() {
        effects.clear();
    }

    /**
     * One overload; {@code support}: an aggregate's transition, final and other support functions, and the user
     * functions a call runs for its parameters and result (domain checks, casts into them and out of its result,
     * parameter defaults).
     */
    private record Row(long oid, boolean builtIn, char volatility, String language, String body,
                       List<String> support, Set<String> parameters) {
    }

    private static Map<String, List<Row>> query(Connection connection, Set<String> names) throws SQLException {
        boolean sqlBodies = connection.getMetaData().getDatabaseMajorVersion() >= 14;
        String body = sqlBodies
                ? "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_functiondef(p.oid) ELSE p.prosrc END"
                : "p.prosrc";
        String standardBody = sqlBodies ? "p.prosqlbody IS NOT NULL" : "false";
        Map<String, List<Row>> out = new HashMap<>();
        try (PreparedStatement ps = connection.prepareStatement("SELECT p.proname, p.oid, p.provolatile, "
                + "l.lanname, " + body + ", ARRAY(SELECT f.proname::text FROM pg_catalog.pg_aggregate a "
                + "JOIN pg_catalog.pg_proc f ON f.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, "
                + "a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn) "
                + "WHERE a.aggfnoid = p.oid) || ARRAY(SELECT g.proname::text FROM pg_catalog.pg_proc g "
                // What a call runs besides the body: its parameters' and result's domain checks and casts into them,
                // and its parameters' defaults (the function's own dependencies on functions and operators).
                // (Not itself: a cast function whose result the server cast with it again would never return.)
                + "WHERE g.oid >= 16384 AND g.oid <> p.oid AND g.oid IN (SELECT r.fid FROM " + RelationCatalog.functionsForTypes(
                "SELECT 0::pg_catalog.oid, x FROM pg_catalog.unnest(p.prorettype "
                + "|| coalesce(p.proallargtypes, p.proargtypes::pg_catalog.oid[])) x") + " r "
                + "UNION SELECT r.fid FROM " + RelationCatalog.castsOutOfTypes("SELECT 0::pg_catalog.oid, p.prorettype")
                + " r "
                + "UNION SELECT " + RelationCatalog.FUNCTION_OF_DEPENDENCY + " FROM pg_catalog.pg_depend d "
                + "WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid "
                + "AND d.refclassid IN ('pg_catalog.pg_proc'::pg_catalog.regclass, "
                + "'pg_catalog.pg_operator'::pg_catalog.regclass))), " + standardBody + ", "
                // The names of its parameters, and its own, which qualifies them: one value for each statement of
                // its body (a149 F3: DELETE ... WHERE t, t a parameter, read as naming a column).
                + "p.proname::text || coalesce(p.proargnames, '{}'::text[]) FROM pg_catalog.pg_proc p "
                + "JOIN pg_catalog.pg_language l "
                + "ON l.oid = p.prolang WHERE p.proname = ANY (?)")) {
            ps.setArray(1, connection.createArrayOf("text", names.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long oid = rs.getLong(2);
                    String language = rs.getString(4);
                    String text = rs.getString(5);
                    boolean builtIn = oid < FIRST_NORMAL_OBJECT_ID;
                    boolean readable = language.equals("sql") || language.equals("plpgsql");
                    if (language.equals("sql") && rs.getBoolean(7)) {
                        // A SQL-standard body comes back as its whole definition: take the BEGIN ATOMIC pieces.
                        language = "sql-definition";
                    }
                    java.sql.Array support = rs.getArray(6);
                    List<String> supportNames = support == null ? List.of()
                            : List.of((String[]) support.getArray());
                    java.sql.Array named = rs.getArray(8);
                    Set<String> parameters = new HashSet<>();
                    for (String n : named == null ? new String[0] : (String[]) named.getArray()) {
                        if (n != null && !n.isEmpty()) {
                            parameters.add(n);
                        }
                    }
                    out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(new Row(oid, builtIn,
                            rs.getString(3).charAt(0), language, readable ? (text == null ? "" : text) : null,
                            supportNames, parameters));
                }
            }
        }
        return out;
    }

    /**
     * The name to look up. A dotted name may be schema-qualified ({@code public.f}) or a quoted name holding a
     * dot ({@code "a.f"}); the analysis joins both the same way, so the part after the last dot is looked up
     * and the whole name too (see {@link #calls}).
     */
    private static String unqualified(String function) {
        int dot = function.lastIndexOf('.');
        return dot < 0 ? function : function.substring(dot + 1);
    }
}
