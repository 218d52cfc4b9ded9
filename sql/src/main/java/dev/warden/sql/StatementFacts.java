package dev.warden.sql;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What one statement does, as far as Warden can tell without the database. See {@code package-info} for the
 * rules behind {@code writes}, {@code hasWhere} and {@code unparsed}.
 *
 * @param text the statement's source text, trimmed of surrounding whitespace and the terminating semicolon
 *     (comments inside or before it are kept)
 * @param fingerprint 32 lower-case hex digits: the first 128 bits of SHA-256 over the UTF-8 normalized text
 *     (literals as {@code ?}, comments dropped, unquoted words lower-cased, tokens separated by one space);
 *     equal for statements of the same shape and the same in every JVM
 * @param kind what the statement is, by its leading keywords
 * @param objectType for CREATE/ALTER/DROP/COMMENT/GRANT/REVOKE/TRUNCATE/REFRESH/REINDEX/SECURITY LABEL: the
 *     object kind in upper case ({@code TABLE}, {@code MATERIALIZED VIEW}, {@code ROLE} ...); otherwise ""
 * @param writes whether the statement may change data, schema, privileges or server state
 * @param tablesRead relations read (FROM, JOIN, subqueries, CTE bodies; CTE names themselves excluded)
 * @param tablesWritten relations written: DML targets, COPY FROM, SELECT INTO, DDL targets, LOCK/VACUUM/...
 * @param columnsRead columns referenced (best effort)
 * @param columnsWritten INSERT column lists, UPDATE/MERGE SET targets, COPY FROM column lists
 * @param hasWhere when the statement contains UPDATE or DELETE (itself or nested): whether every one of them
 *     has a WHERE clause; otherwise whether the statement itself has a top-level WHERE
 * @param functions functions called, lower case unless quoted, schema-qualified when written so
 * @param dataModifyingCte whether a WITH clause holds INSERT/UPDATE/DELETE/MERGE
 * @param copy for COPY, its direction, target and format
 * @param roleTarget for SET ROLE / SET SESSION AUTHORIZATION: the role ({@code none} / {@code default} for
 *     those keywords)
 * @param preparedName for PREPARE/EXECUTE/DEALLOCATE: the prepared statement's name ({@code ALL} for
 *     {@code DEALLOCATE ALL})
 * @param inner for PREPARE, EXPLAIN, DECLARE and COPY (query): the facts of the statement inside
 * @param innerKinds kinds of statements nested in this one: the DML of data-modifying CTEs, MERGE actions,
 *     and the inner statement of PREPARE/EXPLAIN/DECLARE/COPY together with its own inner kinds
 * @param unparsed whether the statement's meaning may be hidden from Warden: JSqlParser could not parse it and
 *     the lexer does not know its whole grammar
 * @param nested statements that run, or may run, as part of this one, each judged like a top-level statement:
 *     the pieces of a {@code BEGIN ATOMIC} body, the actions of {@code CREATE RULE}, the static SQL of a DO
 *     block, and (filled in by the proxy from the catalog) the bodies of the user functions it calls
 * @param implicitCalls what the statement calls without naming a function, for the proxy to resolve through
 *     the catalog: {@code op:<symbol>} for each operator used, {@code cast:<type>} for each explicit cast,
 *     {@code attr:<name>} for each name after a dot that may call a function in attribute notation
 * @param dynamicSql whether it runs SQL computed at run time ({@code EXECUTE} of an expression in PL/pgSQL):
 *     what that SQL does is unknown until it runs
 * @param memo what {@link #allStatements} computed, kept with these facts (each instance makes its own; it takes no
 *     part in equality)
 */
