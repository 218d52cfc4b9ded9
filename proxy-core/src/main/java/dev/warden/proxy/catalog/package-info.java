/**
 * What the upstream's catalog says about result columns: table OID and attribute number to
 * {@code schema.table.column}, the columns a COPY will produce, what the functions a statement calls do, and
 * which relations a statement's names can refer to, with their columns and view definitions
 * ({@code RelationCatalog}), from which {@link dev.warden.proxy.catalog.Exposure} decides whether a statement
 * could carry a sensitive value (a materialized view whose stored rows may predate a change to what its definition
 * reaches, by the transaction ids of its rows and of those catalog rows, counts as sensitive whole). Looked up on
 * Warden's own connection
 * per environment (never the client's session), off the event loop, and cached until DDL runs: DDL through Warden,
 * DDL elsewhere that an event trigger announces on the environment's catalog channel ({@code CatalogListener}), or
 * else the entries' expiry (5 s). A session's
 * judgements are memoised per statement shape ({@code ScreenedShapes}), valid while the catalog's generation, the
 * policy's masker and the session's search_path are those they were made with.
 */
package dev.warden.proxy.catalog;
