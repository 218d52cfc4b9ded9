package dev.warden.audit;

import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.event.AuditEvent;
import dev.warden.audit.sink.AuditSink;
import dev.warden.audit.sink.FileSink;
import dev.warden.audit.sink.KafkaSink;
import dev.warden.audit.sink.PostgresSink;
import dev.warden.audit.sink.StdoutSink;
import dev.warden.audit.witness.WitnessAtStart;
import dev.warden.audit.witness.WitnessPublisher;
import dev.warden.audit.witness.WitnessStore;
import dev.warden.audit.witness.WitnessStores;
import dev.warden.config.AuditSettings;
import dev.warden.config.AuditSettings.AuditSinkConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail as the proxy sees it: append an event, learn when it is durable.
 *
 * <p>{@link #append} never blocks; the returned future completes with the record's {@code seq} once every
 * durable sink has it (file: written and fsync'd, or with {@code durability: write} written to the operating
 * system and fsync'd within {@code sync_interval}; PostgreSQL: committed), or exceptionally with
 * {@link AuditUnavailableException}. A failed sink is tried again on later appends.
 */
public interface AuditLog extends AutoCloseable {

    CompletableFuture<Long> append(AuditEvent event);

    /**
     * Like {@link #append}, except that the writer may not start on the record until {@link #wake} is called. For
     * a caller that appends several records in one pass of its work (an event loop, over every session that had
     * input) and wakes the writer once after them: one hand-off instead of one per record. The caller must call
     * {@link #wake} soon after; if it does not, the record still goes out with the next append or within
     * {@link #LOST_WAKE_BOUND}.
     */
    default CompletableFuture<Long> appendDeferred(AuditEvent event) {
        return append(event);
    }

    /**
     * Like {@link #appendDeferred}, for a record that nothing waits for (a statement's result): the caller wakes
     * the writer for it later, within a bound of its own, and the writer that finds it first, at the end of one
     * of its own {@link #LOST_WAKE_BOUND} waits, does not count that as a missed wake.
     */
    default CompletableFuture<Long> appendUnhurried(AuditEvent event) {
        return appendDeferred(event);
    }

    /**
     * Starts the writer on the records {@link #appendDeferred} queued; cheap when it is already working. A log may
     * write them on the caller's thread instead, where that is not expected to wait on the file (a write to the
     * page cache, not an fsync or a new file): call it from an event loop between passes, not holding a lock.
     */
    default void wake() {
    }

    /** The longest a record from {@link #appendDeferred} waits when its caller never calls {@link #wake}. */
    Duration LOST_WAKE_BOUND = Duration.ofMillis(50);

    /** False after the last write failed, until one succeeds. */
    boolean healthy();

    /** Counters for metrics and tests. */
    Stats stats();

    /** Writes a final checkpoint, then closes the sinks. Appends after close fail. */
    @Override
    void close();

    /**
     * @param records records written (events and the log's own checkpoints and recoveries)
     * @param batches group commits that succeeded
     * @param fsyncs  fsync calls on log files
     * @param failures group commits that failed
     * @param lateWakes times the writer found records it was never woken for, after waiting the whole
     *     {@link #LOST_WAKE_BOUND}: an {@link #appendDeferred} caller that did not call {@link #wake} (records from
     *     {@link #appendUnhurried} are not counted)
     * @param inlineBatches batches an event loop wrote on its own thread ({@code durability: write}), among
     *     {@code batches}
     */
    record Stats(long records, long batches, long fsyncs, long failures, long lateWakes, long inlineBatches) {

        public Stats(long records, long batches, long fsyncs, long failures) {
            this(records, batches, fsyncs, failures, 0, 0);
        }
    }

    /**
     * Opens the sinks of {@code settings}, continues the existing chain and, before returning, writes a
     * {@code recovery} record if the last run left torn bytes or records after its last checkpoint (naming both),
     * then a checkpoint signing them. With no {@code signing_key}, the key is
     * {@code <first file sink dir>/audit-signing-key.pem}, generated if missing.
     *
     * @throws AuditUnavailableException if the signing key cannot be read or created; if the log directory holds
     *     records after a clean stop's final checkpoint that no start wrote (naming the first, file:line); or if
     *     the witness, when reachable, holds a head the log does not (naming the seq and the file)
     */
    static AuditLog open(AuditSettings settings) {
        Logger log = LoggerFactory.getLogger(AuditLog.class);
        SigningKey key;
        Path keyFile = null;
        try {
            if (settings.signingKey().isPresent()) {
                keyFile = settings.signingKey().get();
                key = SigningKey.load(keyFile);
            } else if (settings.primaryFile().isPresent()) {
                keyFile = settings.primaryFile().get().dir().resolve(SigningKey.GENERATED_KEY_FILE);
                boolean existed = keyFile.toFile().exists();
                key = SigningKey.loadOrGenerate(keyFile);
                if (!existed) {
                    log.warn("audit signing key generated file={} key_id={} public_key={} -- configure "
                            + "audit.signing_key in production, kept outside the log directory", keyFile, key.id(),
                            key.publicKeyPem().replace('\n', ' '));
                }
            } else {
                key = SigningKey.generate();
                log.warn("audit signing key is ephemeral (no signing_key, no file sink) key_id={} public_key={}",
                        key.id(), key.publicKeyPem().replace('\n', ' '));
            }
        } catch (IOException e) {
            String where = keyFile == null ? "signing key" : "signing key " + keyFile;
            throw new AuditUnavailableException(settings.sinks().get(0).describe(), where + ": " + e.getMessage(), e);
        }
        if (settings.witness().isPresent() && settings.primaryFile().isPresent()) {
            // Before anything is written: a log cut while Warden was down is refused, not continued.
            Path dir = settings.primaryFile().get().dir();
            try (WitnessStore store = WitnessStores.open(settings.witness().get())) {
                WitnessAtStart.check(dir, store, settings.instance(), key.publicKey());
            } catch (WitnessAtStart.ConflictException e) {
                throw new AuditUnavailableException("file:" + dir, e.getMessage(), e);
            }
        }
        List<AuditSink> sinks = new ArrayList<>();
        for (AuditSinkConfig config : settings.sinks()) {
            sinks.add(sinkFor(config, settings.instance()));
        }
        CheckpointListener checkpoints = settings.witness()
                .<CheckpointListener>map(w -> new WitnessPublisher(WitnessStores.open(w), settings.instance(), key,
                        WITNESS_CLOSE_WAIT))
                .orElse(CheckpointListener.NONE);
        return new GroupCommitLog(sinks, key, settings.checkpointEvery(), settings.checkpointInterval(),
                settings.groupCommit(), settings.durability() == AuditSettings.Durability.WRITE
                        ? settings.syncInterval() : null, checkpoints, settings.instance());
    }

    /** How long close waits for the witness to take the final head. */
    Duration WITNESS_CLOSE_WAIT = Duration.ofSeconds(10);

    private static AuditSink sinkFor(AuditSinkConfig config, String instance) {
        if (config instanceof AuditSinkConfig.FileSink f) {
            return new FileSink(f.dir(), f.rotateBytes(), f.rotateInterval());
        }
        if (config instanceof AuditSinkConfig.PostgresSink p) {
            return new PostgresSink(p.url(), p.table());
        }
        if (config instanceof AuditSinkConfig.KafkaSink k) {
            return new KafkaSink(k.bootstrapServers(), k.topic(), instance, k.format(), k.linger(), k.properties());
        }
        return new StdoutSink(((AuditSinkConfig.StdoutSink) config).format());
    }
}
