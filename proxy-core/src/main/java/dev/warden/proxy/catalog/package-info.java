/**
 * What the upstream's catalog says about result columns: table OID and attribute number to
 * {@code schema.table.column}, the columns a COPY will produce, what the functions a statement calls do, and
 * which relations a statement's names can refer to, with their columns and view definitions
 * ({@code RelationCatalog}), from which {@link dev.warden.proxy.catalog.Exposure} decides whether a statement
 * could carry a sensitive value. Looked up on Warden's own connection
 * per environment (never the client's session), off the event loop, and cached until DDL runs.
 */
package dev.warden.proxy.catalog;
