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
 * <p>Names: an issuer's {@code username_prefix} and {@code groups_prefix} are put before the names and groups its
 * tokens give, so with several issuers each has a namespace of its own. A name is refused, and a group dropped, when
 * another issuer's longer prefix starts it (compared without case, as approvers are compared): an issuer without a
 * prefix cannot mint {@code partner:bob}. The startup user may be the name as the token's claim gives it or with the
 * prefix; the identity is the prefixed one either way.
 *
 * <p>Limits: validation blocks (network on a cold or stale cache), so callers run it off the event loop. Fetches
 * for one issuer are serialised. EdDSA ({@code EdDSA} and {@code Ed25519}) is verified with the JDK's Ed25519
 * rather than Nimbus' verifier, which needs Google Tink; Ed448 keys are not supported. Encrypted (JWE) tokens
 * are not supported. The CLI login flows of the design are not here yet.
 */
package dev.warden.identity;