public record StatementFacts(
        String text,
        String fingerprint,
        StatementKind kind,
        String objectType,
        boolean writes,
        Set<TableRef> tablesRead,
        Set<TableRef> tablesWritten,
        Set<ColumnRef> columnsRead,
        Set<ColumnRef> columnsWritten,
        boolean hasWhere,
        Set<String> functions,
        boolean dataModifyingCte,
        Optional<CopySpec> copy,
        Optional<String> roleTarget,
        Optional<String> preparedName,
        Optional<StatementFacts> inner,
        Set<StatementKind> innerKinds,
        boolean unparsed,
        java.util.List<StatementFacts> nested,
        Set<String> implicitCalls,
        boolean dynamicSql,
        Memo memo) {

    /**
     * The list {@link #allStatements} hands out, made once per instance: the masking and guardrail checks ask it
     * about fourteen times per statement, and making it each time was 6 % of the bytes Warden's threads allocated
     * under {@code pgbench -S -c16}. Equal to any other memo, so the record's equality is that of its facts.
     */
    public static final class Memo {
        private java.util.List<StatementFacts> all;

        private Memo() {
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Memo;
        }

        @Override
        public int hashCode() {
            return 0;
        }

        @Override
        public String toString() {
            return "";
        }
    }

    /** The facts, with a memo of their own. */
    public StatementFacts(String text, String fingerprint, StatementKind kind, String objectType, boolean writes,
                          Set<TableRef> tablesRead, Set<TableRef> tablesWritten, Set<ColumnRef> columnsRead,
                          Set<ColumnRef> columnsWritten, boolean hasWhere, Set<String> functions,
                          boolean dataModifyingCte, Optional<CopySpec> copy, Optional<String> roleTarget,
                          Optional<String> preparedName, Optional<StatementFacts> inner,
                          Set<StatementKind> innerKinds, boolean unparsed, java.util.List<StatementFacts> nested,
                          Set<String> implicitCalls, boolean dynamicSql) {
        this(text, fingerprint, kind, objectType, writes, tablesRead, tablesWritten, columnsRead, columnsWritten,
                hasWhere, functions, dataModifyingCte, copy, roleTarget, preparedName, inner, innerKinds, unparsed,
                nested, implicitCalls, dynamicSql, null);
    }

    public StatementFacts {
        memo = new Memo(); // never another instance's: its list holds that instance
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(fingerprint, "fingerprint");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(objectType, "objectType");
        tablesRead = frozen(tablesRead);
        tablesWritten = frozen(tablesWritten);
        columnsRead = frozen(columnsRead);
        columnsWritten = frozen(columnsWritten);
        functions = frozen(functions);
        Objects.requireNonNull(copy, "copy");
        Objects.requireNonNull(roleTarget, "roleTarget");
        Objects.requireNonNull(preparedName, "preparedName");
        Objects.requireNonNull(inner, "inner");
        innerKinds = innerKinds.isEmpty()
                ? Collections.emptySet()
                : Collections.unmodifiableSet(EnumSet.copyOf(innerKinds));
        nested = java.util.List.copyOf(nested);
        implicitCalls = frozen(implicitCalls);
    }

    /** Whether this statement is {@code kind} or contains a statement of that kind. */
    public boolean involves(StatementKind k) {
        return kind == k || innerKinds.contains(k);
    }

    /** The same facts for another text of the same shape (what the cache hands out). */
    StatementFacts withText(String newText) {
        return new StatementFacts(newText, fingerprint, kind, objectType, writes, tablesRead, tablesWritten,
                columnsRead, columnsWritten, hasWhere, functions, dataModifyingCte, copy, roleTarget, preparedName,
                inner, innerKinds, unparsed, nested, implicitCalls, dynamicSql);
    }

    /**
     * These facts with more statements that run as part of this one (function bodies the proxy read from the
     * catalog); a nested write makes this statement a write.
     */
    public StatementFacts withNested(java.util.List<StatementFacts> more, boolean writesMore) {
        return withNested(more, writesMore, false);
    }

    /** {@link #withNested(java.util.List, boolean)}, also marking SQL computed at run time. */
    public StatementFacts withNested(java.util.List<StatementFacts> more, boolean writesMore, boolean dynamicMore) {
        if (more.isEmpty() && !writesMore && !dynamicMore) {
            return this;
        }
        java.util.List<StatementFacts> all = new java.util.ArrayList<>(nested);
        all.addAll(more);
        boolean w = writes || writesMore || dynamicMore || more.stream().anyMatch(StatementFacts::writes);
        boolean dynamic = dynamicSql || dynamicMore || more.stream().anyMatch(StatementFacts::dynamicSql);
        return new StatementFacts(text, fingerprint, kind, objectType, w, tablesRead, tablesWritten,
                columnsRead, columnsWritten, hasWhere, functions, dataModifyingCte, copy, roleTarget, preparedName,
                inner, innerKinds, unparsed, all, implicitCalls, dynamic);
    }

    /**
     * These facts with {@code more} implicit calls: what the protocol tells of the statement besides its text (the
     * parameter types a Parse gives by OID, {@code cast:#oid}).
     */
    public StatementFacts withImplicitCalls(Set<String> more) {
        if (implicitCalls.containsAll(more)) {
            return this;
        }
        Set<String> all = new java.util.LinkedHashSet<>(implicitCalls);
        all.addAll(more);
        return new StatementFacts(text, fingerprint, kind, objectType, writes, tablesRead, tablesWritten,
                columnsRead, columnsWritten, hasWhere, functions, dataModifyingCte, copy, roleTarget, preparedName,
                inner, innerKinds, unparsed, nested, all, dynamicSql);
    }

    /** This statement, its inner statement and every nested statement, depth first. */
    public java.util.List<StatementFacts> allStatements() {
        java.util.List<StatementFacts> all = memo.all;
        if (all == null) {
            if (inner.isEmpty() && nested.isEmpty()) {
                all = java.util.List.of(this);
            } else {
                java.util.List<StatementFacts> out = new java.util.ArrayList<>();
                collect(this, out, 0);
                all = java.util.List.copyOf(out);
            }
            memo.all = all; // an immutable list of final fields: a thread that sees it sees it whole
        }
        return all;
    }

    private static void collect(StatementFacts f, java.util.List<StatementFacts> out, int depth) {
        if (depth > 16) {
            return;
        }
        out.add(f);
        f.inner.ifPresent(in -> collect(in, out, depth + 1));
        for (StatementFacts n : f.nested) {
            collect(n, out, depth + 1);
        }
    }

    /**
     * These facts with role changes made by the statement's own literals ({@code set_config('role', ...)}): the
     * kinds join {@code innerKinds}, and {@code target} becomes the role target unless the statement has one.
     */
    StatementFacts withRoleChange(Set<StatementKind> kinds, String target) {
        EnumSet<StatementKind> all = EnumSet.copyOf(kinds);
        all.addAll(innerKinds);
        Optional<String> role = roleTarget.isPresent() ? roleTarget : Optional.of(target);
        return new StatementFacts(text, fingerprint, kind, objectType, writes, tablesRead, tablesWritten,
                columnsRead, columnsWritten, hasWhere, functions, dataModifyingCte, copy, role, preparedName,
                inner, all, unparsed, nested, implicitCalls, dynamicSql);
    }

    /**
     * These facts with {@code sequences} written too: the sequences the statement's own literals name in its
     * nextval and setval calls (see {@link LexicalAnalysis#sequencesChanged}).
     */
    StatementFacts withSequencesChanged(Set<TableRef> sequences) {
        Set<TableRef> written = new java.util.LinkedHashSet<>(tablesWritten);
        written.addAll(sequences);
        return new StatementFacts(text, fingerprint, kind, objectType, true, tablesRead, written,
                columnsRead, columnsWritten, hasWhere, functions, dataModifyingCte, copy, roleTarget, preparedName,
                inner, innerKinds, unparsed, nested, implicitCalls, dynamicSql);
    }

    /**
     * The same facts with {@code unparsed} as given: for {@link ReadOnlyProof#proveWithCatalog}, once the
     * catalog has said what the lexer could not.
     */
    /** These facts as of a statement whose WHERE chooses every row or none: as without one. */
    StatementFacts withoutWhere() {
        return new StatementFacts(text, fingerprint, kind, objectType, writes, tablesRead, tablesWritten,
                columnsRead, columnsWritten, false, functions, dataModifyingCte, copy, roleTarget, preparedName,
                inner, innerKinds, unparsed, nested, implicitCalls, dynamicSql);
    }

    StatementFacts withUnparsed(boolean isUnparsed) {
        return new StatementFacts(text, fingerprint, kind, objectType, writes, tablesRead, tablesWritten,
                columnsRead, columnsWritten, hasWhere, functions, dataModifyingCte, copy, roleTarget, preparedName,
                inner, innerKinds, isUnparsed, nested, implicitCalls, dynamicSql);
    }

    private static <T> Set<T> frozen(Set<T> set) {
        if (set.isEmpty()) {
            return Collections.emptySet();
        }
        if (set instanceof FrozenSet<T>) {
            // Already immutable: a copy of these facts (withText, withNested) shares it, and so a session that
            // repeats a statement finds the same sets (see the proxy's SessionAudit).
            return set;
        }
        // Insertion order is kept so that audit records list tables in the order the statement names them.
        return new FrozenSet<>(set);
    }

    /**
     * A set made by {@link #frozen}: an unmodifiable copy in insertion order. Walked several times for each
     * statement, so it iterates over an array (one small iterator, no hash-table walk); {@code contains} asks the
     * hash set.
     */
    private static final class FrozenSet<T> extends java.util.AbstractSet<T> {
        private final Set<T> items;
        private final Object[] order;

        FrozenSet(Set<T> source) {
            this.order = source.toArray();
            this.items = new java.util.HashSet<>(source);
        }

        @Override
        public java.util.Iterator<T> iterator() {
            return new java.util.Iterator<>() {
                private int next;

                @Override
                public boolean hasNext() {
                    return next < order.length;
                }

                @Override
                @SuppressWarnings("unchecked")
                public T next() {
                    if (next >= order.length) {
                        throw new java.util.NoSuchElementException();
                    }
                    return (T) order[next++];
                }
            };
        }

        @Override
        public int size() {
            return order.length;
        }

        @Override
        public boolean contains(Object o) {
            return items.contains(o);
        }
    }
}
