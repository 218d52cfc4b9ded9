package dev.warden.masking;

import java.util.Objects;
import java.util.Set;

/**
 * Who runs the statement and what it reads.
 *
 * <p>{@code columnsRead} lists every column the statement reads anywhere (select list, WHERE, joins,
 * functions), each as {@code column}, {@code table.column} or {@code schema.table.column}; a whole-row
 * reference ({@code t.*}, {@code row_to_json(t)}, {@code SELECT t FROM t}) is {@code table.*}, and a statement
 * the analyser could not follow is {@code *}. Expression columns are masked (fail closed) when any entry is
 * sensitive or is a wildcard: expand wildcards into the table's real columns from the catalog for precision.
 *
 * <p>{@code derivedColumns} are table columns ({@code schema.table.column}, lower case) that carry values
 * derived from sensitive columns under another name: the columns of a view or materialized view whose
 * definition reads a sensitive column. They are masked like expressions over a sensitive read. An entry made by
 * {@link #computed} marks such a column that a view computes rather than passes through: it is masked by lineage
 * even when its name calls for a strategy that tells something of the value (email, partial, hash, tokenize).
 */
public record MaskContext(String username, Set<String> groups, boolean agent, String environment,
                          Set<String> columnsRead, Set<String> derivedColumns) {

    /** The read set of a statement that could not be analysed: every expression column is masked. */
    public static final Set<String> UNKNOWN_READS = Set.of("*");

    /**
     * In {@code derivedColumns}: every column of a relation may carry a sensitive value (the statement names a
     * relation the catalog could not describe, perhaps a view over a sensitive column).
     */
    public static final String EVERY_COLUMN = "*";

    /**
     * The {@code derivedColumns} entry marking {@code qualifiedColumn} ({@code schema.table.column}, lower case)
     * as computed over a sensitive read, not passed through from a table column.
     */
    public static String computed(String qualifiedColumn) {
        return "computed:" + qualifiedColumn;
    }

    /** Whether {@code derivedColumns} marks a column {@link #computed} (or every column, unknown). */
    public static boolean anyComputed(Set<String> derivedColumns) {
        for (String d : derivedColumns) {
            if (d.equals(EVERY_COLUMN) || d.startsWith(computed(""))) {
                return true;
            }
        }
        return false;
    }

    public MaskContext {
        Objects.requireNonNull(username, "username");
        groups = Set.copyOf(groups);
        Objects.requireNonNull(environment, "environment");
        columnsRead = Set.copyOf(columnsRead);
        derivedColumns = Set.copyOf(derivedColumns);
    }

    /** No derived columns: every table column is judged by its own name. */
    public MaskContext(String username, Set<String> groups, boolean agent, String environment,
                       Set<String> columnsRead) {
        this(username, groups, agent, environment, columnsRead, Set.of());
    }
}
