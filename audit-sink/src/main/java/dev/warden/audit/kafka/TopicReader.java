package dev.warden.audit.kafka;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/**
 * Reads every record of a topic that exists when the read starts: all partitions from the beginning up to their
 * end offsets at that moment. Used to continue a chain, to find a witness's latest head, and to verify chains
 * from the topic alone.
 */
public final class TopicReader {

    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration LIMIT = Duration.ofMinutes(5);

    /** One record: the instance header (empty when absent), its key and value. */
    public record Message(String instance, byte[] key, byte[] value, int partition, long offset) {
    }

    private TopicReader() {
    }

    public static void readAll(String bootstrapServers, String topic, Map<String, String> extra,
                               Consumer<Message> each) throws IOException {
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.consumer(bootstrapServers, extra)) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(15));
            if (infos == null || infos.isEmpty()) {
                return;
            }
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : infos) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(15));
            long deadline = System.nanoTime() + LIMIT.toNanos();
            while (!reached(consumer, end)) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("reading " + topic + " took longer than " + LIMIT);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                    Header h = r.headers().lastHeader(KafkaClients.INSTANCE_HEADER);
                    String instance = h == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
                    each.accept(new Message(instance, r.key(), r.value(), r.partition(), r.offset()));
                }
            }
        } catch (KafkaException e) {
            throw new IOException("cannot read Kafka topic " + topic + ": " + e.getMessage(), e);
        }
    }

    private static boolean reached(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
