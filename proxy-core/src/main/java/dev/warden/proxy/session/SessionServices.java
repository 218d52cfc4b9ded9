package dev.warden.proxy.session;

import dev.warden.config.Policy;
import dev.warden.identity.TokenValidator;
import dev.warden.proxy.guardrails.Guardrails;
import dev.warden.sql.Analyzer;
import dev.warden.proxy.upstream.UpstreamConnector;
import io.netty.handler.ssl.SslContext;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * What every session shares: the current policy, the token validator, TLS, the upstream connector,
 * the cancel keys and the connection count. Built once by the server.
 *
 * @param blockingExecutor runs work that may block (catalog reads, approval-store I/O, role provisioning) off the
 *     event loop
 * @param loginExecutor runs token validation (which may wait on an identity provider's keys) on threads of its own,
 *     so that logins waiting on a slow provider never delay the catalog reads and approvals of sessions already
 *     open; bounded (a login it refuses is told 53300), and a check whose client has left is skipped when reached
 * @param analysisLanes run cold statement analysis (JSqlParser, up to its CPU limit per statement) off the
 *     event loop, at low priority; bounded, so a flood of new statements is refused rather than queued without end
 * @param snapshot the policy and what is built from it, swapped as one value by a reload: each statement reads it
 *     once
 * @param readingOverride applied to every analysis the sessions make; the identity in production. Tests of the
 *     tripwire use it to make Warden misread a statement on purpose, which the real analyzer must never do, to
 *     show that the disagreement with the server is caught
 */
public record SessionServices(Supplier<Policy> policy, Supplier<Guardrails> guardrails, Analyzer analyzer,
                              Supplier<TokenValidator> tokens, SslContext serverTls,
                              UpstreamConnector upstreams, CancelRegistry cancels, Executor blockingExecutor,
                              Executor loginExecutor,
                              AtomicInteger openSessions, SessionTracker tracker, dev.warden.audit.AuditLog audit,
                              Supplier<dev.warden.masking.Masker> masker,
                              java.util.function.Function<dev.warden.config.Environment,
                                      dev.warden.proxy.catalog.CatalogCache> catalogs,
                              dev.warden.proxy.approvals.ApprovalService approvals,
                              AnalysisLanes analysisLanes,
                              java.util.function.UnaryOperator<dev.warden.sql.Analysis> readingOverride,
                              Supplier<PolicySnapshot> snapshot) {
}
