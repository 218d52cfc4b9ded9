package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.event.AuthFailure;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.event.SessionEnd;
import dev.warden.audit.ocsf.ChainLines;
import dev.warden.audit.ocsf.OcsfMapper;
import dev.warden.audit.chain.SigningKey;
import dev.warden.testkit.OcsfSchema;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each record becomes an OCSF event that validates against the OCSF schema and still carries the record. */
class OcsfMapperTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<ChainedRecord> session() {
        RecordChain chain = new RecordChain(0, RecordChain.GENESIS);
        List<ChainedRecord> out = new ArrayList<>();
        out.add(chain.append(Fixtures.start("s1", "bot@example.com", true, "prod")));
        ChainedRecord query = chain.append(Fixtures.query("s1", "bot@example.com", "prod", "SELECT email FROM users"));
        out.add(query);
        out.add(chain.append(Fixtures.result("s1", query.seq(), 3)));
        out.add(chain.append(QueryEvent.builder("s1", "bot@example.com", "prod").statement("DROP TABLE users")
                .fingerprint("fp2").kinds(List.of("DROP")).tables(List.of(), List.of("public.users"))
                .blocked("no-drop-in-prod").policyVersion("abc").build()));
        out.add(chain.append(QueryEvent.builder("s1", "bot@example.com", "prod").statement("UPDATE orders SET x = 1")
                .fingerprint("fp3").kinds(List.of("UPDATE")).tables(List.of(), List.of("public.orders"))
                .awaitingApproval("prod-writes-reviewed", "apr_1").policyVersion("abc").build()));
        out.add(chain.append(SessionEnd.of("s1", 1234, 3, "client closed")));
        out.add(chain.append(AuthFailure.of("s2", "mallory@example.com", "10.1.2.3", "token expired", "28000")));
        out.add(chain.checkpoint(SigningKey.generate()));
        return out;
    }

    @Test
    void everyRecordMapsToAValidOcsfEventThatCarriesTheRecord() throws Exception {
        OcsfMapper mapper = new OcsfMapper();
        List<JsonNode> events = new ArrayList<>();
        for (ChainedRecord r : session()) {
            byte[] event = mapper.event(r.line());
            JsonNode node = JSON.readTree(event);
            assertEquals(List.of(), OcsfSchema.errors(node), node.toPrettyString());
            ChainLines.Line inside = ChainLines.fromMessage(event);
            assertEquals(r.hash(), inside.hash(), "raw_data is the chained record, byte for byte");
            assertEquals(r.seq(), inside.seq());
            events.add(node);
        }
        JsonNode logon = events.get(0);
        assertEquals(3002, logon.path("class_uid").asInt());
        assertEquals(300201, logon.path("type_uid").asLong());
        assertEquals("Agent", logon.path("user").path("type").asText());
        assertEquals("eng", logon.path("user").path("groups").get(0).path("name").asText());
        assertEquals("10.0.0.5", logon.path("src_endpoint").path("ip").asText(), logon.toPrettyString());
        assertEquals(51234, logon.path("src_endpoint").path("port").asInt());

        JsonNode select = events.get(1);
        assertEquals(6005, select.path("class_uid").asInt());
        assertEquals(4, select.path("activity_id").asInt(), "a SELECT is a Query");
        assertEquals("bot@example.com", select.path("actor").path("user").path("name").asText());
        assertEquals("prod", select.path("database").path("name").asText());
        assertEquals("public.users", select.path("table").path("name").asText());
        assertEquals("SELECT email FROM users", select.path("query_info").path("query_string").asText());
        assertEquals(1, select.path("disposition_id").asInt());

        JsonNode result = events.get(2);
        assertEquals("email", result.path("unmapped").path("masked_columns").get(0).path("name").asText());
        assertEquals(2, events.get(3).path("disposition_id").asInt(), "blocked");
        assertEquals("no-drop-in-prod", events.get(3).path("policy").path("name").asText());
        assertEquals("Held", events.get(4).path("disposition").asText());
        assertEquals(300202, events.get(5).path("type_uid").asLong(), "session end is a Logoff");
        assertEquals(2, events.get(6).path("status_id").asInt(), "failed login");
        assertEquals(0, events.get(7).path("class_uid").asInt(), "the log's own records are base events");
    }

    @Test
    void theSchemaRejectsEventsThatBreakOcsf() throws Exception {
        OcsfMapper mapper = new OcsfMapper();
        List<ChainedRecord> records = session();
        mapper.map(records.get(0).line());
        ObjectNode query = mapper.map(records.get(1).line());
        assertTrue(OcsfSchema.errors(query).isEmpty());

        ObjectNode noActor = query.deepCopy();
        noActor.remove("actor");
        assertFalse(OcsfSchema.errors(noActor).isEmpty(), "actor is required in Datastore Activity");
        ObjectNode badDisposition = query.deepCopy();
        badDisposition.put("disposition_id", 42);
        assertFalse(OcsfSchema.errors(badDisposition).isEmpty(), "42 is no disposition");
        ObjectNode noQueryString = query.deepCopy();
        ((ObjectNode) noQueryString.get("query_info")).remove("query_string");
        assertFalse(OcsfSchema.errors(noQueryString).isEmpty(), "query_string is required");
        ObjectNode wrongType = query.deepCopy();
        wrongType.put("type_uid", 300201);
        assertFalse(OcsfSchema.errors(wrongType).isEmpty(), "type_uid must belong to the class");
        ObjectNode unknown = query.deepCopy();
        unknown.put("masked_columns", "email");
        assertFalse(OcsfSchema.errors(unknown).isEmpty(), "no such attribute in OCSF");
        assertTrue(new String(mapper.event(records.get(6).line()), StandardCharsets.UTF_8).contains("\"class_uid\":3002"));
    }
}
