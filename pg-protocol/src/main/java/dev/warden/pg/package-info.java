/**
 * PostgreSQL v3 wire protocol for Warden: SQLSTATE constants and the exception every decoder throws on
 * malformed input. Sub-packages hold the message model ({@code message}), the Netty frame decoders
 * ({@code codec}) and the client side of upstream authentication ({@code auth}). Knows nothing about
 * sessions, policy or identity.
 */
package dev.warden.pg;
