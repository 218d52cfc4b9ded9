package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.ocsf.OcsfMapper;
import org.junit.jupiter.api.Test;

/**
 * Attacker pass 18: the OCSF export must name whom the signed record names. Session ids were 32 random bits (64
 * now, but logs written before keep theirs): in a long log two sessions at once end up sharing one, and the export
 * took the actor of a statement from whichever session began last under its id.
 */
class AttackPass18OcsfTest {

    @Test
    void theActorOfAStatementIsTheUserItsRecordNamesWhenTwoOpenSessionsShareAnId() {
        RecordChain chain = new RecordChain(0, RecordChain.GENESIS);
        OcsfMapper mapper = new OcsfMapper();
        mapper.map(chain.append(Fixtures.start("5eed0001", "alice@example.com", false, "prod")).line());
        mapper.map(chain.append(Fixtures.start("5eed0001", "mallory@example.com", false, "prod")).line());
        ChainedRecord query = chain.append(Fixtures.query("5eed0001", "alice@example.com", "prod",
                "SELECT email FROM users"));
        JsonNode event = mapper.map(query.line());
        assertEquals("alice@example.com", event.path("actor").path("user").path("name").asText(), event.toString());
        JsonNode result = mapper.map(chain.append(Fixtures.result("5eed0001", query.seq(), 3)).line());
        assertEquals("alice@example.com", result.path("actor").path("user").path("name").asText(), result.toString());
    }

    /** The same for {@code warden audit search --user} (and tail, usage): a result belongs to its query's user. */
    @Test
    void searchByUserFindsTheResultsOfItsStatementsWhenTwoOpenSessionsShareAnId(@org.junit.jupiter.api.io.TempDir
                                                                                 java.nio.file.Path tmp)
            throws Exception {
        java.nio.file.Path dir = tmp.resolve("audit");
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(dir, Fixtures.writeKey(tmp), 1 << 20, 100))) {
            log.append(Fixtures.start("5eed0001", "alice@example.com", false, "prod")).join();
            log.append(Fixtures.start("5eed0001", "mallory@example.com", false, "prod")).join();
            long query = log.append(Fixtures.query("5eed0001", "alice@example.com", "prod", "SELECT email FROM users"))
                    .join();
            log.append(Fixtures.result("5eed0001", query, 3)).join();
        }
        java.util.List<String> alices = dev.warden.audit.query.AuditReader.of(dir)
                .search(dev.warden.audit.query.AuditFilter.all().user("alice@example.com")).stream()
                .map(l -> l.record().type()).toList();
        assertEquals(java.util.List.of("session.start", "query", "result"), alices);
        java.util.List<String> mallorys = dev.warden.audit.query.AuditReader.of(dir)
                .search(dev.warden.audit.query.AuditFilter.all().user("mallory@example.com")).stream()
                .map(l -> l.record().type()).toList();
        assertEquals(java.util.List.of("session.start"), mallorys);
    }
}
