package dev.warden.audit.kafka;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * How Warden talks to Kafka. Producers are idempotent with {@code acks=all}: a send is acknowledged once every
 * in-sync replica has it, retries never duplicate or reorder within a partition. Timeouts are short, because a
 * statement waits for its audit record: a broker that cannot be reached must become a refusal (58030) within
 * seconds, not minutes. Properties from the policy (security settings) are applied last and may override these.
 */
public final class KafkaClients {

    /** Header naming the proxy whose chain a record belongs to. */
    public static final String INSTANCE_HEADER = "warden.instance";

    private KafkaClients() {
    }

    public static KafkaProducer<byte[], byte[]> producer(String bootstrapServers, long lingerMs,
                                                         Map<String, String> extra) {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        config.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
        config.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) (5000 + lingerMs));
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5000);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "warden-audit");
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.putAll(extra);
        return new KafkaProducer<>(config);
    }

    /** A consumer without a group: readers assign partitions themselves and commit nothing. */
    public static KafkaConsumer<byte[], byte[]> consumer(String bootstrapServers, Map<String, String> extra) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15000);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "warden-audit-reader");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.putAll(extra);
        return new KafkaConsumer<>(config);
    }
}
