package dev.warden.audit.sink;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.kafka.KafkaClients;
import dev.warden.audit.kafka.TopicReader;
import dev.warden.audit.ocsf.ChainLines;
import dev.warden.audit.ocsf.OcsfMapper;
import dev.warden.config.AuditSettings.SinkFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;

/**
 * A Kafka topic shared by any number of proxies. Each record is keyed by its session (a session's records stay
 * in order in one partition) and carries the instance's name in the {@code warden.instance} header. {@code
 * write} sends a batch and returns once the broker acknowledged every record ({@code acks=all}, idempotent), so
 * a {@code query} record is in the topic before its statement is relayed. With {@code format: ocsf} the value is
 * an OCSF event whose {@code raw_data} is the chain's record, so the chain can still be verified from the topic.
 *
 * <p>Limits: as a secondary sink it misses the records written while it failed (a gap in its chain); as the only
 * durable sink, continuing the chain at start reads the whole topic.
 */
public final class KafkaSink implements AuditSink {

    private static final long ACK_WAIT_SECONDS = 30;

    private final String bootstrapServers;
    private final String topic;
    private final byte[] instance;
    private final String instanceName;
    private final SinkFormat format;
    private final Duration linger;
    private final Map<String, String> properties;
    private final OcsfMapper ocsf = new OcsfMapper();
    private KafkaProducer<byte[], byte[]> producer;

    public KafkaSink(String bootstrapServers, String topic, String instance, SinkFormat format, Duration linger,
                     Map<String, String> properties) {
        this.bootstrapServers = bootstrapServers;
        this.topic = topic;
        this.instanceName = instance;
        this.instance = instance.getBytes(StandardCharsets.UTF_8);
        this.format = format;
        this.linger = linger;
        this.properties = Map.copyOf(properties);
    }

    @Override
    public String name() {
        return "kafka:" + topic;
    }

    @Override
    public boolean durable() {
        return true;
    }

    /** Reads this instance's records from the whole topic to find where its chain ends. */
    @Override
    public ChainPosition resume() throws IOException {
        ChainLines.Line[] last = {null};
        ChainLines.Line[] lastCheckpoint = {null};
        TopicReader.readAll(bootstrapServers, topic, properties, m -> {
            if (!m.instance().equals(instanceName)) {
                return;
            }
            ChainLines.Line line = ChainLines.fromMessage(m.value());
            if (last[0] == null || line.seq() > last[0].seq()) {
                last[0] = line;
            }
            if (line.type().equals(RecordChain.CHECKPOINT)
                    && (lastCheckpoint[0] == null || line.seq() > lastCheckpoint[0].seq())) {
                lastCheckpoint[0] = line;
            }
        });
        if (last[0] == null) {
            return ChainPosition.empty();
        }
        long signedThrough = lastCheckpoint[0] == null ? 0 : lastCheckpoint[0].seq();
        boolean endsFinal = lastCheckpoint[0] != null && isFinal(lastCheckpoint[0]);
        if (endsFinal && last[0].seq() > signedThrough) {
            String where = name() + " seq " + (signedThrough + 1);
            throw new RecordsAfterFinalCheckpointException(where, "cannot continue the chain: " + where + " follows "
                    + "the final checkpoint of a clean stop (seq " + signedThrough + "), and Warden did not write it "
                    + "(a start writes a checkpoint first); run 'warden audit verify --kafka'");
        }
        return new ChainPosition(last[0].seq(), last[0].hash(), last[0].type(),
                Math.min(signedThrough, last[0].seq()), List.of(), endsFinal && last[0].seq() == signedThrough);
    }

    private static boolean isFinal(ChainLines.Line checkpoint) {
        try {
            return dev.warden.audit.event.CanonicalJson.parse(checkpoint.bytes()).path(RecordChain.FINAL)
                    .asBoolean(false);
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void write(List<ChainedRecord> records) throws IOException {
        if (records.isEmpty()) {
            return;
        }
        // One deadline for the whole batch, sends included: a send waits up to max.block.ms for the topic's
        // metadata or buffer room and then returns a failed future, and a batch of thousands waited so, one send
        // after another, for hours while every statement waited for its record.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ACK_WAIT_SECONDS);
        try {
            KafkaProducer<byte[], byte[]> p = producer();
            List<Future<RecordMetadata>> acks = new ArrayList<>(records.size());
            for (ChainedRecord r : records) {
                byte[] value = format == SinkFormat.OCSF ? ocsf.event(r.line()) : r.line();
                ProducerRecord<byte[], byte[]> message = new ProducerRecord<>(topic,
                        r.session().getBytes(StandardCharsets.UTF_8), value);
                message.headers().add(KafkaClients.INSTANCE_HEADER, instance);
                Future<RecordMetadata> ack = p.send(message);
                if (ack.isDone()) {
                    ack.get(); // a send that failed at once fails the batch now
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new TimeoutException("the batch's " + records.size() + " records were not all sent within "
                            + ACK_WAIT_SECONDS + " s");
                }
                acks.add(ack);
            }
            for (Future<RecordMetadata> ack : acks) {
                ack.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } catch (ExecutionException e) {
            throw new IOException(reason(e.getCause() != null ? e.getCause() : e), e);
        } catch (TimeoutException | KafkaException e) {
            throw new IOException(reason(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the broker", e);
        }
    }

    private KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            producer = KafkaClients.producer(bootstrapServers, linger.toMillis(), properties);
        }
        return producer;
    }

    private static String reason(Throwable e) {
        String message = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return "broker did not acknowledge: " + message;
    }

    @Override
    public void close() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
            producer = null;
        }
    }
}
