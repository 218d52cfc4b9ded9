/**
 * The proxy's side of authenticating to an upstream PostgreSQL: SCRAM-SHA-256 without channel binding,
 * and the legacy MD5 answer. Pure computations over bytes; the session drives the message exchange.
 * SASLprep is a documented subset (see {@code SaslPrep}); SCRAM-SHA-256-PLUS is not supported.
 */
package dev.warden.pg.auth;
