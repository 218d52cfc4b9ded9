package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.event.ApprovalEvent;
import dev.warden.audit.event.AuditEvent;
import dev.warden.audit.event.AuditIdentity;
import dev.warden.audit.event.AuthFailure;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.event.ClientInfo;
import dev.warden.audit.event.EnforcementMismatch;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.event.RecordTemplate;
import dev.warden.audit.event.ResultEvent;
import dev.warden.audit.event.RoleSettingsReset;
import dev.warden.audit.event.SessionEnd;
import dev.warden.audit.event.SessionStart;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random events, serialized by the record writer (bulk-copied ASCII runs, precomputed keys, values cached by
 * identity, seq gaps sized from a guess that is sometimes wrong) and by the reference form (a Jackson tree sorted
 * by {@link CanonicalJson}, what {@code audit verify} re-encodes every line with): the bytes must be identical.
 * The seed is printed; rerun one with {@code -Dwarden.test.seed=N}.
 *
 * <p>Values are drawn from a small pool of instances, so the same String or list comes back (the writer's
 * identity cache hits), and as fresh copies of the same text (it must miss and still agree).
 */
class CanonicalWriterDifferentialTest {

    private static final int EVENTS = 5_000;

    /** What the audit budget charges for a text is the bytes the reference form writes it in (quotes aside). */
    @Test
    void jsonLengthIsTheEncodedLengthOfRandomTexts() throws Exception {
        long seed = Long.getLong("warden.test.seed", System.nanoTime());
        System.out.println("CanonicalWriterDifferentialTest jsonLength seed=" + seed);
        Pool pool = new Pool(new Random(seed));
        for (int i = 0; i < 20_000; i++) {
            String text = pool.text();
            byte[] encoded = CanonicalJson.encode(com.fasterxml.jackson.databind.node.TextNode.valueOf(text));
            assertEquals(encoded.length - 2, dev.warden.audit.event.CanonicalWriter.jsonLength(text),
                    "seed " + seed + ", text " + CanonicalJson.sha256(text.getBytes(StandardCharsets.UTF_16BE)));
        }
        assertEquals(6 * 4, dev.warden.audit.event.CanonicalWriter.jsonLength("\u0001\u0002\u001f\u0000"));
        assertEquals(4, dev.warden.audit.event.CanonicalWriter.jsonLength("\ud83d\ude00"));
    }

    @Test
    void randomEventsSerializeToTheReferenceBytes() throws Exception {
        long seed = Long.getLong("warden.test.seed", System.nanoTime());
        System.out.println("CanonicalWriterDifferentialTest seed=" + seed);
        Random random = new Random(seed);
        Pool pool = new Pool(random);
        // Start just below a power of ten now and then, so seqs change width while records are in flight.
        // (Never below 0: a chain's last seq is 0 or more; 10 - 1 - 49 used to start it at -40.)
        long start = random.nextBoolean() ? 0
                : Math.max(0, (long) Math.pow(10, 1 + random.nextInt(17)) - 1 - random.nextInt(50));
        RecordChain chain = new RecordChain(start, RecordChain.GENESIS);
        String prev = RecordChain.GENESIS;
        for (int i = 0; i < EVENTS; i++) {
            AuditEvent event = pool.event();
            long seq = chain.lastSeq() + 1;
            // The log sizes the gap from the seq it saw last, which may be behind.
            long expected = Math.max(1, seq - (random.nextInt(4) == 0 ? random.nextInt(1000) : 0));
            ChainedRecord linked = chain.append(RecordTemplate.of(event, expected));
            byte[] reference = CanonicalWriterTest.reference(event, seq, prev);
            int at = java.util.Arrays.mismatch(reference, linked.line());
            if (at >= 0) {
                // Where they part, not two whole records (random texts run to thousands of chars).
                assertEquals(window(reference, at), window(linked.line(), at), "seed=" + seed + " event #" + i + " "
                        + event.type() + ", first difference at byte " + at);
            }
            assertEquals(CanonicalJson.sha256(reference), linked.hash(), "seed=" + seed + " event #" + i);
            prev = linked.hash();
        }
        assertEquals(prev, chain.lastHash());
    }

    private static String window(byte[] line, int at) {
        int from = Math.max(0, at - 60);
        return new String(line, from, Math.min(line.length, at + 60) - from, StandardCharsets.ISO_8859_1);
    }

    @Test
    void aTemplateLinkedAtAnotherWidthMovesTheTailIntact() {
        QueryEvent q = Fixtures.query("s1", "alice@example.com", "prod", "SELECT 'é' \"x\"\n");
        for (long[] c : new long[][] {{1, 10}, {99, 100}, {100, 99}, {1, Long.MAX_VALUE}, {Long.MAX_VALUE, 7}}) {
            RecordChain chain = new RecordChain(c[1] - 1, RecordChain.GENESIS);
            byte[] line = chain.append(RecordTemplate.of(q, c[0])).line();
            assertArrayEquals(CanonicalWriterTest.reference(q, c[1], RecordChain.GENESIS), line, c[0] + "->" + c[1]);
        }
    }

    /** Texts, lists and events drawn at random, reusing instances as a session does. */
    private static final class Pool {
        private final Random random;
        private final List<String> strings = new ArrayList<>();
        private final List<List<String>> lists = new ArrayList<>();
        private final List<List<ResultEvent.Column>> columns = new ArrayList<>();

