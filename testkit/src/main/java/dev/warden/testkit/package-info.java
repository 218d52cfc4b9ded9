/**
 * Real dependencies for tests, run in-process: a PostgreSQL server ({@code TestPostgres}) and an OIDC issuer
 * ({@link dev.warden.testkit.TestOidcIssuer}) that serves discovery and JWKS over HTTP and signs tokens,
 * including the malformed and malicious ones a validator must refuse.
 *
 * <p>Limits: test use only; nothing here is hardened, and the issuer has no login or token endpoint.
 */
package dev.warden.testkit;
