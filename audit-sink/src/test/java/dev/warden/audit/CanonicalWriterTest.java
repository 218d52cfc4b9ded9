package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.event.ApprovalEvent;
import dev.warden.audit.event.AuditEvent;
import dev.warden.audit.event.AuditIdentity;
import dev.warden.audit.event.AuthFailure;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.event.ClientInfo;
import dev.warden.audit.event.EnforcementMismatch;
import dev.warden.audit.event.PolicyReload;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.event.ResultEvent;
import dev.warden.audit.event.RoleSettingsReset;
import dev.warden.audit.event.SessionEnd;
import dev.warden.audit.event.SessionStart;
import dev.warden.audit.event.Timestamps;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The hand-written record writer against the reference form (a Jackson tree sorted by {@link CanonicalJson}),
 * which is what {@code audit verify} re-encodes every line with and what every existing log was written with.
 * If the two ever differ by a byte, new logs would fail verification.
 */
class CanonicalWriterTest {

    /** Strings that exercise every escape and encoding branch, including the lone surrogates. */
    private static final List<String> AWKWARD = List.of("", "plain", "quote \" backslash \\ slash /",
            "\b\f\n\r\t\u0000\u0001\u001f\u007f", "é ü ß \u0080 \u07ff \u0800 \uffff €", "😀 \ud83d\ude00 pair",
            "lone high \ud83d end", "\ud83d", "lone low \ude00 x", "\ude00\ud83d", "\ud83d\ud83d\ude00",
            "SELECT * FROM t WHERE s = 'it''s' -- comment\n", "ＳＥＬＥＣＴ　全角", "\u2028\u2029",
            "big \t".repeat(30_000) + "€\n");

    @Test
    void everyEventTypeSerializesToTheReferenceBytes() throws Exception {
        Random random = new Random(16);
        List<AuditEvent> events = new ArrayList<>();
        for (String s : AWKWARD) {
            events.addAll(eventsWith(s, random));
        }
        Set<String> types = new HashSet<>();
        RecordChain chain = new RecordChain(0, RecordChain.GENESIS);
        long seq = 0;
        String prev = RecordChain.GENESIS;
        for (AuditEvent event : events) {
            types.add(event.getClass().getSimpleName());
            byte[] reference = reference(event, seq + 1, prev);
            ChainedRecord linked = chain.append(event);
            assertEquals(new String(reference, StandardCharsets.UTF_8), new String(linked.line(),
                    StandardCharsets.UTF_8), event.type());
            assertTrue(java.util.Arrays.equals(reference, linked.line()), "same bytes for " + event.type());
            // What verify does to every line: parse, re-encode, compare.
            byte[] reencoded = CanonicalJson.encode(CanonicalJson.parse(linked.line()));
            assertTrue(java.util.Arrays.equals(linked.line(), reencoded));
            assertEquals(CanonicalJson.sha256(reference), linked.hash());
            seq = linked.seq();
            prev = linked.hash();
        }
        assertEquals(AuditEvent.class.getPermittedSubclasses().length, types.size(), "every event type: " + types);
    }

