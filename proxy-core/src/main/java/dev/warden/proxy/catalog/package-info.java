/**
 * What the upstream's catalog says about result columns: table OID and attribute number to
 * {@code schema.table.column}, and the columns a COPY will produce. Looked up on Warden's own connection
 * per environment (never the client's session), off the event loop, and cached until DDL runs.
 */
package dev.warden.proxy.catalog;
