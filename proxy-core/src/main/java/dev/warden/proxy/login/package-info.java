/**
 * The client side of {@code warden login}: OIDC discovery, the device authorization grant (RFC 8628), the
 * authorization code grant with PKCE on a loopback redirect (RFC 7636, RFC 8252), a per-issuer token cache
 * readable only by its owner, refresh, and what {@code warden psql}/{@code warden url} need from a cached login.
 *
 * <p>Limits: tokens are read here, never verified (Warden verifies them); nothing in this package talks to
 * PostgreSQL; confidential clients (a client secret) are not supported, a CLI being a public client.
 */
package dev.warden.proxy.login;
