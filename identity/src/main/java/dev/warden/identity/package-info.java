/**
 * Who is connecting: OIDC token validation that turns a bearer token (sent as the PostgreSQL password) into an
 * {@link dev.warden.identity.Identity}.
 *
 * <p>{@link dev.warden.identity.TokenValidator} selects the issuer by the token's unverified {@code iss}, then
 * trusts nothing else until the signature checks out against that issuer's published keys. Discovery and JWKS
 * are fetched over HTTP (5 s timeouts), cached, refreshed every 10 minutes, and refetched on an unknown
 * {@code kid} at most once per 30 s per issuer so that a flood of forged tokens cannot turn Warden into a
 * denial-of-service amplifier against the identity provider. Claims are checked here rather than by Nimbus'
 * claims verifier so that each rejection says exactly why. Failures are
 * {@link dev.warden.identity.AuthenticationException}s carrying the SQLSTATE; messages never contain the token.
 *
 * <p>Limits: validation blocks (network on a cold or stale cache), so callers run it off the event loop. Fetches
 * for one issuer are serialised. EdDSA ({@code EdDSA} and {@code Ed25519}) is verified with the JDK's Ed25519
 * rather than Nimbus' verifier, which needs Google Tink; Ed448 keys are not supported. Encrypted (JWE) tokens
 * are not supported. The CLI login flows of the design are not here yet.
 */
package dev.warden.identity;
