package dev.warden.proxy.session;

import dev.warden.audit.AuditLog;
import dev.warden.audit.event.AuditIdentity;
import dev.warden.audit.event.AuthFailure;
import dev.warden.audit.event.ClientInfo;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.event.ResultEvent;
import dev.warden.audit.event.SessionEnd;
import dev.warden.audit.event.SessionStart;
import dev.warden.identity.Identity;
import dev.warden.proxy.guardrails.Decision;
import dev.warden.sql.Analysis;
import dev.warden.sql.ColumnRef;
import dev.warden.sql.StatementFacts;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Turns what a session understood into typed audit events, exactly where it understood it. Query events
 * are returned as futures the session waits on before relaying (write-ahead); the others are appended
 * without waiting, and a failure to write them is logged.
 */
final class SessionAudit {

    private static final Logger log = LoggerFactory.getLogger(SessionAudit.class);

    private final AuditLog audit;
    private final String session;
    private final String policyVersion;
    private final Function<String, String> statementText;
    private String username = "";
    private String environment = "";

    SessionAudit(AuditLog audit, String session, String policyVersion, Function<String, String> statementText) {
        this.audit = audit;
        this.session = session;
        this.policyVersion = policyVersion;
        this.statementText = statementText;
    }

    CompletableFuture<Long> sessionStart(Identity who, String environment, String clientAddress, String tlsVersion,
                                         String applicationName) {
        this.username = who.username();
        this.environment = environment;
        AuditIdentity identity = new AuditIdentity(who.subject(), who.username(), List.copyOf(who.groups()),
                who.kind() == Identity.Kind.AGENT, who.issuer());
        return audit.append(SessionStart.of(session, identity, new ClientInfo(clientAddress, tlsVersion,
                applicationName), environment, policyVersion));
    }

    void authFailure(String claimedUser, String clientAddress, String reason, String sqlState) {
        background(AuthFailure.of(session, claimedUser, clientAddress, reason, sqlState));
    }

    void sessionEnd(long durationMs, long statements, String reason) {
        background(SessionEnd.of(session, durationMs, statements, reason));
    }

    CompletableFuture<Long> query(String sql, Analysis analysis, Decision decision, QueryEvent.Protocol protocol,
                                  String preparedName) {
        return query(sql, analysis, decision, protocol, preparedName, null);
    }

    CompletableFuture<Long> query(String sql, Analysis analysis, Decision decision, QueryEvent.Protocol protocol,
                                  String preparedName, String approvalId) {
        Set<String> kinds = new LinkedHashSet<>();
        Set<String> tablesRead = new LinkedHashSet<>();
        Set<String> tablesWritten = new LinkedHashSet<>();
        Set<String> columnsRead = new LinkedHashSet<>();
        Set<String> columnsWritten = new LinkedHashSet<>();
        String fingerprint = "";
        if (analysis != null) {
            for (StatementFacts f : analysis.statements()) {
                kinds.add(f.kind().name());
                f.tablesRead().forEach(t -> tablesRead.add(t.qualified()));
                f.tablesWritten().forEach(t -> tablesWritten.add(t.qualified()));
                f.columnsRead().forEach(c -> columnsRead.add(column(c)));
                f.columnsWritten().forEach(c -> columnsWritten.add(column(c)));
            }
            fingerprint = analysis.statements().size() == 1 ? analysis.statements().get(0).fingerprint()
                    : String.join(",", analysis.statements().stream().map(StatementFacts::fingerprint).toList());
        } else {
            kinds.add("FUNCTION_CALL");
        }
        QueryEvent.Decision verdict = switch (decision.verdict()) {
            case ALLOW -> QueryEvent.Decision.ALLOW;
            case BLOCK -> QueryEvent.Decision.BLOCK;
            case REQUIRE_APPROVAL -> QueryEvent.Decision.APPROVAL;
        };
        QueryEvent.Builder event = QueryEvent.builder(session, username, environment)
                .statement(statementText.apply(sql))
                .fingerprint(fingerprint)
                .kinds(new ArrayList<>(kinds))
                .tables(new ArrayList<>(tablesRead), new ArrayList<>(tablesWritten))
                .columns(new ArrayList<>(columnsRead), new ArrayList<>(columnsWritten))
                .decision(verdict, decision.rule(), approvalId)
                .policyVersion(policyVersion);
        if (protocol == QueryEvent.Protocol.EXTENDED) {
            event.extendedProtocol(preparedName, null);
        } else {
            event.simpleProtocol();
        }
        return audit.append(event.build());
    }

    void result(long querySeq, long rows, long bytes, List<ResultEvent.Column> columns, long durationUs,
                String sqlState, String commandTag) {
        background(ResultEvent.of(session, querySeq, rows, bytes, columns, durationUs, sqlState, commandTag));
    }

    private void background(dev.warden.audit.event.AuditEvent event) {
        audit.append(event).whenComplete((seq, failure) -> {
            if (failure != null) {
                log.error("audit.write_failed session={} type={} reason=\"{}\"", session, event.type(),
                        ClientErrors.unwrap(failure).getMessage());
            }
        });
    }

    private static String column(ColumnRef c) {
        return c.table() == null ? c.column() : c.table() + "." + c.column();
    }
}
