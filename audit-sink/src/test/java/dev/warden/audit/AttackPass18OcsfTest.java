package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.ocsf.OcsfMapper;
import org.junit.jupiter.api.Test;

/**
 * Attacker pass 18: the OCSF export must name whom the signed record names. Session ids are 32 random bits: in
 * a long log two sessions at once end up sharing one, and the export took the actor of a statement from whichever
 * session began last under its id.
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
}
