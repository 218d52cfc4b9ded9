package dev.warden.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.kafka.TopicReader;
import dev.warden.audit.ocsf.ChainLines;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.testkit.TestPostgres;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The Kafka sink against a real broker: one in-process KRaft node (controller and broker) for the whole class.
 * The broker is stopped by the last test.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KafkaAuditThroughWardenTest {

    private static final String TOPIC = "warden-audit";
    private static final String WITNESS_TOPIC = "warden-audit-witness";
    private static KafkaClusterTestKit kafka;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                .setNumBrokerNodes(1).setNumControllerNodes(1).build()).build();
        kafka.format();
        kafka.startup();
        kafka.waitForReadyBrokers();
        try (var admin = kafka.admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 3, (short) 1))).all().get();
        }
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static String audit(String instance, String format) {
        return """
                audit:
                  instance: %s
                  checkpoint_every: 5
                  sinks:
                    - { type: file, dir: "${AUDIT_DIR}" }
                    - type: kafka
                      bootstrap_servers: "%s"
                      topic: %s
                      format: %s
                      # Short timeouts keep the stopped-broker test quick; the defaults allow 5 s.
                      client_properties: { max.block.ms: "1500", request.timeout.ms: "1000", delivery.timeout.ms: "1500" }
                """.formatted(instance, kafka.bootstrapServers(), TOPIC, format);
    }

    @Test
    @Order(1)
    void threeInstancesShareOneTopicAndEachChainVerifiesFromTheTopicAlone() throws Exception {
        // The instance with a witness takes the name the command line's verify takes without --chain: this host's.
        String b = dev.warden.config.AuditSettings.defaultInstance();
        List<String> instances = List.of("warden-a", b, "warden-c");
        Map<String, java.security.PublicKey> keys = new TreeMap<>();
        Map<String, java.nio.file.Path> auditDirs = new TreeMap<>();
        java.nio.file.Path publicKeyOfA = java.nio.file.Files.createTempFile("warden-a", ".pub.pem");
        java.nio.file.Path publicKeyOfB = java.nio.file.Files.createTempFile("warden-b", ".pub.pem");
        // Three proxies in front of one PostgreSQL (one cluster keeps the test quick), all into one topic.
        try (TestPostgres pg = TestPostgres.start()) {
            List<WardenHarness> wardens = new ArrayList<>();
            try {
                for (String instance : instances) {
                    // One writes OCSF events: its chain must verify from the events' raw_data just the same.
                    String format = instance.equals("warden-c") ? "ocsf" : "warden";
                    String yaml = audit(instance, format);
                    if (instance.equals(b)) {
                        // b also keeps its checkpoint heads in a Kafka witness topic.
                        yaml += "  witness: { type: kafka, bootstrap_servers: \"" + kafka.bootstrapServers()
                                + "\", topic: " + WITNESS_TOPIC + " }\n";
                    }
                    wardens.add(WardenHarness.start(pg, "", "", yaml));
                }
                for (int n = 0; n < instances.size(); n++) {
                    WardenHarness warden = wardens.get(n);
                    String table = "t_" + n;
                    try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
                        s.execute("CREATE TABLE " + table + " (id int)");
                        for (int i = 0; i < 12; i++) {
                            s.execute("INSERT INTO " + table + " VALUES (" + i + ")");
                        }
                    }
                    warden.awaitSessionEnd(WardenHarness.USER);
                    SigningKey key = SigningKey.load(warden.auditDir().resolve(SigningKey.GENERATED_KEY_FILE));
                    auditDirs.put(instances.get(n), warden.auditDir());
                    keys.put(instances.get(n), key.publicKey());
                    if (n < 2) {
                        java.nio.file.Files.writeString(n == 0 ? publicKeyOfA : publicKeyOfB, key.publicKeyPem());
                    }
                }
            } finally {
                for (WardenHarness warden : wardens) {
                    warden.server().close(); // writes the final checkpoint
                    warden.issuer.close();
                }
            }
        }

        Map<String, List<byte[]>> chains = new TreeMap<>();
        TopicReader.readAll(kafka.bootstrapServers(), TOPIC, Map.of(),
                m -> chains.computeIfAbsent(m.instance(), k -> new ArrayList<>())
                        .add(ChainLines.fromMessage(m.value()).bytes()));
        assertEquals(keys.keySet(), chains.keySet(), "one chain per instance in the topic");
        for (String instance : instances) {
            VerifyReport report = AuditVerifier.verifyRecords("kafka:" + TOPIC + "/" + instance,
                    chains.get(instance), keys.get(instance), Optional.empty());
            assertTrue(report.passed(), instance + ": " + report.summary());
            assertEquals(0, report.unsignedTail(), instance + ": " + report.summary());
            long queries = chains.get(instance).stream()
                    .map(bytes -> new String(bytes, StandardCharsets.UTF_8))
                    .filter(l -> l.contains("\"type\":\"query\"") && l.contains("INSERT INTO t_")).count();
            assertEquals(12, queries, instance);
        }

        // b's witness, a Kafka topic, holds its final head; its log directory reaches it.
        dev.warden.audit.witness.WitnessHead head;
        try (var witness = new dev.warden.audit.witness.KafkaWitnessStore(kafka.bootstrapServers(), WITNESS_TOPIC,
                Map.of())) {
            head = witness.latest(b).orElseThrow();
            assertTrue(witness.latest("warden-a").isEmpty(), "only b has a witness");
        }
        VerifyReport withWitness = AuditVerifier.verify(auditDirs.get(b), keys.get(b),
                Optional.of(head));
        assertTrue(withWitness.passed(), withWitness.summary());
        assertEquals(withWitness.lastSeq(), head.seq(), withWitness.summary());

        // The same from the command line, as a security team runs it.
        Cli run = verifyTopic(TOPIC, publicKeyOfA, "--chain", "warden-a");
        String verified = run.printed();
        assertEquals(0, run.exit(), verified);
        assertTrue(verified.contains("chain warden-a:\nPASS"), verified);
        assertTrue(verified.contains("proves seq 1-"), verified);
        assertTrue(verified.contains("checkpoints sign chain warden-a"), verified);

        // An attacker who may produce to the topic copies warden-a's messages under another instance's header (a
        // made-up one here; with a shared signing key, another proxy's). Before checkpoints named their chain, the
        // copy verified as that instance's chain.
        String copied = TOPIC + "-copied";
        List<TopicReader.Message> ofA = messagesOf("warden-a");
        copyTopic(copied, ofA, "warden-x");
        Cli copy = verifyTopic(copied, publicKeyOfA, "--chain", "warden-x");
        String copyVerified = copy.printed();
        assertEquals(1, copy.exit(), copyVerified);
        assertTrue(copyVerified.contains("chain warden-x:\nFAIL"), copyVerified);
        assertTrue(copyVerified.contains("names chain warden-a, not warden-x"), copyVerified);

        // b's chain alone in a topic, whole and then cut short, verified from the command line with the witness and
        // no --chain: the chain checked against the witness is this host's instance name, b's. Before, without
        // --chain no chain was compared with the witness, and the cut topic passed (an attacker's pass, a147).
        List<TopicReader.Message> ofB = messagesOf(b);
        String whole = TOPIC + "-b";
        String cut = TOPIC + "-b-cut";
        copyTopic(whole, ofB, b);
        copyTopic(cut, ofB.subList(0, ofB.size() - 3), b);
        String witnessSpec = "kafka://" + kafka.bootstrapServers() + "/" + WITNESS_TOPIC;
        Cli wholeVerified = verifyTopic(whole, publicKeyOfB, "--witness", witnessSpec);
        assertEquals(0, wholeVerified.exit(), wholeVerified.printed());
        assertTrue(wholeVerified.printed().contains("complete up to the witness's head at seq " + head.seq()),
                wholeVerified.printed());
        Cli cutVerified = verifyTopic(cut, publicKeyOfB, "--witness", witnessSpec);
        assertEquals(1, cutVerified.exit(), cutVerified.printed());
        assertTrue(cutVerified.printed().contains("chain " + b + ":\nFAIL"), cutVerified.printed());
    }

    /** {@code warden audit verify} of {@code topic} with {@code key} and {@code more} options. */
    private static Cli verifyTopic(String topic, java.nio.file.Path key, String... more) {
        List<String> args = new ArrayList<>(List.of("audit", "verify", "--kafka", kafka.bootstrapServers(), "--topic",
                topic, "--public-key", key.toString()));
        args.addAll(List.of(more));
        return cli(args.toArray(String[]::new));
    }

    /** The messages of {@code instance}'s chain in the shared topic. */
    private static List<TopicReader.Message> messagesOf(String instance) throws java.io.IOException {
        List<TopicReader.Message> messages = new ArrayList<>();
        TopicReader.readAll(kafka.bootstrapServers(), TOPIC, Map.of(), m -> {
            if (m.instance().equals(instance)) {
                messages.add(m);
            }
        });
        return messages;
    }

    /** A new topic holding {@code messages}, with their keys, under the instance header {@code instance}. */
    private static void copyTopic(String topic, List<TopicReader.Message> messages, String instance)
            throws Exception {
        try (var admin = kafka.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        var serializer = new org.apache.kafka.common.serialization.ByteArraySerializer();
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(
                Map.<String, Object>of("bootstrap.servers", kafka.bootstrapServers()), serializer, serializer)) {
            for (TopicReader.Message m : messages) {
                var message = new org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>(topic, m.key(),
                        m.value());
                message.headers().add(dev.warden.audit.kafka.KafkaClients.INSTANCE_HEADER,
                        instance.getBytes(StandardCharsets.UTF_8));
                producer.send(message).get();
            }
        }
    }

    /** What {@code warden ARGS} printed, and its exit code. */
    private record Cli(int exit, String printed) {
    }

    private static Cli cli(String... args) {
        java.io.PrintStream out = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new java.io.PrintStream(printed, true, StandardCharsets.UTF_8));
            exit = dev.warden.proxy.cli.WardenCommand.run(args);
        } finally {
            System.setOut(out);
        }
        return new Cli(exit, printed.toString(StandardCharsets.UTF_8));
    }

    @Test
    @Order(2)
    void withKafkaAsTheOnlySinkARestartContinuesTheChainFromTheTopic(@org.junit.jupiter.api.io.TempDir
                                                                     java.nio.file.Path tmp) throws Exception {
        SigningKey key = SigningKey.loadOrGenerate(tmp.resolve("key.pem"));
        dev.warden.config.AuditSettings settings = new dev.warden.config.AuditSettings(
                List.of(new dev.warden.config.AuditSettings.AuditSinkConfig.KafkaSink(kafka.bootstrapServers(), TOPIC,
                        dev.warden.config.AuditSettings.SinkFormat.WARDEN, java.time.Duration.ZERO, Map.of())),
                Optional.of(tmp.resolve("key.pem")), true, 4, java.time.Duration.ZERO, java.time.Duration.ZERO, true)
                .withInstance("solo", Optional.empty());
        for (int run = 0; run < 2; run++) {
            try (dev.warden.audit.AuditLog log = dev.warden.audit.AuditLog.open(settings)) {
                for (int i = 0; i < 6; i++) {
                    log.append(dev.warden.audit.event.QueryEvent.builder("s" + run, "alice@example.com", "dev")
                            .statement("SELECT " + run + i).build()).join();
                }
            }
        }
        List<byte[]> lines = new ArrayList<>();
        TopicReader.readAll(kafka.bootstrapServers(), TOPIC, Map.of(), m -> {
            if (m.instance().equals("solo")) {
                lines.add(ChainLines.fromMessage(m.value()).bytes());
            }
        });
        VerifyReport report = AuditVerifier.verifyRecords("kafka:" + TOPIC + "/solo", lines, key.publicKey(),
                Optional.empty());
        assertTrue(report.passed(), report.summary());
        assertTrue(report.lastSeq() >= 12 + 4, "two runs of 6 queries and their checkpoints: " + report.summary());
        assertEquals(0, report.unsignedTail(), report.summary());
    }

    @Test
    @Order(3)
    void aStoppedBrokerRefusesStatementsWith58030AndNothingReachesPostgres() throws Exception {
        try (WardenHarness warden = WardenHarness.start("", "", audit("warden-d", "warden")
                .replace("audit:\n", "audit:\n  on_failure: refuse\n"))) {
            try (Connection c = warden.connect(""); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE payments (id int)");
                kafka.brokers().values().forEach(b -> b.shutdown());

                SQLException refused = assertThrows(SQLException.class,
                        () -> s.execute("CREATE TABLE created_without_a_record (id int)"));
                assertEquals("58030", refused.getSQLState(), refused.getMessage());
                assertTrue(refused.getMessage().contains("kafka:" + TOPIC), refused.getMessage());
                SQLException insert = assertThrows(SQLException.class,
                        () -> s.execute("INSERT INTO payments VALUES (1)"));
                assertEquals("58030", insert.getSQLState(), insert.getMessage());
            }
            try (Connection direct = warden.direct(); Statement d = direct.createStatement()) {
                try (ResultSet rs = d.executeQuery("SELECT to_regclass('public.created_without_a_record')")) {
                    rs.next();
                    assertEquals(null, rs.getString(1), "the refused CREATE TABLE ran");
                }
                try (ResultSet rs = d.executeQuery("SELECT count(*) FROM payments")) {
                    rs.next();
                    assertEquals(0, rs.getLong(1), "the refused INSERT ran");
                }
            }
        }
    }
}
