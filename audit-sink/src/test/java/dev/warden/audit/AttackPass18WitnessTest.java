package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.audit.witness.PostgresWitnessStore;
import dev.warden.audit.witness.WitnessHead;
import dev.warden.audit.witness.WitnessStore;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.WitnessConfig;
import dev.warden.config.Secret;
import dev.warden.testkit.TestPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacker pass 18: someone who can write to the witness store but has no signing key. A head is
 * self-authenticating; one that does not verify must be worth nothing, not a way to stop Warden from starting.
 */
class AttackPass18WitnessTest {

    private static final String CHAIN = "warden-p18";
    private static TestPostgres postgres;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        postgres = TestPostgres.start();
    }

    @AfterAll
    static void stop() {
        postgres.close();
    }

    private static Secret url(String db) {
        return Fixtures.superuserUrl(postgres, db);
    }

    private static void write(AuditSettings settings, int queries) {
        try (AuditLog log = AuditLog.open(settings)) {
            log.append(Fixtures.start("s1", "alice@example.com", false, "prod")).join();
            for (int i = 0; i < queries; i++) {
                log.append(Fixtures.query("s1", "alice@example.com", "prod", "SELECT " + i)).join();
            }
        }
    }

    /**
     * A head the log's key did not sign, far past the log's end, posted to the witness: the next start refused
     * the intact log ("cut short while Warden was down"), for good, since the witness never forgets a head.
     */
    @Test
    void aForgedWitnessHeadDoesNotStopTheNextStart() throws Exception {
        String db = postgres.createDatabase("p18witness");
        Path logDir = tmp.resolve("audit");
        Path keyFile = Fixtures.writeKey(tmp);
        WitnessConfig witness = new WitnessConfig.PostgresWitness(url(db), "warden_audit_witness");
        AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 1 << 20, 10)
                .withInstance(CHAIN, Optional.of(witness));
        write(settings, 30);

        SigningKey forger = SigningKey.generate();
        Instant now = Instant.now();
        String hash = "f".repeat(64);
        try (WitnessStore store = new PostgresWitnessStore(url(db), "warden_audit_witness")) {
            WitnessHead real = store.latest(CHAIN).orElseThrow();
            long seq = real.seq() + 1000;
            String text = "warden-audit-witness/1\n" + CHAIN + "\n" + seq + "\n" + hash + "\n"
                    + dev.warden.audit.event.Timestamps.format(now);
            store.publish(new WitnessHead(CHAIN, seq, hash, now, forger.id(),
                    Base64.getEncoder().encodeToString(forger.sign(text.getBytes(StandardCharsets.UTF_8)))));
            store.publish(new WitnessHead(CHAIN, seq + 1, hash, now, SigningKey.load(keyFile).id(),
                    Base64.getEncoder().encodeToString(new byte[64])));
        }

        try {
            write(settings, 5);
        } catch (RuntimeException e) {
            throw new AssertionError("a head no key of this log signed stopped the start: " + e.getMessage(), e);
        }
        VerifyReport alone = AuditVerifier.verify(logDir, SigningKey.load(keyFile).publicKey());
        assertTrue(alone.passed(), alone.summary());
        try (WitnessStore store = new PostgresWitnessStore(url(db), "warden_audit_witness")) {
            VerifyReport withWitness = AuditVerifier.verify(logDir, SigningKey.load(keyFile).publicKey(), store,
                    CHAIN);
            // Verify stays loud about the forged heads: the witness store was written by someone else.
            assertTrue(!withWitness.passed() && withWitness.summary().contains("not signed"), withWitness.summary());
        }
    }

    /**
     * A row planted in the witness table at a seq the log has not reached yet (a helper's attacker pass, through
     * the demo's grants): the real head at that seq was dropped with no error (ON CONFLICT DO NOTHING). Now its
     * publish fails, naming the other head, and the publisher logs it and retries; the same head again still passes.
     */
    @Test
    void aHeadPlantedAheadOfTheLogIsNotTakenForTheRealOne() throws Exception {
        String db = postgres.createDatabase("p18planted");
        SigningKey key = SigningKey.generate();
        Instant now = Instant.now();
        try (WitnessStore store = new PostgresWitnessStore(url(db), "warden_audit_witness")) {
            WitnessHead real = new WitnessHead(CHAIN, 7, "a".repeat(64), now, key.id(), "c2ln");
            store.publish(new WitnessHead(CHAIN, 7, "b".repeat(64), now, "k", "s"));
            IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                    () -> store.publish(real));
            assertTrue(refused.getMessage().contains("another head at seq 7"), refused.getMessage());
            WitnessHead next = new WitnessHead(CHAIN, 8, "c".repeat(64), now, key.id(), "c2ln");
            store.publish(next);
            store.publish(next); // the same head again (a restart publishes its last one again)
            WitnessHead latest = store.latest(CHAIN).orElseThrow();
            assertTrue(latest.seq() == 8 && latest.hash().equals(next.hash()), latest.toString());
        }
    }

    /**
     * One message that is not a head, with the chain's header, in a Kafka witness topic (anyone who may produce to
     * it can send one): reading the chain's heads threw, so the start's check was skipped, every later head of the
     * chain was never published (the publisher's first compare failed and was retried for ever), and verify with
     * the witness failed with an exception instead of checking the heads.
     */
    @Test
    void aMessageThatIsNoHeadInAKafkaWitnessTopicStopsNoHead() throws Exception {
        try (org.apache.kafka.common.test.KafkaClusterTestKit kafka = new org.apache.kafka.common.test
                .KafkaClusterTestKit.Builder(new org.apache.kafka.common.test.TestKitNodes.Builder()
                .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build()).build()) {
            kafka.format();
            kafka.startup();
            kafka.waitForReadyBrokers();
            String topic = "p18-witness";
            try (var admin = kafka.admin()) {
                admin.createTopics(java.util.List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1,
                        (short) 1))).all().get();
            }
            Path logDir = tmp.resolve("audit-kafka");
            Path keyFile = Fixtures.writeKey(tmp);
            WitnessConfig witness = new WitnessConfig.KafkaWitness(kafka.bootstrapServers(), topic,
                    java.util.Map.of());
            AuditSettings settings = Fixtures.fileSettings(logDir, keyFile, 1 << 20, 10)
                    .withInstance(CHAIN, Optional.of(witness));
            write(settings, 10);

            java.util.Properties props = new java.util.Properties();
            props.put("bootstrap.servers", kafka.bootstrapServers());
            try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(props,
                    new org.apache.kafka.common.serialization.ByteArraySerializer(),
                    new org.apache.kafka.common.serialization.ByteArraySerializer())) {
                var message = new org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>(topic,
                        CHAIN.getBytes(StandardCharsets.UTF_8), "not a head".getBytes(StandardCharsets.UTF_8));
                message.headers().add("warden.instance", CHAIN.getBytes(StandardCharsets.UTF_8));
                producer.send(message).get();
            }

            write(settings, 10);
            try (WitnessStore store = new dev.warden.audit.witness.KafkaWitnessStore(kafka.bootstrapServers(), topic,
                    java.util.Map.of())) {
                VerifyReport report = AuditVerifier.verify(logDir, SigningKey.load(keyFile).publicKey(), store, CHAIN);
                assertTrue(report.passed(), report.summary());
                WitnessHead latest = store.latest(CHAIN).orElseThrow();
                assertTrue(latest.seq() == report.lastSeq(), "the second run's final head reached the witness: "
                        + latest + " / " + report.summary());
            }
        }
    }
}
