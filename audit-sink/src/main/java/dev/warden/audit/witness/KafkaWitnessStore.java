package dev.warden.audit.witness;

import dev.warden.audit.kafka.KafkaClients;
import dev.warden.audit.kafka.TopicReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heads as records of a Kafka topic keyed by chain (compaction must stay off, or older heads vanish; the
 * latest is found by seq, not by position). Reading the latest head reads the whole topic; reading the history
 * ({@link #heads}) too, and keeps the chain's heads from {@code fromSeq} on in memory to put them in seq order
 * (a topic holds them in the order they were sent, and a log continued after a cut sends lower seqs again):
 * a few hundred bytes a head.
 */
public final class KafkaWitnessStore implements WitnessStore {

    private static final Logger log = LoggerFactory.getLogger(KafkaWitnessStore.class);

    private final String bootstrapServers;
    private final String topic;
    private final Map<String, String> properties;
    private KafkaProducer<byte[], byte[]> producer;

    public KafkaWitnessStore(String bootstrapServers, String topic, Map<String, String> properties) {
        this.bootstrapServers = bootstrapServers;
        this.topic = topic;
        this.properties = Map.copyOf(properties);
    }

    @Override
    public String name() {
        return "kafka:" + topic;
    }

    @Override
    public synchronized void publish(WitnessHead head) throws IOException {
        try {
            if (producer == null) {
                producer = KafkaClients.producer(bootstrapServers, 0, properties);
            }
            ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic,
                    head.chain().getBytes(StandardCharsets.UTF_8), head.toJson());
            record.headers().add(KafkaClients.INSTANCE_HEADER, head.chain().getBytes(StandardCharsets.UTF_8));
            producer.send(record).get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException | KafkaException e) {
            throw new IOException("witness " + name() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while publishing to " + name(), e);
        }
    }

    @Override
    public Optional<WitnessHead> latest(String chain) throws IOException {
        WitnessHead[] latest = {null};
        TopicReader.readAll(bootstrapServers, topic, properties, m -> {
            if (!m.instance().equals(chain)) {
                return;
            }
            WitnessHead head = headOf(m);
            if (head != null && head.chain().equals(chain) && (latest[0] == null || head.seq() > latest[0].seq())) {
                latest[0] = head;
            }
        });
        return Optional.ofNullable(latest[0]);
    }

    @Override
    public Heads heads(String chain, long fromSeq) throws IOException {
        java.util.List<WitnessHead> heads = new java.util.ArrayList<>();
        TopicReader.readAll(bootstrapServers, topic, properties, m -> {
            if (!m.instance().equals(chain)) {
                return;
            }
            WitnessHead head = headOf(m);
            if (head != null && head.chain().equals(chain) && head.seq() >= fromSeq) {
                heads.add(head);
            }
        });
        heads.sort(java.util.Comparator.comparingLong(WitnessHead::seq));
        return Heads.of(heads);
    }

    /**
     * The head a message holds, or null (logged) for one that holds none: anyone who may produce to the topic can
     * send such a message, and one that threw here stopped every later head of its chain (the publisher compares
     * with the latest before its first send) and made verify fail without checking a head. A message that is no
     * head vouches for nothing, so skipping it hides nothing; a head that does not verify is kept for the callers
     * to judge.
     */
    private WitnessHead headOf(TopicReader.Message m) {
        try {
            return WitnessHead.fromJson(m.value());
        } catch (IllegalArgumentException | java.time.DateTimeException e) {
            log.warn("audit witness message is not a head witness={} partition={} offset={} error=\"{}\"", name(),
                    m.partition(), m.offset(), e.getMessage());
            return null;
        }
    }

    @Override
    public synchronized void close() {
        if (producer != null) {
            producer.close(java.time.Duration.ofSeconds(5));
            producer = null;
        }
    }
}
