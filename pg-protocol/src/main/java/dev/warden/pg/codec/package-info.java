/**
 * Netty frame decoders for both directions of a PostgreSQL connection. They only find message boundaries
 * and validate headers (type byte, length limits, startup-phase rules); frames go out as retained slices of
 * the input so relayed messages are never copied. Decoding the body is {@code dev.warden.pg.message}'s job.
 * Outbound messages need no encoder here: they are already whole frames or records with {@code writeTo}.
 */
package dev.warden.pg.codec;
