package dev.warden.masking;

import java.util.Objects;
import java.util.Optional;

/**
 * One column of a result, as the proxy knows it from RowDescription (name, type, format) and the catalog
 * (its source {@code schema.table.column} when the field's table OID is not 0). A column without a source
 * table is an expression ({@code upper(email)}, {@code row_to_json(u)}, {@code count(*)}).
 *
 * @param format 0 = text, 1 = binary (as in RowDescription, or as chosen in Bind)
 */
public record ResultColumn(String name, Optional<String> schema, Optional<String> table, Optional<String> column,
                           int typeOid, int typeModifier, short format) {

    public ResultColumn {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(column, "column");
        if (format != 0 && format != 1) {
            throw new IllegalArgumentException("format must be 0 (text) or 1 (binary), not " + format);
        }
    }

    /** A column read straight from a table. */
    public static ResultColumn fromTable(String schema, String table, String column, String name, int typeOid,
                                         int typeModifier, short format) {
        return new ResultColumn(name, Optional.of(schema), Optional.of(table), Optional.of(column), typeOid,
                typeModifier, format);
    }

    /** A computed column: no source table. */
    public static ResultColumn expression(String name, int typeOid, short format) {
        return new ResultColumn(name, Optional.empty(), Optional.empty(), Optional.empty(), typeOid, -1, format);
    }

    public boolean isExpression() {
        return table.isEmpty() || column.isEmpty();
    }

    public boolean binary() {
        return format == 1;
    }
}
