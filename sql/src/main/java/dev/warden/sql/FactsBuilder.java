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
            StatementKind.ALTER_SYSTEM, StatementKind.LOAD,
            // ANALYZE rewrites the table's statistics (and computes its indexes' functions over its rows), as
            // pg_stat_reset resets others; NOTIFY is pg_notify's statement; CHECKPOINT forces the server's
            // checkpoint, as pg_switch_wal switches its WAL (attacker pass a112, H6).
            StatementKind.ANALYZE, StatementKind.NOTIFY, StatementKind.CHECKPOINT);

    /**
     * Built-in functions that change data or server state when called, so a SELECT calling them is a write:
     * large-object writers, sequences, settings, signals to other sessions, advisory locks, notifications,
     * WAL and replication control, statistics resets, index maintenance, and writers of other servers.
     */
    static final Set<String> WRITING_FUNCTIONS = Set.of(
            "lo_from_bytea", "lo_put", "lo_create", "lo_creat", "lo_unlink", "lo_import", "lo_export", "lowrite",
            "lo_truncate", "lo_truncate64", "be_lo_put",
            "nextval", "setval", "set_config", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf",
            "pg_rotate_logfile", "pg_switch_wal", "pg_create_restore_point", "pg_promote", "pg_notify",
            "pg_advisory_lock", "pg_advisory_lock_shared", "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared",
            "pg_try_advisory_lock", "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock",
            "pg_try_advisory_xact_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared",
            "pg_advisory_unlock_all", "pg_stat_reset", "pg_stat_reset_shared", "pg_stat_reset_single_table_counters",
            "pg_stat_reset_single_function_counters", "pg_stat_reset_slru", "pg_stat_reset_replication_slot",
            "pg_stat_reset_subscription_stats", "pg_create_physical_replication_slot",
            "pg_create_logical_replication_slot", "pg_drop_replication_slot", "pg_copy_physical_replication_slot",
            "pg_copy_logical_replication_slot", "pg_replication_slot_advance", "pg_logical_slot_get_changes",
            "pg_logical_slot_get_binary_changes", "pg_logical_emit_message", "pg_replication_origin_create",
            "pg_replication_origin_drop", "pg_replication_origin_advance", "pg_replication_origin_session_setup",
            "pg_replication_origin_xact_setup", "pg_import_system_collations", "pg_log_backend_memory_contexts",
            "pg_wal_replay_pause", "pg_wal_replay_resume", "pg_backup_start", "pg_backup_stop",
            "pg_start_backup", "pg_stop_backup", "pg_file_write", "pg_file_rename", "pg_file_unlink",
            "pg_file_sync", "dblink_exec", "dblink_send_query", "dblink", "dblink_open",
            // Each call assigns (and commits) a transaction id: an agent read-only in production advanced the xid
            // counter one SELECT at a time (attacker pass a139, F5); ReadOnlyProof already leaves them out.
            "txid_current", "pg_current_xact_id",
            // What VACUUM does to an index, one index or range at a time.
            "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range", "gin_clean_pending_list");

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
    final Set<String> implicitCalls = new LinkedHashSet<>();

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

    private boolean callsWriter() {
        for (String fn : functions) {
            int dot = fn.lastIndexOf('.');
            if (WRITING_FUNCTIONS.contains(dot < 0 ? fn : fn.substring(dot + 1))) {
                return true;
            }
        }
        return false;
    }

    /** A statement that runs, or may run, as part of this one: its writes are this one's writes. */
    void nest(StatementFacts in) {
        nested.add(in);
        writes |= in.writes();
        dynamicSql |= in.dynamicSql();
    }

    StatementFacts build(String text, String fingerprint) {
        functions.removeIf(ReadOnlyProof::isSqlSyntax); // COALESCE(, ARRAY(, ANY(: grammar, never a catalog lookup
        for (String call : implicitCalls) {
            // (0::oid).lo_create calls lo_create(0::oid) (attribute notation): a helper's pass (a126) created and
            // unlinked large objects, took advisory locks (whose keys pg_locks shows) and cancelled backends so,
            // each read as a SELECT that changes nothing.
            if (call.startsWith("attr:") && WRITING_FUNCTIONS.contains(call.substring(5))) {
                functions.add(call.substring(5));
            }
        }
        boolean writing = writes || dataModifyingCte || WRITING_KINDS.contains(kind) || callsWriter();
        return new StatementFacts(text, fingerprint, kind, objectType, writing, tablesRead, tablesWritten,
                columnsRead, columnsWritten, hasWhere, functions, dataModifyingCte, Optional.ofNullable(copy),
                Optional.ofNullable(roleTarget), Optional.ofNullable(preparedName), Optional.ofNullable(inner),
                innerKinds, unparsed, nested, implicitCalls, dynamicSql);
    }
}