        Pool(Random random) {
            this.random = random;
            for (int i = 0; i < 40; i++) {
                strings.add(text());
            }
            for (int i = 0; i < 20; i++) {
                lists.add(freshList());
            }
            for (int i = 0; i < 10; i++) {
                columns.add(freshColumns());
            }
        }

        AuditEvent event() {
            Instant ts = Instant.ofEpochSecond(random.nextInt(2_000_000_000) - (random.nextInt(10) == 0
                    ? 2_000_000_000L : 0), random.nextInt(1_000_000) * 1000L);
            return switch (random.nextInt(11)) {
                case 0 -> new SessionStart(null, ts, s(), new AuditIdentity(s(), s(), list(), random.nextBoolean(),
                        maybe()), new ClientInfo(s(), maybe(), maybe()), s(), s());
                case 1 -> new SessionEnd(null, ts, s(), random.nextLong(), random.nextInt(1000), maybe());
                case 2 -> new AuthFailure(null, ts, s(), s(), s(), s(), maybe());
                case 3 -> new ApprovalEvent(null, ts, s(),
                        ApprovalEvent.Action.values()[random.nextInt(ApprovalEvent.Action.values().length)], s(), s(),
                        maybe(), random.nextBoolean() ? "" : s());
                case 4 -> new EnforcementMismatch(null, ts, s(), s(), s(), random.nextLong(), s(), s(), list(), list(),
                        s());
                case 7 -> new RoleSettingsReset(null, ts, s(), new AuditIdentity(s(), s(), list(), random.nextBoolean(),
                        maybe()), s(), s(), java.util.Map.of("", list(), s() + ".", list()), random.nextBoolean()
                        ? java.util.Map.of() : java.util.Map.of(s(), list()));
                case 10 -> new dev.warden.audit.event.CopyIn(null, ts, s(), random.nextLong(),
                        random.nextInt(Integer.MAX_VALUE), random.nextInt(1000), maybe());
                case 5, 6 -> new QueryEvent(null, ts, s(), s(), s(), s(), s(), list(), list(), list(), list(), list(),
                        QueryEvent.Decision.values()[random.nextInt(3)], maybe(), maybe(), s(),
                        QueryEvent.Protocol.values()[random.nextInt(2)], maybe(), random.nextBoolean() ? null : list(),
                        random.nextInt(8) == 0 ? s().getBytes(StandardCharsets.UTF_16LE) : null);
                default -> new ResultEvent(null, ts, s(), random.nextLong(), random.nextLong(), random.nextLong(),
                        random.nextInt(3) == 0 ? freshColumns() : columns.get(random.nextInt(columns.size())),
                        random.nextLong(), maybe(), maybe(), list());
            };
        }

        /** A pooled instance, or a fresh copy of one (same text, another identity), or a new text. */
        private String s() {
            return switch (random.nextInt(4)) {
                case 0 -> new String(strings.get(random.nextInt(strings.size())));
                case 1 -> text();
                default -> strings.get(random.nextInt(strings.size()));
            };
        }

        private String maybe() {
            return random.nextInt(3) == 0 ? null : s();
        }

        private List<String> list() {
            return random.nextInt(3) == 0 ? freshList() : lists.get(random.nextInt(lists.size()));
        }

        private List<String> freshList() {
            List<String> out = new ArrayList<>();
            for (int i = random.nextInt(4); i > 0; i--) {
                out.add(random.nextBoolean() ? strings.get(random.nextInt(strings.size())) : text());
            }
            return List.copyOf(out);
        }

        private List<ResultEvent.Column> freshColumns() {
            List<ResultEvent.Column> out = new ArrayList<>();
            for (int i = random.nextInt(4); i > 0; i--) {
                out.add(new ResultEvent.Column(s(), random.nextBoolean(), maybe()));
            }
            return List.copyOf(out);
        }

        /** Mostly plain ASCII, with escapes, controls, Latin-1, wider BMP chars and surrogates (paired or not). */
        private String text() {
            int n = random.nextInt(40) == 0 ? random.nextInt(3000) : random.nextInt(40);
            StringBuilder b = new StringBuilder(n);
            boolean asciiOnly = random.nextBoolean();
            for (int i = 0; i < n; i++) {
                int kind = random.nextInt(asciiOnly ? 12 : 20);
                switch (kind) {
                    case 0 -> b.append("\"\\\b\f\n\r\t".charAt(random.nextInt(7)));
                    case 1 -> b.append((char) random.nextInt(0x20));
                    case 12, 13 -> b.append((char) (0x80 + random.nextInt(0x80)));
                    case 14 -> b.append((char) (0x100 + random.nextInt(0x700)));
                    case 15 -> b.append((char) (0x800 + random.nextInt(0xD000)));
                    case 16 -> b.append(Character.toChars(0x10000 + random.nextInt(0xFFFFF)));
                    case 17 -> b.append((char) (0xD800 + random.nextInt(0x800)));
                    case 18 -> b.append((char) (0xE000 + random.nextInt(0x2000)));
                    default -> b.append((char) (0x20 + random.nextInt(0x60)));
                }
            }
            return b.toString();
        }
    }
}
