package dev.warden.audit;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.chain.TornTail;
import dev.warden.audit.event.AuditEvent;
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
 * <p>Group commit: under concurrency (the previous batch had more than one event) the writer waits up to
 * {@code groupCommit} for more events before writing; a lone client never waits.
 */
final class GroupCommitLog implements AuditLog {

    private static final Logger log = LoggerFactory.getLogger(GroupCommitLog.class);
    private static final int MAX_BATCH = 8192;

    private record Pending(AuditEvent event, CompletableFuture<Long> future) {
    }

    private static final Pending CLOSE = new Pending(null, null);

    private final List<AuditSink> sinks;
    private final AuditSink primary;
    private final SigningKey key;
    private final CheckpointListener checkpoints;
    private final int checkpointEvery;
    private final long checkpointIntervalNanos;
    private final long groupCommitNanos;
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

    GroupCommitLog(List<AuditSink> sinks, SigningKey key, int checkpointEvery, Duration checkpointInterval,
                   Duration groupCommit) {
        this(sinks, key, checkpointEvery, checkpointInterval, groupCommit, CheckpointListener.NONE);
    }

    GroupCommitLog(List<AuditSink> sinks, SigningKey key, int checkpointEvery, Duration checkpointInterval,
                   Duration groupCommit, CheckpointListener checkpoints) {
        this.sinks = List.copyOf(sinks);
        this.primary = choosePrimary(this.sinks);
        this.key = key;
        this.checkpoints = checkpoints;
        this.checkpointEvery = checkpointEvery;
        this.checkpointIntervalNanos = checkpointInterval.toNanos();
        this.groupCommitNanos = groupCommit.toNanos();
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
        synchronized (appendLock) {
            if (closed) {
                future.completeExceptionally(new AuditUnavailableException(primary.name(), "the audit log is closed",
                        null));
                return future;
            }
            queue.add(new Pending(event, future));
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
                Pending first = queue.poll(untilCheckpointNanos(), TimeUnit.NANOSECONDS);
                if (first == null) {
                    if (chain != null && sinceCheckpoint > 0) {
                        write(List.of(), true);
                    }
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
            } catch (InterruptedException e) {
                closing = true;
            } catch (RuntimeException e) {
                // A bug must not leave callers waiting forever.
                log.error("audit writer failed", e);
                fail(batch, new AuditUnavailableException(primary.name(), "internal error: " + e, e));
            }
        }
        for (AuditSink s : sinks) {
            s.close();
        }
        checkpoints.close();
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
            ChainedRecord r = chain.append(batch.get(i).event());
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

        try {
            primary.write(out);
        } catch (IOException | RuntimeException e) {
            // What reached the primary is unknown: read it back before writing again.
            chain = null;
            AuditUnavailableException failure = unavailable(primary, e);
            markFailed(failure);
            fail(batch, failure);
            return;
        }
        pendingTorn = List.of();
        if (checkpointed) {
            // Witness hook: the newest checkpoint vouches for every earlier one.
            for (int i = out.size() - 1; i >= 0; i--) {
                if (out.get(i).type().equals(RecordChain.CHECKPOINT)) {
                    checkpoints.checkpointWritten(out.get(i));
                    break;
                }
            }
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
