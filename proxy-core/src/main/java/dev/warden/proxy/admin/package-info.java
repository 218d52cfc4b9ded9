/**
 * The admin HTTP API: approvals (list, show, approve, deny) for people, chat bots and the {@code warden approvals}
 * CLI, and health endpoints for orchestrators. JSON in and out; every approvals call needs
 * {@code Authorization: Bearer <OIDC token>} from an issuer of the <em>current</em> policy (a reload that revokes
 * a token or removes an issuer applies to the next request).
 *
 * <p>Transport: Netty's HTTP codec on its own event loop; token checks and store reads run on a small bounded
 * pool (a JWKS fetch may block). Slow or idle clients hold no thread and lose their connection when a request
 * does not arrive whole in time. Plain HTTP is allowed on loopback only; any other address is served over TLS
 * (the listener's certificate).
 */
package dev.warden.proxy.admin;
