package dev.warden.proxy.catalog;

/** A table column as the catalog names it. */
public record ColumnName(String schema, String table, String column) {
}
