package dev.warden.proxy.guardrails;

import dev.warden.config.Environment;
import dev.warden.config.GuardrailRule;
import dev.warden.config.GuardrailSettings;
import dev.warden.config.StatementMatch;
import dev.warden.identity.Identity;
import dev.warden.sql.Analysis;
import dev.warden.sql.ColumnOverwrite;
import dev.warden.sql.CopySpec;
import dev.warden.sql.DatabaseSettingsChange;
import dev.warden.sql.RoleSettingsChange;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import dev.warden.sql.TableRef;
import dev.warden.sql.TextReferences;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decides, from plain values, whether a statement may run: the built-in baseline first (it only blocks),
 * then the policy's rules in file order. A statement that wraps another (PREPARE, EXPLAIN, DECLARE) is judged
 * with what it wraps; a multi-statement text is blocked as a whole when any statement is.
 */
public final class Guardrails {

    /** Functions that read or write the server's files or reach other servers. */
    private static final Set<String> SERVER_FILE_FUNCTIONS = Set.of(
            "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir", "pg_ls_waldir",
            "pg_ls_tmpdir", "pg_ls_archive_statusdir", "lo_import", "lo_export", "pg_file_write", "pg_file_rename",
            "pg_file_unlink", "pg_logdir_ls", "dblink", "dblink_exec", "dblink_connect", "dblink_connect_u",
            "dblink_send_query", "dblink_open");
    private static final Set<String> DROPPABLE_CONTAINERS = Set.of("TABLE", "SCHEMA", "DATABASE");
    /** CASCADE anywhere in a DROP's text (in a comment or a name too: that only errs towards refusing). */
    private static final Pattern CASCADE = Pattern.compile("(?i)\\bcascade\\b");
    private static final Pattern PASSWORD = Pattern.compile("(?i)\\bpassword\\b");
    /** The role an ALTER ROLE/USER names, when the statement starts with it (no comment, no IF EXISTS). */
    private static final Pattern ALTERED_ROLE = Pattern.compile("(?is)\\Aalter\\s+(?:role|user)\\s+(\"(?:[^\"]|\"\")+\"|[a-z_][a-z0-9_$]*)(?=\\s)");

    /** What the catalog says about the relations a statement names, for rules that name tables. */
    public interface NamedRelations {
        /**
         * The schemas that hold a relation of this name: an unqualified name means one of them, whichever the
         * session's search_path finds. Null when the catalog has not looked the name up.
         */
        Set<String> holding(String relation);

        /**
         * The relations the definitions of the views of this name (in any schema) name, and the tables that
         * inherit from the tables of this name: a write through an automatically updatable view writes its table,
         * a read reads it; a DELETE or UPDATE of a parent writes its children, an INSERT its partitions. Empty when
         * none is a view or has children.
         */
        Set<TableRef> namedByViews(String relation);

        /**
         * What reading a relation of this name (in any schema), or with {@code written} writing it, runs besides
         * the read or the write, or instead of it: the actions of its rewrite rules, the statements of its
         * triggers' functions, calls of the user functions its defaults, CHECK constraints, view definition and
         * row security policies call (their bodies nested), and those its indexes and statistics objects compute
         * (named {@link #COMPUTED_OVER_EVERY_ROW}). Null when the catalog has not read them, or they run SQL built
         * at run time: then it may write anything.
         */
        default List<StatementFacts> runBy(String relation, boolean written) {
            return List.of();
        }

        /**
         * The names of the tables of pg_catalog (see {@code CatalogCache#systemTables}); null when not known.
         */
        default Set<String> systemTables() {
            return null;
        }

        /**
         * The schemas the session may create a relation in: an unqualified CREATE lands in the first of its
         * search_path that exists, which the session can point anywhere. Null when not known (any schema).
         */
        default Set<String> creatable() {
            return Set.of("public");
        }

        /**
         * The name {@link #runBy} gives a call of a function an index's expressions or predicate, or a statistics
         * object's expressions, compute ({@code SELECT f() AS computed_over_every_row}): run for each row written,
         * and for every row there by ANALYZE, CLUSTER, REINDEX and VACUUM FULL of the table.
         */
        String COMPUTED_OVER_EVERY_ROW = "computed_over_every_row";

        /**
         * The name {@link #runBy} gives a call of a function that checks or computes a value of each row stored: a
         * CHECK constraint's, a column type's domain checks and casts, a partition key's. Run for each row written,
         * and for every row there by ALTER TABLE forms that validate or rewrite them (with the index functions).
         */
        String CHECKED_OVER_EVERY_ROW = "checked_over_every_row";

        /**
         * The name the catalog gives a call of a function that converting a literal or a parameter to a column's type
         * runs (a domain's check, a cast, a user type's input): a read comparing the column with one runs it.
         */
        String CONVERTED_ON_READ = "converted_on_read";

        /**
         * The names of the tables whose indexes or statistics objects compute user functions (what maintenance
         * that names no table computes over every row); null when the catalog could not say.
         */
        default Set<String> computingEverywhere() {
            return Set.of();
        }

        /** The names the catalog's answers do not hold for (see {@link Unreadable}). */
        default Unreadable unreadable() {
            return Unreadable.NONE;
        }

        /** Knows of no schema but {@code public}, of no view and of no rule or trigger (no catalog). */
        NamedRelations PUBLIC_ONLY = new NamedRelations() {
            @Override
            public Set<String> holding(String relation) {
                return Set.of();
            }

            @Override
            public Set<TableRef> namedByViews(String relation) {
                return Set.of();
            }
        };
    }

    /** How many views deep a table is followed for a rule (as far as the catalog loads view definitions). */
    private static final int MAX_VIEW_DEPTH = 4;

    private final GuardrailSettings settings;
    private final List<CompiledRule> rules;
    private final boolean namesTables;
    /** Whether a rule matches writes ({@code writes: true}): a read that runs a write is one (see decideWhatReadsWrite). */
    private final boolean holdsWrites;

    public Guardrails(GuardrailSettings settings) {
        this.settings = settings;
        List<CompiledRule> compiled = new ArrayList<>();
        boolean tables = false;
        boolean writes = false;
        for (GuardrailRule rule : settings.rules()) {
            List<String> patterns = rule.match().tables();
            compiled.add(new CompiledRule(rule, patterns.stream().map(Guardrails::glob).toList(),
                    patterns.stream().filter(t -> t.indexOf('.') >= 0)
                            .map(t -> glob(t.substring(t.indexOf('.') + 1))).toList(),
                    patterns.stream().filter(t -> t.indexOf('.') >= 0)
                            .map(t -> glob(t.substring(0, t.indexOf('.')))).toList()));
            tables |= !patterns.isEmpty();
            writes |= rule.match().writes().orElse(false);
        }
        this.rules = List.copyOf(compiled);
        this.namesTables = tables;
        this.holdsWrites = writes;
    }

    /**
     * Whether a rule names tables: then the catalog's relations must be looked up first ({@link NamedRelations}):
     * the schemas of an unqualified name, and the tables a view reads.
     */
    public boolean namesTables() {
        return namesTables;
    }

    /**
     * {@link #namesTables()}, or the baseline's {@code system-catalog-write} rule is on in {@code env}: it follows
     * written views to what they write (a view over pg_attribute is written as pg_attribute), which the catalog says;
     * or a rule matches writes: what reading a relation runs may write (see {@code decideWhatReadsWrite}). The
     * catalog then looks up the relations a statement names.
     */
    public boolean namesTables(Environment env) {
        return namesTables || holdsWrites || baselineOn(env, "system-catalog-write");
    }

    /** The decision for a whole Query or Parse text: the first statement that is not allowed decides. */
    public Decision decide(Identity who, Environment env, Analysis analysis, String upstreamUser) {
        return decide(who, env, analysis, upstreamUser, NamedRelations.PUBLIC_ONLY);
    }

    /** As above, with unqualified names in any schema that {@code schemas} finds them in. */
    public Decision decide(Identity who, Environment env, Analysis analysis, String upstreamUser,
                           NamedRelations schemas) {
        Strictest strictest = new Strictest();
        for (StatementFacts facts : analysis.statements()) {
            if (strictest.blocks(decide(who, env, facts, upstreamUser, schemas))) {
                break;
            }
        }
        return strictest.held;
    }

    /**
     * As {@link #decide(Identity, Environment, Analysis, String, NamedRelations)}, for a session whose open
     * transaction made the names of {@code open} unreadable; each statement of the text adds what it makes
     * unreadable for those after it (see {@link Unreadable}).
     */
    public Decision decide(Identity who, Environment env, Analysis analysis, String upstreamUser,
                           NamedRelations schemas, Unreadable open) {
        Unreadable unreadable = open;
        Strictest strictest = new Strictest();
        for (StatementFacts facts : analysis.statements()) {
            if (strictest.blocks(decide(who, env, facts, upstreamUser, unreadable.isEmpty() ? schemas
                    : new ChangedInTransaction(schemas, unreadable)))) {
                break;
            }
            unreadable = unreadable.with(Unreadable.changedBy(facts));
        }
        return strictest.held;
    }

    /** Whether a text must be judged with {@link #decide(Identity, Environment, Analysis, String, NamedRelations,
     * Unreadable)}: the session's transaction, or a statement of the text before another, made names unreadable. */
    public static boolean anyUnreadable(Analysis analysis, Unreadable open) {
        return !open.isEmpty() || (analysis.statements().size() > 1
                && Unreadable.changesBeforeLast(analysis.statements()));
    }

