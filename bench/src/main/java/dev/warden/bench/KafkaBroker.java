package dev.warden.bench;

import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.kafka.TopicReader;
import dev.warden.audit.ocsf.ChainLines;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/** One in-process KRaft node (controller and broker) for {@code --audit kafka}, and verification from its topic. */
final class KafkaBroker implements AutoCloseable {

    static final String TOPIC = "warden-bench-audit";

    private final KafkaClusterTestKit cluster;

    private KafkaBroker(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
    }

    static KafkaBroker start() throws Exception {
        KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                .setNumBrokerNodes(1).setNumControllerNodes(1).build()).build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
        try (var admin = cluster.admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 3, (short) 1))).all().get();
        }
        return new KafkaBroker(cluster);
    }

    String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    VerifyReport verify(Path signingKey) throws IOException {
        List<byte[]> lines = new ArrayList<>();
        TopicReader.readAll(bootstrapServers(), TOPIC, Map.of(), m -> lines.add(ChainLines.fromMessage(m.value())
                .bytes()));
        return AuditVerifier.verifyRecords("kafka:" + TOPIC, lines, SigningKey.load(signingKey).publicKey(),
                Optional.empty());
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