    @Test
    void seqOfEveryLengthLandsInItsPlace() throws Exception {
        QueryEvent q = Fixtures.query("s1", "alice@example.com", "prod", "SELECT 1");
        for (long seq : new long[] {1, 9, 10, 99, 12_345, Long.MAX_VALUE}) {
            String prev = CanonicalJson.sha256(Long.toString(seq).getBytes(StandardCharsets.US_ASCII));
            RecordChain chain = new RecordChain(seq - 1, prev);
            assertEquals(new String(reference(q, seq, prev), StandardCharsets.UTF_8),
                    new String(chain.append(q).line(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void idsAreUniqueAndNotRandomPerRecord() {
        UUID a = Fixtures.query("s", "u", "e", "SELECT 1").id();
        UUID b = Fixtures.query("s", "u", "e", "SELECT 1").id();
        assertNotEquals(a, b);
        assertEquals(a.getMostSignificantBits(), b.getMostSignificantBits(), "one process part");
        assertEquals(8, a.version());
        assertEquals(2, a.variant());
        assertEquals(a, UUID.fromString(a.toString()));
    }

    /**
     * A record holds six fractional digits: an event's own time must be truncated to them, or the event read
     * back from its line would differ from the one written. The clock here has finer steps (nanoseconds on
     * Linux), so an untruncated time shows within a few readings.
     */
    @Test
    void nowIsTruncatedToTheMicrosecondAndRoundTrips() {
        for (int i = 0; i < 1000; i++) {
            Instant before = Instant.now().minusNanos(1000);
            Instant now = Timestamps.now();
            assertEquals(0, now.getNano() % 1000, now.toString());
            assertTrue(!now.isBefore(before) && !now.isAfter(Instant.now()), now + " is now");
            assertEquals(now, Timestamps.parse(Timestamps.format(now)));
        }
    }

    /** The record as RecordChain built it before the hand-written writer: a tree, sorted by the encoder. */
    static byte[] reference(AuditEvent event, long seq, String prev) {
        ObjectNode record = CanonicalJson.object();
        record.put("schema_version", AuditEvent.SCHEMA_VERSION);
        record.put("id", event.id().toString());
        record.put("ts", Timestamps.format(event.ts()));
        record.put("session", event.session());
        record.put("seq", seq);
        record.put("prev", prev);
        record.put("type", event.type());
        event.writeFields(record);
        return CanonicalJson.encode(record);
    }

    /** At most as long as a database name (63 bytes): the keys of a role.settings_reset record's settings. */
    private static String name(String s) {
        return s.length() > 63 ? s.substring(0, 63) : s;
    }

    private static List<AuditEvent> eventsWith(String s, Random random) {
        Instant ts = Instant.ofEpochSecond(random.nextInt(2_000_000_000), random.nextInt(1_000_000) * 1000L);
        String maybe = random.nextBoolean() ? s : null;
        List<String> list = random.nextBoolean() ? List.of() : List.of(s, "x", s);
        List<AuditEvent> events = new ArrayList<>();
        events.add(new SessionStart(null, ts, s, new AuditIdentity(s, s + "@example.com", list, random.nextBoolean(),
                maybe), new ClientInfo(s, maybe, maybe), s, s));
        events.add(new SessionEnd(null, ts, s, random.nextLong(), -random.nextInt(5), s));
        events.add(new AuthFailure(null, ts, s, s, s, s, maybe));
        events.add(new QueryEvent(null, ts, s, s, s, s, s, list, list, list, list, list,
                QueryEvent.Decision.values()[random.nextInt(3)], maybe, maybe, s, QueryEvent.Protocol.EXTENDED, maybe,
                random.nextBoolean() ? null : list, random.nextBoolean() ? null : new byte[] {(byte) 0xff, 0x41}));
        events.add(QueryEvent.builder(s, s, s).statement(s).received(s.getBytes(StandardCharsets.UTF_16)).build());
        events.add(new ResultEvent(null, ts, s, random.nextLong(), 0, Long.MIN_VALUE,
                List.of(ResultEvent.Column.clear(s), ResultEvent.Column.masked(s, s), new ResultEvent.Column(s, true,
                        maybe)), Long.MAX_VALUE, maybe, s, list));
        events.add(ResultEvent.of(s, 1, 1, 1, List.of(), 1, null, null));
        events.add(new PolicyReload(null, ts, null, s, s, random.nextBoolean(), maybe,
                random.nextBoolean() ? Map.of() : Map.of("guardrails.removed", list, s, List.of())));
        events.add(new ApprovalEvent(null, ts, s, ApprovalEvent.Action.values()[random.nextInt(5)], s, s, maybe,
                s.length() % 2 == 0 ? "" : s));
        events.add(new EnforcementMismatch(null, ts, s, s, s, -1, s, s, list, list, s));
        events.add(SessionEnd.of(s, 0, 0, null));
        // Drawing nothing from random: the other events' draws stay those of the seed.
        events.add(new RoleSettingsReset(null, ts, s, new AuditIdentity(s, s, list, s.length() % 2 == 0, maybe), s, s,
                Map.of("", list, name(s) + "x", List.of(s + "=" + s)), s.isEmpty() ? Map.of() : Map.of(name(s), list)));
        events.add(new dev.warden.audit.event.CopyIn(null, ts, s, random.nextInt(1000), s.length(), 3, maybe));
        return events;
    }
}
