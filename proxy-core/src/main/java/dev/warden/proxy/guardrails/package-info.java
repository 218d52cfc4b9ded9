/**
 * Guardrails: decisions over plain values (identity, environment, statement facts, policy), testable
 * without a socket. The baseline only blocks; policy rules block or require approval. Until the approval
 * engine exists, REQUIRE_APPROVAL is enforced as a block whose message says approval is required.
 */
package dev.warden.proxy.guardrails;