    /**
     * The catalog's answers, but for the names DDL of the session's transaction changed: a view it made reaches
     * what the definition the session wrote names, and runs the functions it calls; what any other such name runs
     * is not known (a write to one, or a read of one, is judged as a write that may reach any table). A write or
     * read of any relation also runs what the transaction's DDL made run later ({@link Unreadable#deferred}): the
     * catalog does not say which relation it hangs on, nor through which others it is reached.
     */
    private record ChangedInTransaction(NamedRelations catalog, Unreadable unreadable) implements NamedRelations {
        @Override
        public Set<String> holding(String relation) {
            Set<String> held = catalog.holding(relation);
            return held == null && (unreadable.relation(relation) || unreadable.view(relation) != null) ? Set.of()
                    : held;
        }

        @Override
        public Set<TableRef> namedByViews(String relation) {
            List<StatementFacts> made = unreadable.view(relation);
            if (made == null) {
                return catalog.namedByViews(relation);
            }
            // What the definitions the session wrote name (a write through the view writes its table), besides
            // what the catalog says of the name (a view replaced, another schema's relation).
            Set<TableRef> out = new java.util.LinkedHashSet<>(catalog.namedByViews(relation));
            for (StatementFacts definition : made) {
                for (StatementFacts f : definition.allStatements()) {
                    out.addAll(f.tablesRead());
                    f.tablesWritten().stream().filter(t -> !t.name().equals(relation)).forEach(out::add);
                }
            }
            return out;
        }

        @Override
        public List<StatementFacts> runBy(String relation, boolean written) {
            if (unreadable.relation(relation)) {
                return null;
            }
            List<StatementFacts> run = catalog.runBy(relation, written);
            List<StatementFacts> made = unreadable.view(relation);
            if (run == null || (made == null && unreadable.deferred().isEmpty())) {
                return run;
            }
            List<StatementFacts> out = new ArrayList<>(run);
            if (made != null) {
                // A view's definition runs the functions it calls (their bodies, nested in the definition's facts).
                made.forEach(definition -> out.addAll(definition.nested()));
            }
            out.addAll(unreadable.deferred());
            return out;
        }

        @Override
        public Set<String> creatable() {
            return catalog.creatable();
        }

        @Override
        public Set<String> systemTables() {
            return catalog.systemTables();
        }
    }

    /**
     * {@code schemas}, with the names {@code changed} made unreadable: DDL that a body runs (a function's, a
     * trigger's, a DO block's) changes what the names its other statements use mean, and the catalog Warden reads
     * has none of it (a view it makes is written through by the next statement, or the next call).
     */
    private static NamedRelations withChanges(Unreadable changed, NamedRelations schemas) {
        if (changed.isEmpty()) {
            return schemas;
        }
        return schemas instanceof ChangedInTransaction c
                ? new ChangedInTransaction(c.catalog(), c.unreadable().with(changed))
                : new ChangedInTransaction(schemas, changed);
    }

    private static NamedRelations withoutDeferred(NamedRelations schemas) {
        return schemas instanceof ChangedInTransaction c && !c.unreadable().deferred().isEmpty()
                ? new ChangedInTransaction(c.catalog(), c.unreadable().withoutDeferred()) : schemas;
    }

    /**
     * The decision for one statement. What runs as part of it (the actions of a rule it creates, the static
     * SQL of a DO block, the pieces of a BEGIN ATOMIC body, the bodies of user functions it calls) is judged
     * like a statement of its own: a DROP in a body is a DROP.
     */
    public Decision decide(Identity who, Environment env, StatementFacts facts, String upstreamUser) {
        return decide(who, env, facts, upstreamUser, NamedRelations.PUBLIC_ONLY);
    }

    /** As above, with unqualified names in any schema that {@code schemas} finds them in. */
    public Decision decide(Identity who, Environment env, StatementFacts facts, String upstreamUser,
                           NamedRelations schemas) {
        schemas = withChanges(Unreadable.changedWithin(facts), schemas);
        // The strictest decision: a block anywhere (in what a trigger runs too) outranks an approval of the
        // statement, which its approver would grant seeing the statement only.
        Strictest strictest = new Strictest();
        java.util.Set<StatementFacts> planned = plannedOnly(facts);
        for (StatementFacts f : facts.allStatements()) {
            if (strictest.blocks(decideOne(who, env, f, upstreamUser, schemas, planned.contains(f)))) {
                return strictest.held;
            }
        }
        if (namesTables(env) && strictest.blocks(decideWhatReadsWrite(who, env, facts, upstreamUser,
                withoutDeferred(schemas)))) {
            return strictest.held;
        }
        if (!namesTables(env)) {
            // (A rule matching every write counts: a helper's pass, a131, had one approved CREATE FUNCTION and CREATE
            // DOMAIN let casts to the domain run the function's UPDATE unheld under such a rule, until COMMIT.)
            return strictest.held;
        }
        if (strictest.blocks(decideChangedFunctions(who, env, facts, schemas, upstreamUser))
                || strictest.blocks(decideWhatMaintenanceComputes(who, env, facts, schemas))
                || strictest.blocks(decideWhatWritesRun(who, env, facts, schemas))) {
            return strictest.held;
        }
        if (usesOperatorsOrCasts(facts)) {
            strictest.blocks(decideDeferred(who, env, schemas));
        }
        Unreadable open = schemas.unreadable();
        if (strictest.held.allowed() && (open.everything() || !open.functions().isEmpty() || !open.bodies().isEmpty()
                || !open.views().isEmpty()) && mayRunWhatIsNotCommitted(facts)) {
            // Routines or views made, replaced or altered by DDL not yet committed are reached in more ways than
            // Warden follows against the committed catalog it reads: a helper's pass (a133), after one approved
            // CREATE OR REPLACE FUNCTION, ran its new UPDATE through an operator, a cast, a domain's CHECK, an
            // aggregate, a temporary view, a cursor and a plain EXPLAIN (the planner runs immutable calls). Until
            // the transaction ends, whatever may run them is judged as a write.
            // (By the rules that hold every write only: a rule naming tables is followed as far as Warden reads.)
            strictest.blocks(decideByAnyWriteRules(who, env, "DDL of this transaction (or earlier in this text) "
                    + "made, replaced or altered functions or views, which Warden reads as committed until it ends; "
                    + "this statement may run them, and they may write"));
        }
        return strictest.held;
    }

    /** By the rules that match every write ({@link #anyWrite}): the first that blocks, else the first that asks. */
    private Decision decideByAnyWriteRules(Identity who, Environment env, String why) {
        Strictest strictest = new Strictest();
        for (CompiledRule compiled : rules) {
            GuardrailRule rule = compiled.rule();
            if (applies(rule, who, env) && anyWrite(rule.match()) && strictest.blocks(decision(rule, why))) {
                break;
            }
        }
        return strictest.held;
    }

    /** Statements that run no function, operator, cast or view: what ends or marks a transaction, SET, SHOW. */
    private static final Set<StatementKind> RUNS_NOTHING = Set.of(StatementKind.BEGIN, StatementKind.COMMIT,
            StatementKind.ROLLBACK, StatementKind.SAVEPOINT, StatementKind.RELEASE, StatementKind.SHOW,
            StatementKind.SET, StatementKind.RESET, StatementKind.EMPTY, StatementKind.CLOSE,
            StatementKind.DEALLOCATE, StatementKind.LISTEN, StatementKind.UNLISTEN);

    /** Whether {@code facts} may run a function, an operator, a cast or a view: all but those kinds and constants. */
    private static boolean mayRunWhatIsNotCommitted(StatementFacts facts) {
        for (StatementFacts f : facts.allStatements()) {
            if (RUNS_NOTHING.contains(f.kind())) {
                continue;
            }
            if (f.kind() != StatementKind.SELECT || !f.functions().isEmpty() || !f.implicitCalls().isEmpty()
                    || !f.tablesRead().isEmpty() || f.unparsed() || f.dynamicSql()) {
                return true;
            }
        }
        return false;
    }

    /** The strictest of the decisions added: a block at once, else the first that asks for approval. */
    private static final class Strictest {
        Decision held = Decision.ALLOW;

        /** Adds {@code d}; true when it blocks (nothing is stricter: the caller may stop). */
        boolean blocks(Decision d) {
            if (d.verdict() == Decision.Verdict.BLOCK) {
                held = d;
                return true;
            }
            if (!d.allowed() && held.allowed()) {
                held = d;
            }
            return false;
        }
    }

