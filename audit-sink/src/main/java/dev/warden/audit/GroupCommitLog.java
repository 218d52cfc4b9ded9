package dev.warden.audit;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.chain.TornTail;
import dev.warden.audit.event.AuditEvent;
import dev.warden.audit.event.RecordTemplate;
import dev.warden.audit.sink.AuditSink;
import dev.warden.audit.sink.FileSink;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One writer thread takes every event queued so far, chains them, writes them to each sink with one fsync,
 * then completes their futures. The primary sink (first file sink, else first durable one) is written first and
 * holds the whole chain; secondaries are written only after it succeeded, so they never hold a record the
 * primary lacks. After a primary failure, the chain is re-read from the primary before the next write.
 *
 * <p>Records are serialized by {@link #append} on the caller's thread ({@link RecordTemplate}); the writer
 * fills in {@code seq} and {@code prev}, hashes, writes and syncs. With {@code durability: write} it writes to the
 * operating system, completes the futures, and fsyncs within the sync interval instead of before completing.
 *
 * <p>Group commit: under concurrency (the previous batch had more than one event) the writer waits up to
 * {@code groupCommit} for more events before writing; a lone client never waits.
 */
final class GroupCommitLog implements AuditLog {

    private static final Logger log = LoggerFactory.getLogger(GroupCommitLog.class);
    private static final int MAX_BATCH = 8192;

    /** A record serialized on the appending thread, waiting for its place in the chain. */
    private record Pending(RecordTemplate record, CompletableFuture<Long> future) {
    }

    private static final Pending CLOSE = new Pending(null, null);

    private final List<AuditSink> sinks;
    private final AuditSink primary;
    private final SigningKey key;
    private final int checkpointEvery;
    private final long checkpointIntervalNanos;
    private final long groupCommitNanos;
    /** {@code durability: write}: the primary file is fsync'd at most this long after a write, not before relay. */
    private final long syncIntervalNanos;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Object appendLock = new Object();
    private final Thread writer;
    private final CompletableFuture<Void> started = new CompletableFuture<>();

    private final AtomicLong records = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean healthy = true;
    private boolean closed;

    // Owned by the writer thread.
    private RecordChain chain;
    private List<TornTail> pendingTorn = List.of();
    private long sinceCheckpoint;
    private long firstUnsignedAt;
    private int lastBatchSize;
    private long firstUnsyncedAt;

    GroupCommitLog(List<AuditSink> sinks, SigningKey key, int checkpointEvery, Duration checkpointInterval,
                   Duration groupCommit) {
        this(sinks, key, checkpointEvery, checkpointInterval, groupCommit, null);
    }

    /** {@code syncInterval} null: fsync before acknowledging ({@code durability: fsync}). */
    GroupCommitLog(List<AuditSink> sinks, SigningKey key, int checkpointEvery, Duration checkpointInterval,
                   Duration groupCommit, Duration syncInterval) {
        this.sinks = List.copyOf(sinks);
        this.primary = choosePrimary(this.sinks);
        this.key = key;
        this.checkpointEvery = checkpointEvery;
        this.checkpointIntervalNanos = checkpointInterval.toNanos();
        this.groupCommitNanos = groupCommit.toNanos();
        this.syncIntervalNanos = syncInterval == null || !(primary instanceof FileSink) ? 0 : syncInterval.toNanos();
        this.writer = new Thread(this::run, "warden-audit-writer");
        this.writer.setDaemon(true);
        this.writer.start();
        started.join();
    }

    private static AuditSink choosePrimary(List<AuditSink> sinks) {
        for (AuditSink s : sinks) {
            if (s instanceof FileSink) {
                return s;
            }
        }
        for (AuditSink s : sinks) {
            if (s.durable()) {
                return s;
            }
        }
        return sinks.get(0);
    }

    @Override
    public CompletableFuture<Long> append(AuditEvent event) {
        CompletableFuture<Long> future = new CompletableFuture<>();
        // Serialized here, on the caller's thread: the single writer only links, writes and syncs.
        RecordTemplate record;
        try {
            record = RecordTemplate.of(event);
        } catch (RuntimeException e) {
            log.error("audit record could not be serialized type={}", event.type(), e);
            future.completeExceptionally(new AuditUnavailableException(primary.name(), "internal error: " + e, e));
            return future;
        }
        synchronized (appendLock) {
            if (closed) {
                future.completeExceptionally(new AuditUnavailableException(primary.name(), "the audit log is closed",
                        null));
                return future;
            }
            queue.add(new Pending(record, future));
        }
        return future;
    }

    @Override
    public boolean healthy() {
        return healthy;
    }

    @Override
    public Stats stats() {
        long fsyncs = 0;
        for (AuditSink s : sinks) {
            if (s instanceof FileSink f) {
                fsyncs += f.forces();
            }
        }
        return new Stats(records.get(), batches.get(), fsyncs, failures.get());
    }

    @Override
    public void close() {
        synchronized (appendLock) {
            if (closed) {
                return;
            }
            closed = true;
            queue.add(CLOSE);
        }
        try {
            writer.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- writer thread --------------------------------------------------------------------------------------

    private void run() {
        try {
            // Continue the chain now, so a torn tail from a crash is acknowledged even if nothing is appended.
            if (ready(List.of()) && (!pendingTorn.isEmpty() || sinceCheckpoint > 0)) {
                write(List.of(), true);
            }
        } finally {
            started.complete(null);
        }
        List<Pending> batch = new ArrayList<>();
        boolean closing = false;
        while (!closing) {
            try {
                Pending first = queue.poll(Math.min(untilCheckpointNanos(), untilSyncNanos()), TimeUnit.NANOSECONDS);
                if (first == null) {
                    if (chain != null && sinceCheckpoint > 0 && untilCheckpointNanos() == 0) {
                        write(List.of(), true);
                    }
                    syncIfDue();
                    continue;
                }
                batch.clear();
                closing = add(batch, first);
                if (!closing && groupCommitNanos > 0 && lastBatchSize > 1) {
                    long deadline = System.nanoTime() + groupCommitNanos;
                    long left;
                    while (!closing && batch.size() < MAX_BATCH && (left = deadline - System.nanoTime()) > 0) {
                        Pending next = queue.poll(left, TimeUnit.NANOSECONDS);
                        if (next == null) {
                            break;
                        }
                        closing = add(batch, next);
                    }
                }
                while (!closing && batch.size() < MAX_BATCH) {
                    Pending next = queue.poll();
                    if (next == null) {
                        break;
                    }
                    closing = add(batch, next);
                }
                lastBatchSize = batch.size();
                write(batch, closing);
                syncIfDue();
            } catch (InterruptedException e) {
                closing = true;
            } catch (RuntimeException e) {
                // A bug must not leave callers waiting forever.
                log.error("audit writer failed", e);
                fail(batch, new AuditUnavailableException(primary.name(), "internal error: " + e, e));
            }
        }
        if (syncIntervalNanos > 0) {
            firstUnsyncedAt = System.nanoTime() - syncIntervalNanos;
            syncIfDue();
        }
        for (AuditSink s : sinks) {
            s.close();
        }
    }

    private long untilSyncNanos() {
        if (syncIntervalNanos == 0 || !((FileSink) primary).unsynced()) {
            return Long.MAX_VALUE;
        }
        return Math.max(0, firstUnsyncedAt + syncIntervalNanos - System.nanoTime());
    }

    /**
     * {@code durability: write}: fsyncs the primary once its oldest unsynced record is {@code sync_interval} old.
     * The records were acknowledged already, so a failure cannot refuse them: it is reported (log, health,
     * failure count) and the chain resumes in a new file, as after any failed write.
     */
    private void syncIfDue() {
        if (syncIntervalNanos == 0 || chain == null || untilSyncNanos() > 0) {
            return;
        }
        try {
            ((FileSink) primary).sync();
        } catch (IOException e) {
            chain = null;
            markFailed(unavailable(primary, e));
        }
    }

    /** Adds to the batch; true when the close marker was reached (everything before it is in the batch). */
    private boolean add(List<Pending> batch, Pending p) {
        if (p == CLOSE) {
            return true;
        }
        batch.add(p);
        return false;
    }

    private long untilCheckpointNanos() {
        if (chain == null || sinceCheckpoint == 0 || checkpointIntervalNanos == 0) {
            return chain == null ? TimeUnit.SECONDS.toNanos(1) : Long.MAX_VALUE;
        }
        return Math.max(0, firstUnsignedAt + checkpointIntervalNanos - System.nanoTime());
    }

    /** Makes sure the chain position is known; false (with the batch failed) if the primary cannot be read. */
    private boolean ready(List<Pending> batch) {
        if (chain != null) {
            return true;
        }
        try {
            ChainPosition position = primary.resume();
            if (primary instanceof FileSink f) {
                key.publishPublicKey(f.dir());
            }
            chain = new RecordChain(position.lastSeq(), position.lastHash());
            pendingTorn = position.torn();
            if (!pendingTorn.isEmpty()) {
                log.warn("audit log had torn bytes at the end sink={} torn={}; a recovery record names them",
                        primary.name(), pendingTorn);
            }
            boolean signed = position.lastSeq() == 0 || position.lastType().equals(RecordChain.CHECKPOINT);
            sinceCheckpoint = signed ? 0 : 1;
            firstUnsignedAt = System.nanoTime();
            return true;
        } catch (IOException | RuntimeException e) {
            AuditUnavailableException failure = unavailable(primary, e);
            markFailed(failure);
            fail(batch, failure);
            return false;
        }
    }

    private void write(List<Pending> batch, boolean forceCheckpoint) {
        if (!ready(batch)) {
            return;
        }
        long seqBefore = chain.lastSeq();
        String hashBefore = chain.lastHash();
        List<ChainedRecord> out = new ArrayList<>(batch.size() + 2 + batch.size() / checkpointEvery);
        long unsigned = sinceCheckpoint;
        boolean checkpointed = false;
        if (!pendingTorn.isEmpty()) {
            out.add(chain.recovery(pendingTorn));
            unsigned++;
        }
        long[] seqs = new long[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            if (unsigned >= checkpointEvery) {
                out.add(chain.checkpoint(key));
                unsigned = 0;
                checkpointed = true;
            }
            ChainedRecord r = chain.append(batch.get(i).record());
            seqs[i] = r.seq();
            out.add(r);
            unsigned++;
        }
        boolean intervalDue = checkpointIntervalNanos > 0 && sinceCheckpoint > 0
                && System.nanoTime() - firstUnsignedAt >= checkpointIntervalNanos;
        if (unsigned > 0 && (forceCheckpoint || unsigned >= checkpointEvery || intervalDue)) {
            out.add(chain.checkpoint(key));
            unsigned = 0;
            checkpointed = true;
        }
        if (out.isEmpty()) {
            return;
        }

        boolean wasUnsynced = syncIntervalNanos > 0 && ((FileSink) primary).unsynced();
        try {
            if (syncIntervalNanos > 0) {
                ((FileSink) primary).write(out, false);
            } else {
                primary.write(out);
            }
        } catch (IOException | RuntimeException e) {
            // What reached the primary is unknown: read it back before writing again.
            chain = null;
            AuditUnavailableException failure = unavailable(primary, e);
            markFailed(failure);
            fail(batch, failure);
            return;
        }
        pendingTorn = List.of();
        if (syncIntervalNanos > 0 && !wasUnsynced) {
            firstUnsyncedAt = System.nanoTime();
        }
        if (unsigned > 0 && (sinceCheckpoint == 0 || checkpointed)) {
            firstUnsignedAt = System.nanoTime();
        }
        sinceCheckpoint = unsigned;
        records.addAndGet(out.size());

        AuditUnavailableException failure = null;
        for (AuditSink sink : sinks) {
            if (sink == primary) {
                continue;
            }
            try {
                sink.write(out);
            } catch (IOException | RuntimeException e) {
                if (sink.durable() && failure == null) {
                    failure = unavailable(sink, e);
                } else {
                    log.warn("audit sink failed (best effort) sink={} error={}", sink.name(), e.toString());
                }
            }
        }
        if (failure != null) {
            // The primary has these records and the chain goes on; the secondary misses them (a seq gap).
            markFailed(failure);
            fail(batch, failure);
            return;
        }
        batches.incrementAndGet();
        if (!healthy) {
            healthy = true;
            log.info("audit log writable again sinks={} seq={}", sinks.size(), chain.lastSeq());
        }
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).future().complete(seqs[i]);
        }
        if (log.isTraceEnabled()) {
            log.trace("audit batch written from={} to={} prev={}", seqBefore + 1, chain.lastSeq(), hashBefore);
        }
    }

    private void markFailed(AuditUnavailableException failure) {
        failures.incrementAndGet();
        if (healthy) {
            log.error("audit log unavailable: {}", failure.getMessage());
        }
        healthy = false;
    }

    private static void fail(List<Pending> batch, AuditUnavailableException failure) {
        for (Pending p : batch) {
            p.future().completeExceptionally(failure);
        }
    }

    private static AuditUnavailableException unavailable(AuditSink sink, Exception e) {
        String reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return new AuditUnavailableException(sink.name(), reason, e);
    }
}
