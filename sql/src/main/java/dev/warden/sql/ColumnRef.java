package dev.warden.sql;

import java.util.Objects;

/**
 * A column named by a statement; {@code *} is recorded as column {@code "*"}.
 *
 * @param table the qualifier as written, with an alias defined in the same statement replaced by the table's
 *     (possibly schema-qualified) name; {@code null} when the column is unqualified
 * @param column the column name, folded like {@link TableRef} names
 */
public record ColumnRef(String table, String column) {
    public ColumnRef {
        Objects.requireNonNull(column, "column");
    }

    @Override
    public String toString() {
        return table == null ? column : table + "." + column;
    }
}
