package dev.warden.sql;

import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/** Mutable facts while a statement is being analysed; {@link #build} applies the {@code writes} rule. */
final class FactsBuilder {

    /** Kinds that change data, schema, privileges or server state, or can run arbitrary code. */
    static final Set<StatementKind> WRITING_KINDS = EnumSet.of(
            StatementKind.INSERT, StatementKind.UPDATE, StatementKind.DELETE, StatementKind.MERGE,
            StatementKind.TRUNCATE, StatementKind.CREATE, StatementKind.ALTER, StatementKind.DROP,
            StatementKind.COMMENT, StatementKind.GRANT, StatementKind.REVOKE, StatementKind.SECURITY_LABEL,
            StatementKind.IMPORT_FOREIGN_SCHEMA, StatementKind.REASSIGN_OWNED, StatementKind.DROP_OWNED,
            StatementKind.CALL, StatementKind.DO, StatementKind.EXECUTE, StatementKind.REFRESH,
            StatementKind.VACUUM, StatementKind.CLUSTER, StatementKind.REINDEX, StatementKind.LOCK,
            StatementKind.ALTER_SYSTEM, StatementKind.LOAD);

    StatementKind kind = StatementKind.OTHER;
    String objectType = "";
    boolean writes;
    final Set<TableRef> tablesRead = new LinkedHashSet<>();
    final Set<TableRef> tablesWritten = new LinkedHashSet<>();
    final Set<ColumnRef> columnsRead = new LinkedHashSet<>();
    final Set<ColumnRef> columnsWritten = new LinkedHashSet<>();
    boolean hasWhere;
    final Set<String> functions = new LinkedHashSet<>();
    boolean dataModifyingCte;
    CopySpec copy;
    String roleTarget;
    String preparedName;
    StatementFacts inner;
    final Set<StatementKind> innerKinds = EnumSet.noneOf(StatementKind.class);
    boolean unparsed;
    final java.util.List<StatementFacts> nested = new java.util.ArrayList<>();
    boolean dynamicSql;

    FactsBuilder(StatementKind kind) {
        this.kind = kind;
    }

    /** Takes on everything the inner statement does (it runs, or exists to be run, as part of this one). */
    void mirror(StatementFacts in, boolean executes) {
        inner = in;
        innerKinds.add(in.kind());
        innerKinds.addAll(in.innerKinds());
        tablesRead.addAll(in.tablesRead());
        columnsRead.addAll(in.columnsRead());
        functions.addAll(in.functions());
        hasWhere = in.hasWhere();
        unparsed |= in.unparsed();
        if (executes) {
            writes |= in.writes();
            tablesWritten.addAll(in.tablesWritten());
            columnsWritten.addAll(in.columnsWritten());
            dataModifyingCte |= in.dataModifyingCte();
        }
    }

    /** A statement that runs, or may run, as part of this one: its writes are this one's writes. */
    void nest(StatementFacts in) {
        nested.add(in);
        writes |= in.writes();
        dynamicSql |= in.dynamicSql();
    }

    StatementFacts build(String text, String fingerprint) {
        boolean writing = writes || dataModifyingCte || WRITING_KINDS.contains(kind);
        return new StatementFacts(text, fingerprint, kind, objectType, writing, tablesRead, tablesWritten,
                columnsRead, columnsWritten, hasWhere, functions, dataModifyingCte, Optional.ofNullable(copy),
                Optional.ofNullable(roleTarget), Optional.ofNullable(preparedName), Optional.ofNullable(inner),
                innerKinds, unparsed, nested, dynamicSql);
    }
}
