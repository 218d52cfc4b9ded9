package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code audit tail|search --decision blocked|held|allowed} and {@code --agent}. */
class DecisionAndAgentFilterTest {

    @TempDir
    Path tmp;

    @Test
    void decisionsAndAgentsSelectQueriesAndTheirResults() throws Exception {
        Path logDir = tmp.resolve("audit");
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(logDir, Fixtures.writeKey(tmp), 1 << 20, 1000))) {
            log.append(Fixtures.start("a1", "alice@example.com", false, "prod")).join();
            log.append(Fixtures.start("b1", "etl-bot", true, "prod")).join();
            long allowed = log.append(Fixtures.query("a1", "alice@example.com", "prod", "SELECT 1")).join();
            log.append(Fixtures.result("a1", allowed, 1)).join();
            log.append(QueryEvent.builder("a1", "alice@example.com", "prod").statement("UPDATE t SET x = 1")
                    .kinds(List.of("UPDATE")).awaitingApproval("prod-writes-reviewed", "apr_1").build()).join();
            log.append(QueryEvent.builder("b1", "etl-bot", "prod").statement("DROP TABLE t")
                    .kinds(List.of("DROP")).blocked("agents-read-only").build()).join();
            long botRead = log.append(Fixtures.query("b1", "etl-bot", "prod", "SELECT 2")).join();
            log.append(Fixtures.result("b1", botRead, 2)).join();
        }
        AuditReader reader = AuditReader.of(logDir);
        assertEquals(List.of("DROP TABLE t"), statements(reader.search(AuditFilter.all().decisions(Set.of("block")))));
        assertEquals(List.of("UPDATE t SET x = 1", "DROP TABLE t"),
                statements(reader.search(AuditFilter.all().decisions(Set.of("block", "approval")))));
        List<AuditReader.Line> allowedOnly = reader.search(AuditFilter.all().decisions(Set.of("allow")));
        assertEquals(List.of("query", "result", "query", "result"),
                allowedOnly.stream().map(l -> l.record().type()).toList(), "queries and their results");
        List<AuditReader.Line> agent = reader.search(AuditFilter.all().agents());
        assertEquals(List.of("session.start", "query", "query", "result"),
                agent.stream().map(l -> l.record().type()).toList());
        assertEquals(List.of("DROP TABLE t"),
                statements(reader.search(AuditFilter.all().agents().decisions(Set.of("block")))));
    }

    private static List<String> statements(List<AuditReader.Line> lines) {
        return lines.stream().filter(l -> l.record().type().equals("query"))
                .map(l -> l.record().get("statement").asText()).toList();
    }
}
