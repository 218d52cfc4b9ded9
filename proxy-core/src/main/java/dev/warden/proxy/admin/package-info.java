/**
 * The admin HTTP API: approvals (list, show, approve, deny) for people, chat bots and the {@code warden approvals}
 * CLI, and health endpoints for orchestrators. JSON in and out; every approvals call needs
 * {@code Authorization: Bearer <OIDC token>} from a trusted issuer.
 *
 * <p>Limits: plain HTTP (JDK {@code HttpServer}) on {@code admin.address}: keep it on loopback or put a TLS proxy
 * in front, since bearer tokens cross it. A handful of worker threads: token validation may block on JWKS.
 */
package dev.warden.proxy.admin;