    private static boolean usesOperatorsOrCasts(StatementFacts facts) {
        for (StatementFacts f : facts.allStatements()) {
            if (!f.implicitCalls().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * What DDL of the transaction made run later ({@link Unreadable#deferred}), for a statement that uses an
     * operator or a cast: one made in the transaction calls its function where the statement names neither the
     * function nor a relation (which would have brought these along, see {@link ChangedInTransaction}).
     */
    private Decision decideDeferred(Identity who, Environment env, NamedRelations schemas) {
        NamedRelations without = withoutDeferred(schemas);
        Strictest strictest = new Strictest();
        for (StatementFacts d : schemas.unreadable().deferred()) {
            if (strictest.blocks(decideChangedFunctions(who, env, d, without, null))) {
                return strictest.held;
            }
            for (StatementFacts r : d.allStatements()) {
                if (strictest.blocks(decideByRules(who, env, r, without, true, ", run by what DDL of an open "
                        + "transaction made run,"))) {
                    return strictest.held;
                }
            }
            if (strictest.blocks(decideWhatWritesRun(who, env, d, without))) {
                return strictest.held;
            }
        }
        return strictest.held;
    }

    /**
     * Calls of functions DDL of the session's transaction changed. One it made or replaced runs the body the
     * session wrote: its statements are judged as a body the catalog holds would be (and the functions they call,
     * a few levels deep). One it renamed or altered otherwise: the catalog Warden reads still has what was
     * committed, so what the call writes is not known.
     */
    /**
     * How deep {@link #decideChangedFunctions} and {@link #decideWhatWritesRun} call each other on this thread: a body
     * the open transaction wrote reads a relation whose default calls that body again (a helper's pass, a138 F8: the
     * session's thread overflowed its stack and the client never got an answer).
     */
    private static final ThreadLocal<int[]> CHANGED_NESTING = ThreadLocal.withInitial(() -> new int[1]);

    private Decision decideChangedFunctions(Identity who, Environment env, StatementFacts facts,
                                            NamedRelations schemas, String upstreamUser) {
        Strictest strictest = new Strictest();
        Unreadable unreadable = schemas.unreadable();
        if (unreadable.isEmpty()) {
            return strictest.held;
        }
        int[] nesting = CHANGED_NESTING.get();
        if (nesting[0] > MAX_VIEW_DEPTH) {
            strictest.blocks(decideEveryWrite(who, env, "functions an open transaction made call each other, through "
                    + "the relations they read and write, deeper than Warden follows; they may write a table this "
                    + "rule names"));
            return strictest.held;
        }
        nesting[0]++;
        try {
            return changedFunctions(who, env, facts, schemas, upstreamUser, unreadable, strictest);
        } finally {
            nesting[0]--;
        }
    }

    private Decision changedFunctions(Identity who, Environment env, StatementFacts facts, NamedRelations schemas,
                                      String upstreamUser, Unreadable unreadable, Strictest strictest) {
        List<StatementFacts> todo = facts.allStatements();
        Set<String> seen = new java.util.HashSet<>();
        for (int depth = 0; depth <= MAX_VIEW_DEPTH && !todo.isEmpty(); depth++) {
            List<StatementFacts> next = new ArrayList<>();
            for (StatementFacts f : todo) {
                for (String function : f.functions()) {
                    if (unreadable.function(function)) {
                        strictest.blocks(decideEveryWrite(who, env, "Warden could not read what " + function
                                + "() does: DDL "
                                + "of an open transaction altered or renamed it, and Warden reads the catalog as "
                                + "committed; it may write a table this rule names"));
                        return strictest.held;
                    }
                    List<StatementFacts> body = unreadable.body(function);
                    if (body == null || !seen.add(function)) {
                        continue;
                    }
                    NamedRelations inBody = withChanges(Unreadable.changedByAll(body), schemas);
                    for (StatementFacts statement : body) {
                        for (StatementFacts s : statement.allStatements()) {
                            Decision d = upstreamUser != null ? decideOne(who, env, s, upstreamUser, inBody, false)
                                    : decideByRules(who, env, s, inBody, false, ", run by " + function + "(),");
                            if (strictest.blocks(d)) {
                                return d;
                            }
                            next.add(s);
                        }
                        Decision d = decideWhatWritesRun(who, env, statement, inBody);
                        if (strictest.blocks(d)) {
                            return d;
                        }
                    }
                }
            }
            todo = next;
        }
        for (StatementFacts f : todo) {
            for (String function : f.functions()) {
                if (unreadable.function(function) || (unreadable.body(function) != null && !seen.contains(function))) {
                    // Called deeper than Warden follows.
                    strictest.blocks(decideEveryWrite(who, env, "Warden could not follow " + function
                            + "(), which an open "
                            + "transaction made, as deep as it is called; it may write a table this rule names"));
                    return strictest.held;
                }
            }
        }
        return strictest.held;
    }

    /**
     * {@code plannedOnly}: {@code facts} is the statement of an EXPLAIN that does not run it, or within one (see
     * {@link #plannedOnly}).
     */
    private Decision decideOne(Identity who, Environment env, StatementFacts facts, String upstreamUser,
                               NamedRelations schemas, boolean plannedOnly) {
        Decision baseline = baseline(env, facts, upstreamUser, schemas);
        if (!baseline.allowed()) {
            return baseline;
        }
        return decideByRules(who, env, facts, schemas, false, "", plannedOnly);
    }

    /**
     * The statements of {@code facts} that an EXPLAIN without ANALYZE only plans (its statement, and what that one
     * holds), by identity: a rule on writes does not hold them for the write's sake (attacker pass a139, F3: a plain
     * EXPLAIN of an UPDATE was held for approval, and refused to an agent, though nothing of it runs). The EXPLAIN's
     * own facts keep what it calls (the functions it names, and their bodies, which the planner may run when they are
     * immutable or stable), and rules on statements or tables still match the write planned.
     */
    private static java.util.Set<StatementFacts> plannedOnly(StatementFacts facts) {
        java.util.Set<StatementFacts> out = null;
        for (StatementFacts f : facts.allStatements()) {
            if (plansOnly(f) && (out == null || !out.contains(f))) {
                if (out == null) {
                    out = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
                }
                out.addAll(f.inner().get().allStatements());
            }
        }
        return out == null ? java.util.Set.of() : out;
    }

    /**
     * The policy's rules in file order, the first that blocks deciding, else the first that asks for approval;
     * with {@code tablesOnly}, those that name tables only (see {@link #decideWhatWritesRun}), and {@code ranBy}
     * says what ran the statement.
     */
    private Decision decideByRules(Identity who, Environment env, StatementFacts facts, NamedRelations schemas,
                                   boolean tablesOnly, String ranBy) {
        return decideByRules(who, env, facts, schemas, tablesOnly, ranBy, false);
    }

    private Decision decideByRules(Identity who, Environment env, StatementFacts facts, NamedRelations schemas,
                                   boolean tablesOnly, String ranBy, boolean plannedOnly) {
        Strictest strictest = new Strictest();
        for (CompiledRule compiled : rules) {
            GuardrailRule rule = compiled.rule();
            if (!applies(rule, who, env) || (tablesOnly && rule.match().tables().isEmpty())
                    || (plannedOnly && rule.match().writes().orElse(false))) {
                continue;
            }
            // Past a rule that asks for approval, one that blocks still decides: no approval lets through what a
            // rule refuses.
            if ((strictest.held.allowed() || rule.action() == GuardrailRule.Action.BLOCK)
                    && matchesWithInner(compiled, facts, schemas)
                    && strictest.blocks(decision(rule, rule.message().isEmpty() ? describe(facts) + ranBy
                    + " matches this rule" : rule.message()))) {
                break;
            }
        }
        return strictest.held;
    }

    private static boolean applies(GuardrailRule rule, Identity who, Environment env) {
        boolean agent = who.kind() == Identity.Kind.AGENT;
        return rule.appliesIn(env.name()) && rule.appliesTo().contains(who.username(), who.groups(), agent)
                && !(rule.unless().isPresent() && rule.unless().get().contains(who.username(), who.groups(), agent));
    }

    private static Decision decision(GuardrailRule rule, String why) {
        return rule.action() == GuardrailRule.Action.BLOCK ? Decision.block(rule.name(), why, null)
                : new Decision(Decision.Verdict.REQUIRE_APPROVAL, rule.name(), why, null, rule.approvers(),
                rule.retry());
    }

    /** Statements that write or read relations, and so run their rules, triggers, defaults, views, policies. */
    private static final Set<StatementKind> FIRING = Set.of(StatementKind.INSERT, StatementKind.UPDATE,
            StatementKind.DELETE, StatementKind.MERGE, StatementKind.COPY, StatementKind.TRUNCATE,
            StatementKind.SELECT);
    /** CREATE TABLE AS, CREATE MATERIALIZED VIEW and REFRESH run the query they read. */
    private static final Set<String> CREATED_FROM_QUERY = Set.of("TABLE", "MATERIALIZED VIEW");

    /**
     * What the server runs because a statement reads or writes a relation, without the statement naming it: the
     * actions of the relation's rewrite rules (a {@code DO INSTEAD} rule runs them instead of the write), the
     * statements of its triggers' functions (an {@code INSTEAD OF} trigger of a view, an ordinary trigger of a
     * table), the user functions its column defaults and CHECK constraints call (on a write), those its view
     * definition and row security policies call (on a read too); a few levels deep. They are judged by the rules
     * that name tables, as statements of their own: what they write is written. Not by the baseline, nor by
     * rules on a statement's form: the relation's owner wrote them once, and a trigger that routes rows with
     * EXECUTE, or a function in C, is no statement of the session's. When Warden could not read what a relation
     * runs (the catalog could not be read, or it runs SQL built at run time), a write to it, or a read of it
     * when the catalog knows it, may write any table: the first rule that names tables and applies to writes
     * decides. A read of a name the catalog could not look up is let through (masking fails closed on it).
     */
    private Decision decideWhatWritesRun(Identity who, Environment env, StatementFacts facts, NamedRelations schemas) {
        Strictest strictest = new Strictest();
        List<StatementFacts> todo = new ArrayList<>(facts.allStatements());
        Set<String> seen = new java.util.HashSet<>();
        // What the transaction's DDL made run comes with every relation: judged once.
        Set<StatementFacts> judged = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (int depth = 0; depth < MAX_VIEW_DEPTH && !todo.isEmpty(); depth++) {
            List<StatementFacts> next = new ArrayList<>();
            for (StatementFacts statement : todo) {
                for (Reached reached : reachedBy(statement, schemas)) {
                    TableRef t = reached.table();
                    boolean writes = reached.written();
                    if (t.equals(TableRef.ANY_RELATION) || !seen.add((writes ? "w " : "r ") + t.name())) {
                        // (A sequence runs no rule, trigger or policy.)
                        continue;
                    }
                    List<StatementFacts> run = schemas.runBy(t.name(), writes);
                    if (run == null) {
                        if (writes || schemas.holding(t.name()) != null) {
                            Decision d = schemas.unreadable().relation(t.name()) ? decideEveryWrite(who, env,
                                    "Warden could not read what " + t.qualified() + " runs when written or read: "
                                    + "DDL of an open transaction changed what the name means, and Warden reads "
                                    + "the catalog as committed; it may write a table this rule names")
                                    : decideAnyWrite(who, env, t);
                            if (strictest.blocks(d)) {
                                return d;
                            }
                        }
                        continue;
                    }
                    NamedRelations inRun = withChanges(Unreadable.changedByAll(run), schemas);
                    for (StatementFacts top : run) {
                        if (!judged.add(top)) {
                            continue;
                        }
                        for (StatementFacts r : top.allStatements()) {
                            // (What runs there is judged without the deferred statements: they are judged
                            // here, once; with them, each relation a body writes would bring them back.)
                            Decision changed = decideChangedFunctions(who, env, r, withoutDeferred(inRun), null);
                            if (strictest.blocks(changed)) {
                                return changed;
                            }
                            Decision d = decideByRules(who, env, r, inRun, true, ", run by "
                                    + t.qualified() + " (a rule, trigger, default, constraint, view or policy),");
                            if (strictest.blocks(d)) {
                                return d;
                            }
                            next.add(r);
                        }
                    }
                }
            }
            todo = next;
        }
        for (StatementFacts deeper : todo) {
            // Written deeper than Warden follows: what those writes run is not known.
            if (FIRING.contains(deeper.kind()) && !deeper.tablesWritten().isEmpty()) {
                strictest.blocks(decideAnyWrite(who, env, deeper.tablesWritten().iterator().next()));
                return strictest.held;
            }
        }
        return strictest.held;
    }

    /** A relation a statement reads or, {@code written}, writes: what it runs, the statement runs. */
    private record Reached(TableRef table, boolean written) {
    }

    /** {@link #reached} for {@code statement} and the statements it wraps (EXPLAIN, PREPARE, DECLARE ...). */
    private static List<Reached> reachedBy(StatementFacts statement, NamedRelations schemas) {
        if (statement.inner().isEmpty()) {
            return reached(statement, schemas);
        }
        List<Reached> out = new ArrayList<>();
        for (StatementFacts f = statement; f != null; f = f.inner().orElse(null)) {
            out.addAll(reached(f, schemas));
        }
        return out;
    }

    /**
     * The relations {@code f} reads or writes, through views, each read or written, when {@code f} runs what they
     * run (a write, a read, REFRESH, CREATE TABLE AS); none otherwise.
     */
    private static List<Reached> reached(StatementFacts f, NamedRelations schemas) {
        boolean firing = FIRING.contains(f.kind());
        if (!firing && f.kind() != StatementKind.REFRESH && !(f.kind() == StatementKind.CREATE
                && CREATED_FROM_QUERY.contains(f.objectType()))) {
            return List.of();
        }
        Set<String> written = new java.util.HashSet<>();
        if (firing) {
            throughViews(new ArrayList<>(f.tablesWritten()), schemas).forEach(t -> written.add(t.name()));
        }
        // REFRESH "writes" its materialized view by running the view's query: what reading it runs.
        boolean refresh = f.kind() == StatementKind.REFRESH;
        List<Reached> out = new ArrayList<>();
        for (TableRef t : throughViews(union(f.tablesRead(), firing || refresh ? f.tablesWritten() : Set.of()),
                schemas)) {
            out.add(new Reached(t, written.contains(t.name())));
        }
        return out;
    }

    /**
     * What reading a relation runs that writes, judged as a write of the statement's own: by the baseline and by
     * every rule, not only those that name tables (see {@link #decideWhatWritesRun}). A read runs the functions its
     * view definition and row security policies call, the casts out of its columns' types and their domains'
     * checks; a body among them that deletes, updates, writes a sequence or runs SQL built at run time makes
     * {@code SELECT upper(c) FROM t} such a write, as {@code SELECT f()} is when {@code f} writes. (Attacker pass
     * a109, helper-111: the read ran unapproved on prod, where {@code writes: true} holds every write, and past the
     * baseline on staging.) Only what writes in so many words counts: a read-only body of a function that is
     * volatile by default leaves the read a read (a direct call of it counts as a write). What a write runs
     * (triggers, defaults) stays with the rules that name tables: the statement is a write already. Where Warden
     * could not read what a read of a relation the catalog knows runs, the rules that hold every write decide.
     */
    private Decision decideWhatReadsWrite(Identity who, Environment env, StatementFacts facts, String upstreamUser,
                                          NamedRelations schemas) {
        List<TableRef> relations = new ArrayList<>();
        readBy(facts, schemas, relations, 0);
        return readsWrite(who, env, relations, upstreamUser, schemas, new java.util.HashSet<>(), 0);
    }

    /**
     * Adds the relations {@code f}, what it wraps and what is nested in it read (and do not write) to {@code out};
     * not those of a plain EXPLAIN, which plans its statement and runs none of it (attacker pass a112, O2).
     */
    private static void readBy(StatementFacts f, NamedRelations schemas, List<TableRef> out, int depth) {
        if (depth > 16 || f.kind() == StatementKind.EXPLAIN && !dev.warden.sql.Analyzer.explainRuns(f.text())) {
            return;
        }
        for (Reached reached : reached(f, schemas)) {
            if (!reached.written()) {
                out.add(reached.table());
            }
        }
        f.inner().ifPresent(in -> readBy(in, schemas, out, depth + 1));
        for (StatementFacts n : f.nested()) {
            readBy(n, schemas, out, depth + 1);
        }
    }

    /**
     * How many steps deep {@link #decideWhatReadsWrite} follows what reads run: a view's relations, a function's
     * body, a policy's subquery, each a step (the catalog loads view definitions as deep). A read still running
     * something past that is judged as one Warden cannot read.
     */
    private static final int MAX_READ_DEPTH = 8;

    /**
     * {@link #decideWhatReadsWrite} for reads of {@code relations}, {@code depth} steps down: what each runs is judged
     * where it writes, and what it reads in turn (a view's relations, what a function's body or a policy's subquery
     * reads, even where nothing on the way writes) is followed a step further.
     */
    private Decision readsWrite(Identity who, Environment env, List<TableRef> relations, String upstreamUser,
                                NamedRelations schemas, Set<String> seen, int depth) {
        Strictest strictest = new Strictest();
        List<TableRef> further = new ArrayList<>();
        for (TableRef t : relations) {
            if (t.equals(TableRef.ANY_RELATION) || !seen.add(t.name())) {
                continue;
            }
            if (depth >= MAX_READ_DEPTH) {
                strictest.blocks(decideUnfollowedRead(who, env, t));
                return strictest.held;
            }
            further.addAll(schemas.namedByViews(t.name()));
            List<StatementFacts> run = schemas.runBy(t.name(), false);
            if (run == null) {
                // (A name DDL of the session's transaction changed was judged with that DDL.)
                if (schemas.unreadable().relation(t.name())) {
                    continue;
                }
                if (schemas.holding(t.name()) == null) {
                    // Named by the text: not a relation the catalog knows (the server refuses the name, or masking
                    // fails closed on it). Reached through one: deeper than the catalog looked.
                    if (depth > 0 && strictest.blocks(decideUnfollowedRead(who, env, t))) {
                        return strictest.held;
                    }
                    continue;
                }
                if (strictest.blocks(decideUnreadRead(who, env, "Warden could not read what reading "
                        + t.qualified() + " runs (a function of its view, policies or columns' types runs SQL built "
                        + "at run time, or another transaction holds what defines it); it may write"))) {
                    return strictest.held;
                }
                continue;
            }
            for (StatementFacts top : run) {
                for (StatementFacts r : top.allStatements()) {
                    for (Reached reached : reached(r, schemas)) {
                        further.add(reached.table());
                    }
                    if (!writesInSoManyWords(r)) {
                        continue;
                    }
                    Decision d = baseline(env, r, upstreamUser, schemas);
                    if (d.allowed()) {
                        d = decideByRules(who, env, r, schemas, false, ", run by reading " + t.qualified()
                                + " (a view's or a policy's function, a cast or check of a column's type),");
                    }
                    if (strictest.blocks(d)) {
                        return d;
                    }
                }
            }
        }
        if (!further.isEmpty()) {
            strictest.blocks(readsWrite(who, env, further, upstreamUser, schemas, seen, depth + 1));
        }
        return strictest.held;
    }

    /**
     * A read that reaches {@code t} deeper than {@link #MAX_READ_DEPTH} steps, or than the catalog looked: refused by
     * the baseline's
     * {@code dynamic-sql} (as a call of a function deeper than Warden follows is), else judged by the rules that hold
     * every write.
     */
    private Decision decideUnfollowedRead(Identity who, Environment env, TableRef t) {
        return decideUnreadRead(who, env, "reading it reaches " + t.qualified() + " through views, functions or "
                + "policies further than Warden follows what a read runs; it may write");
    }

    /**
     * A read whose runs Warden cannot read, {@code why}: refused by the baseline's {@code dynamic-sql}, as a call of
     * a function running SQL built at run time is; else judged by the rules that hold every write.
     */
    private Decision decideUnreadRead(Identity who, Environment env, String why) {
        if (baselineOn(env, "dynamic-sql")) {
            return Decision.block("dynamic-sql", why, "read the tables, or a view that runs no such function");
        }
        return decideEveryWrite(who, env, why);
    }

    /**
     * Whether {@code f}, or a statement nested in it, writes by what it says (a DELETE, an UPDATE, DDL, a sequence or
     * a table written, SQL built at run time, a built-in that changes something or reaches the server's files or
     * other servers), not only by calling a function that is volatile.
     */
    private static boolean writesInSoManyWords(StatementFacts f) {
        for (StatementFacts s : f.allStatements()) {
            if (!s.tablesWritten().isEmpty() || s.dynamicSql()
                    || (s.kind() != StatementKind.SELECT && s.kind() != StatementKind.EMPTY && s.writes())) {
                return true;
            }
            for (String fn : s.functions()) {
                String name = unqualified(fn).toLowerCase(Locale.ROOT);
                if (dev.warden.sql.Analyzer.changesSomething(name) || SERVER_FILE_FUNCTIONS.contains(name)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * A write Warden cannot read, {@code why}: the rules that hold every write decide (those that name tables, and
     * those that match any write: {@code writes: true} with nothing else), the first that blocks, else the first that
     * asks for approval.
     */
    private Decision decideEveryWrite(Identity who, Environment env, String why) {
        Strictest strictest = new Strictest();
        for (CompiledRule compiled : rules) {
            GuardrailRule rule = compiled.rule();
            StatementMatch m = rule.match();
            if (applies(rule, who, env) && (anyWrite(m) || !m.tables().isEmpty() && m.writes().orElse(true))
                    && strictest.blocks(decision(rule, why))) {
                break;
            }
        }
        return strictest.held;
    }

    /** Whether {@code m} matches every write: {@code writes: true} with nothing else. */
    private static boolean anyWrite(StatementMatch m) {
        return m.tables().isEmpty() && m.writes().orElse(false) && m.statements().isEmpty() && m.functions().isEmpty()
                && !m.withoutWhere() && m.copy().isEmpty() && !m.unparsed();
    }

    /** Statements that compute a table's indexes (and ANALYZE its statistics objects) over every row there. */
    private static final Set<StatementKind> MAINTENANCE = Set.of(StatementKind.ANALYZE, StatementKind.VACUUM,
            StatementKind.CLUSTER, StatementKind.REINDEX);
    private static final Pattern COMPUTED_OVER_EVERY_ROW = Pattern.compile(
            "(?i)\\bas\\s+" + NamedRelations.COMPUTED_OVER_EVERY_ROW + "\\b");
    private static final Pattern COMPUTED_OR_CHECKED_OVER_EVERY_ROW = Pattern.compile(
            "(?i)\\bas\\s+(" + NamedRelations.COMPUTED_OVER_EVERY_ROW + "|" + NamedRelations.CHECKED_OVER_EVERY_ROW
            + ")\\b");
    /**
     * The words of the ALTER TABLE actions that validate the rows there (VALIDATE CONSTRAINT, ATTACH PARTITION) or
     * rewrite them (ALTER COLUMN TYPE, ADD COLUMN, SET LOGGED/UNLOGGED, SET ACCESS METHOD, SET EXPRESSION): found
     * anywhere in the text, a comment's words too, which only errs towards judging.
     */
    private static final Pattern PARTITION_WORD = Pattern.compile("(?i)\\bpartition\\b");
    private static final Pattern OF_WORD = Pattern.compile("(?i)\\bof\\b");
    private static final Pattern ALTER_OVER_EVERY_ROW = Pattern.compile(
            "(?i)\\b(validate|type|add|logged|unlogged|attach|access|expression)\\b");

    /**
     * Whether {@code f} is CREATE TABLE ... PARTITION OF (the words found anywhere in the text, which only errs
     * towards judging): the server checks the default partition's rows against the parent's key.
     */
    public static boolean createsPartitionOf(StatementFacts f) {
        if (f.kind() != StatementKind.CREATE || !"TABLE".equals(f.objectType())) {
            return false;
        }
        // PARTITION, then OF after it: the first PARTITION and any OF after it (one pattern spanning both retried
        // every PARTITION and read to the end each time: quadratic in a comment of them, a helper's review).
        java.util.regex.Matcher partition = PARTITION_WORD.matcher(f.text());
        return partition.find() && OF_WORD.matcher(f.text()).find(partition.end());
    }

    /**
     * Whether {@code f} is an ALTER TABLE that validates or rewrites the rows there (see
     * {@link #ALTER_OVER_EVERY_ROW}): the server evaluates the table's CHECK constraints over each of them.
     */
    public static boolean checksEveryRow(StatementFacts f) {
        return f.kind() == StatementKind.ALTER && "TABLE".equals(f.objectType())
                && ALTER_OVER_EVERY_ROW.matcher(f.text()).find();
    }

    /**
     * Whether {@code f} is ANALYZE, VACUUM, CLUSTER or REINDEX that names no table, or a wildcard ({@code *.*},
     * {@code schema.*}, not pg_catalog's): it maintains every table the login may (Warden counts every table's).
     */
    public static boolean maintainsEveryTable(StatementFacts f) {
        if (!MAINTENANCE.contains(f.kind())) {
            return false;
        }
        if (f.tablesRead().isEmpty() && f.tablesWritten().isEmpty()) {
            return true;
        }
        for (TableRef t : union(f.tablesRead(), f.tablesWritten())) {
            // (REINDEX SYSTEM: the catalogs' indexes, which compute no user function.)
            if (t.name().equals("*") && !"pg_catalog".equals(t.schema())) {
                return true;
            }
        }
        return false;
    }

    /**
     * What ANALYZE, VACUUM, CLUSTER and REINDEX of a table run: the functions its indexes and statistics objects
     * compute, over every row there. (Only those: its triggers, rules and foreign keys do not fire.)
     */
    private Decision decideWhatMaintenanceComputes(Identity who, Environment env, StatementFacts facts,
                                                   NamedRelations schemas) {
        Strictest strictest = new Strictest();
        boolean altering = checksEveryRow(facts);
        // A partition made beside a default partition: the parent's key is computed over the default's rows.
        boolean partitioning = createsPartitionOf(facts);
        // An index built sorts (or hashes, places) every row there with its operator classes' support functions.
        boolean indexing = facts.kind() == StatementKind.CREATE && "INDEX".equals(facts.objectType());
        if (!MAINTENANCE.contains(facts.kind()) && !altering && !partitioning && !indexing) {
            return strictest.held;
        }
        Pattern overEveryRow = altering || partitioning ? COMPUTED_OR_CHECKED_OVER_EVERY_ROW : COMPUTED_OVER_EVERY_ROW;
        List<TableRef> tables = partitioning ? new ArrayList<>(facts.tablesRead())
                : union(facts.tablesRead(), facts.tablesWritten());
        if (maintainsEveryTable(facts)) {
            // No table named, or every table of a schema: each table the login may maintain, so each whose indexes
            // or statistics objects compute a user function.
            Set<String> computing = schemas.computingEverywhere();
            if (computing == null) {
                strictest.blocks(decideEveryWrite(who, env, facts.kind()
                        + " that names no table computes the functions of "
                        + "every table's indexes over every row, and Warden could not read which those are"));
                return strictest.held;
            }
            tables = new ArrayList<>(tables);
            for (String name : computing) {
                tables.add(new TableRef(null, name));
            }
        }
        for (TableRef t : tables) {
            if (t.equals(TableRef.ANY_RELATION) || t.name().equals("*")) {
                continue;
            }
            List<StatementFacts> run = schemas.runBy(t.name(), true);
            if (run == null) {
                if (schemas.holding(t.name()) != null) {
                    Decision d = decideAnyWrite(who, env, t);
                    if (strictest.blocks(d)) {
                        return d;
                    }
                }
                continue;
            }
            for (StatementFacts top : run) {
                if (!overEveryRow.matcher(top.text()).find()) {
                    continue;
                }
                for (StatementFacts r : top.allStatements()) {
                    Decision d = decideByRules(who, env, r, schemas, true, ", computed over every row of "
                            + t.qualified() + " (by an index, a statistics object, a check or a partition key),");
                    if (strictest.blocks(d)) {
                        return d;
                    }
                }
            }
        }
        return strictest.held;
    }

    /** A write to {@code written} whose rules and triggers Warden could not read: see {@link #decideWhatWritesRun}. */
    private Decision decideAnyWrite(Identity who, Environment env, TableRef written) {
        return decideEveryWrite(who, env, "Warden could not read what " + written.qualified() + " runs when written or "
                + "read (a view's tables, its rules, triggers, defaults, constraints, policies), which may "
                + "write a table this rule names");
    }

    /** The FunctionCall message calls any function by OID, past any analysis: blocked unless turned off. */
    public Decision decideFunctionCall(Environment env) {
        if (baselineOn(env, "function-call-message")) {
            return Decision.block("function-call-message",
                    "the FunctionCall protocol message calls a function by OID and cannot be checked", 
                    "call the function with SELECT instead");
        }
        return Decision.ALLOW;
    }

    private boolean baselineOn(Environment env, String name) {
        return env.baselineGuardrails() && settings.baselineRuleOn(name);
    }

    private Decision baseline(Environment env, StatementFacts facts, String upstreamUser, NamedRelations schemas) {
        for (StatementFacts f = facts; f != null; f = f.inner().orElse(null)) {
            Decision d = baselineOne(env, f, upstreamUser);
            if (!d.allowed()) {
                return d;
            }
        }
        if (baselineOn(env, "system-catalog-write")) {
            TableRef written = systemCatalogWritten(facts, schemas);
            if (written != null) {
                return Decision.block("system-catalog-write", "this writes the system catalog " + written.qualified()
                        + ": with a superuser login that changes what every rule and masking judge by (a column's "
                        + "name, a function's body, a role's rights) under Warden", "make catalog changes with DDL "
                        + "(ALTER, CREATE OR REPLACE ...), which Warden judges");
            }
        }
        return Decision.ALLOW;
    }

    /**
     * A relation of pg_catalog that {@code facts} (its nested statements, function bodies included) write: named
     * so, or unqualified where the catalog holds one of that name in pg_catalog (which the server searches first
     * unless a search_path names it later); where the name was not looked up, one of pg_catalog's table names, or
     * any name beginning with {@code pg_} until those are read. Only a superuser can write them.
     */
    private static TableRef systemCatalogWritten(StatementFacts facts, NamedRelations schemas) {
        for (StatementFacts top = facts; top != null; top = top.inner().orElse(null)) {
            for (StatementFacts f : top.allStatements()) {
                if (!STORES_ROWS.contains(f.kind()) || onlyPlannerEstimates(f)) {
                    continue; // VACUUM FULL, REINDEX, LOCK ... of the catalogs change no value in them
                }
                for (TableRef t : f.tablesWritten()) {
                    TableRef catalog = catalogWrittenAs(t, schemas, 0, new java.util.HashSet<>());
                    if (catalog != null) {
                        return catalog;
                    }
                }
            }
        }
        return null;
    }

    /**
     * The catalog relation a write of {@code t} writes: {@code t} itself, or what the definitions of the views of its
     * name read (a write of an automatically updatable view writes its relation: an attacker's pass renamed a column
     * through a view over pg_attribute), a few views deep; null when none.
     */
    private static TableRef catalogWrittenAs(TableRef t, NamedRelations schemas, int depth,
                                             java.util.Set<String> followed) {
        if (t.equals(TableRef.ANY_RELATION) || t.name().equals("*")) {
            return null; // schema.*: maintenance of every table of a schema, not a statement storing rows
        }
        if (t.schema() != null ? SYSTEM_SCHEMAS.contains(t.schema()) : isCatalogName(t.name(), schemas)) {
            return t;
        }
        if (schemas == null || !followed.add(t.name())) {
            return null; // a name already followed (a temporary view named like the table it reads)
        }
        Set<TableRef> named = schemas.namedByViews(t.name());
        if (depth >= MAX_VIEW_DEPTH) {
            // Views deeper than Warden follows: what they write is not known, so counted as a catalog write (a
            // helper's pass, a142 F2: an UPDATE through five views over pg_settings set search_path unseen).
            for (TableRef under : named) {
                if (!followed.contains(under.name())) {
                    return new TableRef(null, t.name() + " (through more views than Warden follows)");
                }
            }
            return null;
        }
        for (TableRef under : named) {
            TableRef catalog = catalogWrittenAs(under, schemas, depth + 1, followed);
            if (catalog != null) {
                return catalog;
            }
        }
        return null;
    }

    /** The columns of pg_class that only steer the planner's estimates (tests set them to shape plans). */
    private static final Set<String> PLANNER_ESTIMATES = Set.of("reltuples", "relpages", "relallvisible");

    /**
     * Whether {@code f} is an UPDATE of pg_class that sets only {@link #PLANNER_ESTIMATES}: it changes no name,
     * definition or right that rules or masking judge by.
     */
    public static boolean onlyPlannerEstimates(StatementFacts f) {
        if (f.kind() != StatementKind.UPDATE || f.columnsWritten().isEmpty() || f.tablesWritten().size() != 1) {
            return false;
        }
        TableRef t = f.tablesWritten().iterator().next();
        if (!t.name().equals("pg_class") || (t.schema() != null && !t.schema().equals("pg_catalog"))) {
            return false;
        }
        for (dev.warden.sql.ColumnRef c : f.columnsWritten()) {
            if (!PLANNER_ESTIMATES.contains(c.column())) {
                return false;
            }
        }
        return true;
    }

    /** The statements that store rows in the relations they write (COPY: FROM). */
    public static final Set<StatementKind> STORES_ROWS = Set.of(StatementKind.SELECT, StatementKind.INSERT,
            StatementKind.UPDATE, StatementKind.DELETE, StatementKind.MERGE, StatementKind.COPY);

    /** pg_catalog, and pg_toast: the toast tables of the catalogs hold their long values (a function's body). */
    private static final Set<String> SYSTEM_SCHEMAS = Set.of("pg_catalog", "pg_toast");

    private static boolean isCatalogName(String name, NamedRelations schemas) {
        if (!name.startsWith("pg_")) {
            return false; // every table of pg_catalog is named pg_...
        }
        Set<String> holding = schemas == null ? null : schemas.holding(name);
        if (holding != null && !holding.isEmpty()) {
            return holding.contains("pg_catalog");
        }
        Set<String> system = schemas == null ? null : schemas.systemTables();
        return system == null || system.contains(name);
    }

    private Decision baselineOne(Environment env, StatementFacts f, String upstreamUser) {
        StatementKind kind = f.kind();
        if (kind == StatementKind.DROP && DROPPABLE_CONTAINERS.contains(f.objectType())
                && baselineOn(env, "drop-table-or-schema")) {
            return Decision.block("drop-table-or-schema", "DROP " + f.objectType() + " is not allowed"
                    + tablesSuffix(f), null);
        }
        if (kind == StatementKind.DROP && (f.objectType().equals("EXTENSION") || CASCADE.matcher(f.text()).find())
                && baselineOn(env, "drop-table-or-schema")) {
            // DROP TYPE ... CASCADE drops the tables typed by it, DROP EXTENSION the tables added to it.
            return Decision.block("drop-table-or-schema", "DROP " + f.objectType() + (f.objectType()
                    .equals("EXTENSION") ? " drops every object of the extension, tables included"
                    : " ... CASCADE drops whatever depends on it, tables included"), null);
        }
        if ((kind == StatementKind.DROP_OWNED || kind == StatementKind.REASSIGN_OWNED)
                && baselineOn(env, "drop-table-or-schema")) {
            return Decision.block("drop-table-or-schema", (kind == StatementKind.DROP_OWNED
                    ? "DROP OWNED drops every object the role owns" : "REASSIGN OWNED hands every object the role "
                    + "owns to another role") + " and is covered by the rule against dropping tables", null);
        }
        if (f.dynamicSql() && baselineOn(env, "dynamic-sql")) {
            return Decision.block("dynamic-sql", "this runs SQL built at run time (EXECUTE of an expression, or "
                    + "code in a language Warden cannot read), which could be anything, including a DROP",
                    "run the statements themselves, or EXECUTE a constant string");
        }
        if (kind == StatementKind.TRUNCATE && baselineOn(env, "truncate")) {
            return Decision.block("truncate", "TRUNCATE is not allowed" + tablesSuffix(f), null);
        }
        boolean touchesUpdate = kind == StatementKind.UPDATE || f.innerKinds().contains(StatementKind.UPDATE);
        boolean touchesDelete = kind == StatementKind.DELETE || f.innerKinds().contains(StatementKind.DELETE);
        if (!f.hasWhere() && touchesDelete && baselineOn(env, "delete-without-where")) {
            return Decision.block("delete-without-where", "DELETE without a WHERE clause would delete every row"
                    + tablesSuffix(f), "add a WHERE clause (WHERE true if you really mean every row)");
        }
        if (!f.hasWhere() && touchesUpdate && baselineOn(env, "update-without-where")) {
            return Decision.block("update-without-where", "UPDATE without a WHERE clause would change every row"
                    + tablesSuffix(f), "add a WHERE clause (WHERE true if you really mean every row)");
        }
        if (kind == StatementKind.ALTER && "TABLE".equals(f.objectType()) && baselineOn(env, "update-without-where")) {
            List<String> overwritten = ColumnOverwrite.of(f.text());
            if (!overwritten.isEmpty()) {
                return Decision.block("update-without-where", "ALTER COLUMN ... TYPE ... USING an expression that does "
                        + "not name the column would give every row that value, as an UPDATE without a WHERE clause "
                        + "would (" + String.join(", ", overwritten) + ")" + tablesSuffix(f),
                        "convert the column's own value (USING " + overwritten.get(0) + "::type), or UPDATE it with a "
                        + "WHERE clause first");
            }
        }
        if (f.copy().isPresent() && baselineOn(env, "copy-program-or-file")) {
            CopySpec.Target target = f.copy().get().target();
            if (target == CopySpec.Target.PROGRAM || target == CopySpec.Target.FILE) {
                return Decision.block("copy-program-or-file", "COPY " + f.copy().get().direction() + " "
                        + target + " runs on the database server", "use COPY ... TO STDOUT / FROM STDIN (psql: \\copy)");
            }
        }
        if (kind == StatementKind.ALTER_SYSTEM && baselineOn(env, "alter-system")) {
            return Decision.block("alter-system", "ALTER SYSTEM changes the server configuration", null);
        }
        // Every role may change its own password, and one the identity chose would let it log in around Warden.
        // Warden expires the role's password after each login, which the role cannot undo; this keeps the statement
        // from the database at all (psql's \\password sends it too).
        if (kind == StatementKind.ALTER && f.objectType().equals("ROLE") && PASSWORD.matcher(f.text()).find()
                && baselineOn(env, "role-escalation") && mayBeOwnRole(f.text().strip(), upstreamUser)) {
            return Decision.block("role-escalation", "ALTER ROLE ... PASSWORD would give a database role a password "
                    + "Warden does not hold, to log in without Warden", "Warden sets the role's password at each "
                    + "login: connect through Warden");
        }
        // RESET ROLE (and RESET SESSION AUTHORIZATION) return to whatever role the connection began with, which
        // a per-role or per-database default can make another role than the login: refused like SET ROLE NONE.
        if (baselineOn(env, "role-escalation") && (kind == StatementKind.RESET_ROLE
                || f.innerKinds().contains(StatementKind.RESET_ROLE))) {
            return Decision.block("role-escalation", "RESET ROLE / RESET SESSION AUTHORIZATION could act as another "
                    + "database role than the session's own", null);
        }
        boolean setsRole = kind == StatementKind.SET_ROLE || kind == StatementKind.SET_SESSION_AUTHORIZATION
                || f.innerKinds().contains(StatementKind.SET_ROLE)
                || f.innerKinds().contains(StatementKind.SET_SESSION_AUTHORIZATION);
        if (setsRole && baselineOn(env, "role-escalation")) {
            String target = f.roleTarget().orElse("");
            // Only the session's own login role is harmless (and SET SESSION AUTHORIZATION DEFAULT, which is it).
            // Role names are compared as the server does, exactly: "CC_Login" is another role than cc_login.
            boolean harmless = (target.toLowerCase(Locale.ROOT).equals("default")
                    && kind == StatementKind.SET_SESSION_AUTHORIZATION)
                    || (upstreamUser != null && target.equals(upstreamUser));
            if (!harmless) {
                // Named by what the statement does: set_config('role', ...) was called SET SESSION AUTHORIZATION.
                String change = kind == StatementKind.SET_ROLE ? "SET ROLE"
                        : kind == StatementKind.SET_SESSION_AUTHORIZATION ? "SET SESSION AUTHORIZATION"
                        : f.innerKinds().contains(StatementKind.SET_SESSION_AUTHORIZATION)
                        ? "a change of session_authorization (set_config or a SET clause)"
                        : "a change of role (set_config or a SET clause)";
                return Decision.block("role-escalation", change + " to \"" + f.roleTarget().orElse("?")
                        + "\" would act as another database role", null);
            }
        }
        // A role may change its own login settings without any privilege, and the server applies them at the next
        // login, before Warden sees a statement: local_preload_libraries = 'x' makes every login fail until an
        // administrator resets the role, a search_path points the identity's later sessions at its own objects.
        // Warden resets its per-identity roles' settings at each login; a shared role's are the administrator's.
        if (kind == StatementKind.ALTER && f.objectType().equals("ROLE") && baselineOn(env, "role-escalation")) {
            RoleSettingsChange change = RoleSettingsChange.of(f.text()).orElse(null);
            if (change != null && (change.keyword() || upstreamUser == null || change.role().equals(upstreamUser))) {
                String role = change.keyword() ? change.role() : "\"" + change.role() + "\"";
                return Decision.block("role-escalation", change.statement() + " " + role + " " + change.change()
                        + " would change the settings PostgreSQL applies at every later login of " + (change.keyword()
                        && change.role().equals("ALL") ? "every role, the session's own included" : "the session's own "
                        + "database role") + ", before Warden sees a statement", "SET the setting in the session; an "
                        + "administrator sets a role's defaults outside Warden");
            }
        }
        // A database's settings apply at every later login to it, of every role, before Warden sees a statement; its
        // owner may change them, and a mapped role (or the upstream user every session shares) may own it. Warden
        // resets only its per-identity roles' own settings: these are the administrator's, so no identity sets them.
        if (kind == StatementKind.ALTER && f.objectType().equals("DATABASE") && baselineOn(env, "role-escalation")) {
            DatabaseSettingsChange change = DatabaseSettingsChange.of(f.text()).orElse(null);
            if (change != null) {
                return Decision.block("role-escalation", "ALTER DATABASE \"" + change.database() + "\" "
                        + change.change() + " would change the settings PostgreSQL applies at every later login to "
                        + "that database, of every role, before Warden sees a statement", "SET the setting in the "
                        + "session; an administrator sets a database's defaults outside Warden");
            }
        }
        if (baselineOn(env, "server-file-functions")) {
            for (String fn : calledNames(f)) {
                if (SERVER_FILE_FUNCTIONS.contains(unqualified(fn))) {
                    return Decision.block("server-file-functions", "function " + fn
                            + "() reads or writes server files or other servers", null);
                }
            }
        }
        if (env.production() && kind == StatementKind.DO && baselineOn(env, "do-in-production")) {
            return Decision.block("do-in-production", "DO blocks run code Warden cannot analyse, in a production "
                    + "environment", "run the statements themselves");
        }
        if (env.production() && f.unparsed() && baselineOn(env, "unparsed-in-production")) {
            return Decision.block("unparsed-in-production", "Warden could not analyse this statement, and "
                    + "environment \"" + env.name() + "\" is production", null);
        }
        return Decision.ALLOW;
    }

    /**
     * Whether the ALTER ROLE/USER {@code text} may name the session's own login role: CURRENT_USER, SESSION_USER,
     * CURRENT_ROLE, the login's name, or a form Warden does not read (which counts as its own). Another role's
     * password stays an administrator's business (it needs CREATEROLE, which no identity's own role has).
     */
    private static boolean mayBeOwnRole(String text, String upstreamUser) {
        Matcher m = ALTERED_ROLE.matcher(text);
        if (!m.find()) {
            return true;
        }
        String named = m.group(1);
        String role = named.startsWith("\"") ? named.substring(1, named.length() - 1).replace("\"\"", "\"")
                : named.toLowerCase(Locale.ROOT);
        boolean special = !named.startsWith("\"")
                && Set.of("current_user", "session_user", "current_role").contains(role);
        return special || upstreamUser == null || role.equals(upstreamUser);
    }

    private boolean matchesWithInner(CompiledRule rule, StatementFacts facts, NamedRelations schemas) {
        for (StatementFacts f = facts; f != null; f = f.inner().orElse(null)) {
            if (matches(rule, f, schemas)) {
                return true;
            }
            if (plansOnly(f) && rule.rule().match().writes().orElse(false)) {
                return false; // see plannedOnly
            }
        }
        return false;
    }

    /**
     * Whether {@code f} is an EXPLAIN that does not run the write it wraps: the analysis gives an EXPLAIN the writes of
     * its statement only when it runs it (ANALYZE in any spelling the server takes, see Analyzer#explainRuns).
     */
    private static boolean plansOnly(StatementFacts f) {
        // Not EXPLAIN EXECUTE: the server converts the arguments to the statement's parameter types to plan it,
        // which runs their domains' checks (a helper's pass, a143 F0: a CHECK that deleted rows ran so, unheld).
        return f.kind() == StatementKind.EXPLAIN && !f.writes() && f.inner().isPresent() && f.inner().get().writes()
                && f.inner().get().kind() != StatementKind.EXECUTE;
    }

    private static boolean matches(CompiledRule compiled, StatementFacts f, NamedRelations schemas) {
        StatementMatch m = compiled.rule().match();
        if (!m.statements().isEmpty()) {
            String kind = f.kind().name();
            String withObject = f.objectType().isEmpty() ? kind : kind + " " + f.objectType();
            boolean any = m.statements().contains(kind) || m.statements().contains(withObject)
                    || ((f.kind() == StatementKind.DROP_OWNED || f.kind() == StatementKind.REASSIGN_OWNED)
                        && m.statements().contains(StatementKind.DROP.name()))
                    || f.innerKinds().stream().anyMatch(k -> m.statements().contains(k.name()))
                    || (!m.tables().isEmpty() && takesOutOfRules(f))
                    || renamesRuleSchema(compiled, f);
            if (!any) {
                return false;
            }
        }
        if (m.writes().isPresent() && m.writes().get() != f.writes()) {
            return false;
        }
        if (!m.tables().isEmpty()) {
            boolean any = false;
            for (TableRef t : throughViews(union(f.tablesRead(), f.tablesWritten()), schemas)) {
                any |= matchesTable(compiled, t, schemas);
            }
            if (!any && createsRelations(f)) {
                for (TableRef t : f.tablesWritten()) {
                    any |= t.schema() == null && matchesCreated(compiled, t, schemas);
                }
            }
            any |= renamesRuleSchema(compiled, f);
            String movedTo = f.kind() == StatementKind.ALTER ? movedTo(f.text()) : null;
            if (!any && movedTo != null) {
                for (TableRef t : f.tablesWritten()) {
                    any |= matchesTable(compiled, new TableRef(movedTo, t.name()), schemas);
                }
            }
            if (!any) {
                return false;
            }
        }
        if (!m.functions().isEmpty() && calledNames(f).stream()
                .noneMatch(fn -> m.functions().contains(fn) || m.functions().contains(unqualified(fn)))) {
            return false;
        }
        if (m.withoutWhere()) {
            boolean dml = f.kind() == StatementKind.UPDATE || f.kind() == StatementKind.DELETE
                    || f.innerKinds().contains(StatementKind.UPDATE) || f.innerKinds().contains(StatementKind.DELETE);
            if (!dml || f.hasWhere()) {
                return false;
            }
        }
        if (!m.copy().isEmpty() && (f.copy().isEmpty()
                || !m.copy().contains(f.copy().get().target().name().toLowerCase(Locale.ROOT)))) {
            return false;
        }
        return !m.unparsed() || f.unparsed();
    }

    /**
     * An ALTER that renames a relation ({@code RENAME TO}), moves it ({@code SET SCHEMA}) or takes it out of its
     * inheritance tree ({@code DETACH PARTITION}, {@code NO INHERIT}): a rule that names the relation would no
     * longer see it, so such a rule decides it, whatever statements the rule lists.
     */
    private static boolean takesOutOfRules(StatementFacts f) {
        return f.kind() == StatementKind.ALTER && !f.objectType().equals("SCHEMA")
                && (TextReferences.relocation(f.text()).isPresent() || TextReferences.leavesTree(f.text()));
    }

    /**
     * {@code ALTER SCHEMA s RENAME TO n} where one of the rule's qualified patterns has a schema part that matches
     * {@code s} and not {@code n}: the tables it names in {@code s} would no longer be its own, so the rule
     * decides the rename, whatever statements it lists.
     */
    private static boolean renamesRuleSchema(CompiledRule compiled, StatementFacts f) {
        if (compiled.schemaParts().isEmpty() || f.kind() != StatementKind.ALTER
                || !f.objectType().equals("SCHEMA")) {
            return false;
        }
        java.util.Optional<String> renamed = TextReferences.renamedSchema(f.text());
        if (renamed.isEmpty()) {
            return false;
        }
        String to = TextReferences.relocation(f.text()).map(TextReferences.Relocation::name).orElse("");
        for (Pattern p : compiled.schemaParts()) {
            if (p.matcher(renamed.get()).matches() && !p.matcher(to).matches()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The functions a statement may call: those it names before a parenthesis, and every name after a dot
     * ({@link TextReferences#attributeNames}: {@code (x).f} calls {@code f(x)}). Over-matches a column named like
     * a function, which only errs towards refusing.
     */
    private static Set<String> calledNames(StatementFacts f) {
        if (f.text().indexOf('.') < 0) {
            // No dot, no attribute: BEGIN, SET and COMMIT are judged afresh every time, and are not lexed again.
            return f.functions();
        }
        Set<String> attributes = TextReferences.attributeNames(f.text());
        if (attributes.isEmpty()) {
            return f.functions();
        }
        Set<String> all = new java.util.LinkedHashSet<>(f.functions());
        all.addAll(attributes);
        return all;
    }

    /**
     * {@code tables} and the relations the views among them name, a few views deep: a view is another name for
     * what it reads (a write through an automatically updatable view writes its table).
     */
    private static List<TableRef> throughViews(List<TableRef> tables, NamedRelations schemas) {
        List<TableRef> all = new ArrayList<>(tables);
        int from = 0;
        for (int depth = 0; depth < MAX_VIEW_DEPTH && from < all.size(); depth++) {
            int to = all.size();
            for (int i = from; i < to; i++) {
                for (TableRef read : schemas.namedByViews(all.get(i).name())) {
                    if (!all.contains(read)) {
                        all.add(read);
                    }
                }
            }
            from = to;
        }
        return all;
    }

    /**
     * Whether a rule's tables include {@code t}. An unqualified name is the server's to resolve along the
     * session's search_path, which the session can point at any schema (and a prepared statement is planned
     * again when it changes): it counts as public's and as every schema's the catalog finds it in, and, when the
     * catalog has not looked it up, as any schema's.
     */
    private static boolean matchesTable(CompiledRule compiled, TableRef t, NamedRelations schemas) {
        if (t.equals(TableRef.ANY_RELATION)) {
            return true; // a relation known only when the statement runs (a computed sequence name) may be any
        }
        if (t.schema() != null && t.name().equals("*")) {
            // Every relation of a schema (a grant on all its tables or on the schema, its default privileges, an
            // import into it): each table a rule names there, and each a name-only pattern names.
            return compiled.rule().match().tables().stream().anyMatch(pattern -> pattern.indexOf('.') < 0)
                    || compiled.schemaParts().stream().anyMatch(p -> p.matcher(t.schema()).matches());
        }
        String qualified = (t.schema() == null ? "public" : t.schema()) + "." + t.name();
        for (Pattern p : compiled.tables()) {
            if (p.matcher(qualified).matches() || p.matcher(t.name()).matches()) {
                return true;
            }
        }
        if (t.schema() != null || compiled.tableParts().isEmpty()) {
            return false;
        }
        Set<String> holding = schemas.holding(t.name());
        if (holding == null) {
            return compiled.tableParts().stream().anyMatch(p -> p.matcher(t.name()).matches());
        }
        for (String schema : holding) {
            for (Pattern p : compiled.tables()) {
                if (p.matcher(schema + "." + t.name()).matches()) {
                    return true;
                }
            }
        }
        return false;
    }

    private static final Set<String> CREATED_RELATIONS = Set.of("TABLE", "VIEW", "MATERIALIZED VIEW",
            "FOREIGN TABLE", "SEQUENCE");
    private static final Pattern CREATE_TEMPORARY = Pattern.compile(
            "(?is)\\s*create\\s+(?:or\\s+replace\\s+)?(?:(?:global|local)\\s+)?temp(?:orary)?\\s.*");

    /**
     * Whether the relations {@code f} writes may be made by it (CREATE TABLE, VIEW ..., CREATE TABLE AS, SELECT
     * INTO), in a schema the search_path chooses: not a temporary one, which lands in the session's own schema.
     */
    private static boolean createsRelations(StatementFacts f) {
        // A SELECT creates only its INTO table: what else it writes (a WITH clause's table, the sequence of a
        // nextval) exists already.
        return (f.kind() == StatementKind.CREATE && CREATED_RELATIONS.contains(f.objectType())
                && !CREATE_TEMPORARY.matcher(f.text()).matches()) || (f.kind() == StatementKind.SELECT
                && INTO.matcher(f.text()).find());
    }

    private static final Pattern INTO = Pattern.compile("(?i)\\binto\\b");

    /**
     * Whether a rule's tables include a relation made under the unqualified name {@code t}: it lands in the first
     * schema of the search_path that exists, which the session may have pointed at any schema it can create in
     * (in the same text, or with set_config), so it counts as each of those; as any schema when they are not known.
     */
    private static boolean matchesCreated(CompiledRule compiled, TableRef t, NamedRelations schemas) {
        Set<String> creatable = schemas.creatable();
        if (creatable == null) {
            return compiled.tableParts().stream().anyMatch(p -> p.matcher(t.name()).matches());
        }
        for (String schema : creatable) {
            for (Pattern p : compiled.tables()) {
                if (p.matcher(schema + "." + t.name()).matches()) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The schema an {@code ALTER ... SET SCHEMA} moves the relation it writes to, as the server folds its name;
     * null for any other ALTER.
     */
    private static String movedTo(String text) {
        // Read from the tokens, as the server reads them: past comments, quotes and Unicode escapes.
        return TextReferences.relocation(text).map(TextReferences.Relocation::schema).orElse(null);
    }

    private static List<TableRef> union(Set<TableRef> a, Set<TableRef> b) {
        List<TableRef> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static String unqualified(String function) {
        int dot = function.lastIndexOf('.');
        return dot < 0 ? function : function.substring(dot + 1);
    }

    private static String tablesSuffix(StatementFacts f) {
        Set<TableRef> tables = f.tablesWritten().isEmpty() ? f.tablesRead() : f.tablesWritten();
        if (tables.isEmpty()) {
            return "";
        }
        return " (" + String.join(", ", tables.stream().map(TableRef::qualified).sorted().toList()) + ")";
    }

    private static String describe(StatementFacts f) {
        return f.objectType().isEmpty() ? f.kind().name().replace('_', ' ')
                : f.kind().name().replace('_', ' ') + " " + f.objectType();
    }

    /**
     * {@code *} matches any run of characters; a pattern without a dot matches the table name alone. A part
     * without a wildcard longer than the server keeps names what the server cut it to.
     */
    private static Pattern glob(String glob) {
        String kept = String.join(".", java.util.Arrays.stream(glob.split("\\.", -1))
                .map(part -> part.indexOf('*') < 0 && part.indexOf('?') < 0 ? TextReferences.keptName(part) : part)
                .toList());
        StringBuilder regex = new StringBuilder();
        for (char c : kept.toLowerCase(Locale.ROOT).toCharArray()) {
            if (c == '*') {
                regex.append(".*");
            } else if (c == '?') {
                regex.append('.');
            } else {
                regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        // Case-insensitive over all of Unicode, not ASCII only: a rule on Ärzte holds for "Ärzte", which the
        // server names exactly so, and for anything that differs from it only in case (fail closed).
        return Pattern.compile(regex.toString(), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
    }

    /**
     * @param tableParts of the rule's qualified patterns, the part after the schema's dot
     * @param schemaParts of the rule's qualified patterns, the schema's part
     */
    private record CompiledRule(GuardrailRule rule, List<Pattern> tables, List<Pattern> tableParts,
                                List<Pattern> schemaParts) {
    }
}
