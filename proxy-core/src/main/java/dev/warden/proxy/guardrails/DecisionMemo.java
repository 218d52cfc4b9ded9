package dev.warden.proxy.guardrails;

import dev.warden.config.Environment;
import dev.warden.identity.Identity;
import dev.warden.sql.Analysis;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import java.util.HashMap;
import java.util.Map;

/**
 * One session's guardrail decisions for the statement shapes it repeats, so that a repeated statement is not
 * judged again rule by rule (issue 16, item 5).
 *
 * <p>Why a remembered decision is exact: {@link Guardrails#decide} is a function of the guardrails (one
 * policy's), the identity, the environment, the session's login and the statement's facts, and, when the
 * guardrails name tables, of what the catalog says of the names (schemas, views). The memo is emptied when any
 * of the first four is another object than before, or the catalog's generation moved on (it does at every look-up
 * and DDL). Facts that the analyzer's shape cache
 * hands out for texts of one shape are copies that differ only in their text ({@code withText}); everything
 * else is the same object. So a statement whose facts hold, component by component, the same objects as the
 * remembered statement's (all but the text) gets the remembered decision. Facts built afresh (a cache miss,
 * the bodies of called functions added from the catalog) hold other objects and are judged again.
 *
 * <p>The baseline's CASCADE check on DROP reads the text: a DROP is never remembered. The names written after a
 * dot ({@code (x).f} calls {@code f(x)}) are read from the text too; under the session's reading they are
 * identifiers, which the shape keeps, and the second reading (the other string setting) only adds names.
 *
 * <p>Not thread-safe: one per session, used on its event loop.
 */
public final class DecisionMemo {

    /** Shapes remembered per session; past this the memo starts again (a session of ad-hoc SQL). */
    static final int MAX_ENTRIES = 256;

    /** {@code facts} null: this shape's facts are built afresh for every text (see {@link #AFRESH}). */
    private record Entry(StatementFacts facts, Decision decision) {
    }

    /**
     * Marks a shape whose facts did not match the remembered ones: the lexer builds the facts of statements it
     * reads on its own (BEGIN, SET, COMMIT ...) afresh for every text, and the catalog adds function bodies
     * to each. Such a shape is judged every time without building a new entry for each statement.
     */
    private static final Entry AFRESH = new Entry(null, null);

    private final Map<String, Entry> entries = new HashMap<>();
    private Guardrails guardrails;
    private Identity who;
    private Environment env;
    private String upstreamUser;
    private long generation;
    /** Where the statement being decided finds its unqualified names (see {@link Guardrails.NamedRelations}). */
    private Guardrails.NamedRelations schemas = Guardrails.NamedRelations.PUBLIC_ONLY;
    private long hits;

    /** The same decision as {@code guardrails.decide(who, env, analysis, upstreamUser)}. */
    public Decision decide(Guardrails guardrails, Identity who, Environment env, Analysis analysis,
                           String upstreamUser) {
        return decide(guardrails, who, env, analysis, upstreamUser, Guardrails.NamedRelations.PUBLIC_ONLY, 0);
    }

    /**
     * The same decision as {@code guardrails.decide(who, env, analysis, upstreamUser, schemas)}; {@code schemas}
     * answers from a catalog whose contents move on with {@code catalogGeneration} (the memo then starts again,
     * when the guardrails name tables).
     */
    public Decision decide(Guardrails guardrails, Identity who, Environment env, Analysis analysis,
                           String upstreamUser, Guardrails.NamedRelations schemas, long catalogGeneration) {
        long generation = guardrails.namesTables(env) ? catalogGeneration : 0;
        if (guardrails != this.guardrails || who != this.who || env != this.env
                || upstreamUser != this.upstreamUser || generation != this.generation) {
            entries.clear();
            this.guardrails = guardrails;
            this.who = who;
            this.env = env;
            this.upstreamUser = upstreamUser;
            this.generation = generation;
        }
        this.schemas = schemas;
        for (StatementFacts facts : analysis.statements()) {
            Decision d = decideOne(facts);
            if (!d.allowed()) {
                return d;
            }
        }
        return Decision.ALLOW;
    }

    /** How many statements got a remembered decision (for tests). */
    long hits() {
        return hits;
    }

    private Decision decideOne(StatementFacts facts) {
        if (facts.kind() == StatementKind.DROP) {
            return guardrails.decide(who, env, facts, upstreamUser, schemas);
        }
        Entry known = entries.get(facts.fingerprint());
        if (known == AFRESH) {
            return guardrails.decide(who, env, facts, upstreamUser, schemas);
        }
        if (known != null && sameButText(known.facts(), facts)) {
            hits++;
            return known.decision();
        }
        Decision d = guardrails.decide(who, env, facts, upstreamUser, schemas);
        if (known != null) {
            entries.put(facts.fingerprint(), AFRESH);
            return d;
        }
        if (entries.size() >= MAX_ENTRIES) {
            entries.clear();
        }
        entries.put(facts.fingerprint(), new Entry(withoutText(facts), d));
        return d;
    }

    /**
     * The facts without their text, so that the memo never holds a session's statement texts (up to
     * {@link #MAX_ENTRIES} of them, each as long as a message may be). The other components are the same
     * objects (the record re-freezes its sets to themselves), {@code innerKinds} an equal set.
     */
    private static StatementFacts withoutText(StatementFacts f) {
        return new StatementFacts("", f.fingerprint(), f.kind(), f.objectType(), f.writes(), f.tablesRead(),
                f.tablesWritten(), f.columnsRead(), f.columnsWritten(), f.hasWhere(), f.functions(),
                f.dataModifyingCte(), f.copy(), f.roleTarget(), f.preparedName(), f.inner(), f.innerKinds(),
                f.unparsed(), f.nested(), f.implicitCalls(), f.dynamicSql());
    }

    /**
     * Whether every component but the text is the same object (the same value, for primitives; an equal set
     * for {@code innerKinds}, which every copy of the facts rebuilds).
     */
    static boolean sameButText(StatementFacts a, StatementFacts b) {
        return a.fingerprint().equals(b.fingerprint())
                && a.kind() == b.kind()
                && a.objectType() == b.objectType()
                && a.writes() == b.writes()
                && a.tablesRead() == b.tablesRead()
                && a.tablesWritten() == b.tablesWritten()
                && a.columnsRead() == b.columnsRead()
                && a.columnsWritten() == b.columnsWritten()
                && a.hasWhere() == b.hasWhere()
                && a.functions() == b.functions()
                && a.dataModifyingCte() == b.dataModifyingCte()
                && a.copy() == b.copy()
                && a.roleTarget() == b.roleTarget()
                && a.preparedName() == b.preparedName()
                && a.inner() == b.inner()
                && a.innerKinds().equals(b.innerKinds())
                && a.unparsed() == b.unparsed()
                && a.nested() == b.nested()
                && a.implicitCalls() == b.implicitCalls()
                && a.dynamicSql() == b.dynamicSql();
    }
}
