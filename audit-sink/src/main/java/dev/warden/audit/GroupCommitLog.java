package dev.warden.audit;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.chain.TornTail;
import dev.warden.audit.chain.UnsignedTail;
import dev.warden.audit.event.AuditEvent;
import dev.warden.audit.event.RecordTemplate;
import dev.warden.audit.sink.AuditSink;
import dev.warden.audit.sink.FileSink;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One writer thread takes every event queued so far, chains them, writes them to each sink (with one fsync
 * unless {@code durability: write}), then completes their futures. The primary sink (first file sink, else first durable one) is written first and
 * holds the whole chain; secondaries are written only after it succeeded, so they never hold a record the
 * primary lacks. After a primary failure, the chain is re-read from the primary before the next write.
 *
 * <p>Records are serialized by {@link #append} on the caller's thread ({@link RecordTemplate}); the writer
 * fills in {@code seq} and {@code prev}, hashes, writes and syncs. With {@code durability: write} it writes to the
 * operating system and completes the futures; a sync thread fsyncs within the sync interval, and the writer goes on
 * writing meanwhile, so no statement waits for an fsync.
 * The writer takes everything queued at once, so under load one write(2) carries the records of many sessions.
 * The chain, its counters and the primary sink are guarded by one lock, held by whoever writes a batch; records
 * are taken from the queue only under that lock, so the chain keeps their order of appending.
 *
 * <p>An event loop appends with {@link #appendDeferred} and calls {@link #wake} once after its pass over the
 * sessions: one hand-off for the records of every session it read, not one per record. With {@code durability:
 * write} and the file sink alone, {@link #wake} writes the queued records on the loop's own thread instead
 ({@link #writeInline}), everything queued (from any loop): a write(2) to the page cache costs less than
 * waking the writer and being woken back, and the statement goes upstream in the same pass. It stands aside,
 * and wakes the writer, where the write would wait on the file: while the file is fsync'd (ext4 held writes
 * for tens of milliseconds while the same file was fsync'd) or the writer waits for the lock, when the file is
 * due to rotate (a new file and two fsyncs; an inline write never opens one), while the chain must first be
 * read back or recovered, and once the log is closing. A write(2) to the page cache can still wait in the
 * kernel (dirty-page throttling, a journal commit): that is the cost this mode accepts. With {@code
 * durability: fsync}, or another sink (a network write), every write runs on the writer thread.
 *
 * <p>Group commit: under concurrency (the previous batch had more than one event) the writer waits up to
 * {@code groupCommit} for more events before writing; a lone client never waits.
 */
final class GroupCommitLog implements AuditLog {

    private static final Logger log = LoggerFactory.getLogger(GroupCommitLog.class);
    private static final int MAX_BATCH = 8192;
    private static final long LOST_WAKE_NANOS = LOST_WAKE_BOUND.toNanos();
    /** Room an inline batch leaves in the file for checkpoints and digits the records' templates do not count. */
    private static final long INLINE_SLACK = 16 * 1024;
    /** An inline writer rechecks the queue this many times before it leaves the rest to the writer thread. */
    private static final int INLINE_ROUNDS = 4;

    /**
     * A record serialized on the appending thread, waiting for its place in the chain; {@code unhurried}: its
     * caller wakes the writer for it later on purpose ({@link #appendUnhurried}).
     */
    private record Pending(RecordTemplate record, CompletableFuture<Long> future, boolean unhurried, long queuedAt) {
    }

    private static final Pending CLOSE = new Pending(null, null, false, 0);

    private final List<AuditSink> sinks;
    private final AuditSink primary;
    private final SigningKey key;
    private final CheckpointListener checkpoints;
    private final int checkpointEvery;
    /** What every checkpoint names and signs as its chain; null: none (the first checkpoint format). */
    private final String chainName;
    private final long checkpointIntervalNanos;
    private final long groupCommitNanos;
    /** {@code durability: write}: the primary file is fsync'd at most this long after a write, not before relay. */
    private final long syncIntervalNanos;
    /**
     * Lock-free: appenders are event loops, and a lock (LinkedBlockingQueue takes one per add, and another to
     * signal) makes every loop wait behind a holder the scheduler preempted. The writer parks when the queue is
     * empty and says so in {@link #writerParked}; an appender unparks it only then.
     */
    private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();
    private volatile boolean writerParked;
    /**
     * Set by whoever unparks the writer, before it does; cleared by the writer before it parks. A park that
     * lasted its whole time is not proof that nothing woke the writer: on a loaded machine a thread unparked
     * just before its deadline runs after it, and taking that for a missed wake left the record queued for
     * another {@link #LOST_WAKE_BOUND}.
     */
    private volatile boolean unparked;
    /** Set by {@link #writeInline} when the writer's next deadline (sync, checkpoint) may have moved nearer. */
    private volatile boolean recheck;
    /**
     * Set while the primary is fsync'd ({@link #syncer}): event loops then leave their records to the writer,
     * which goes on writing meanwhile.
     */
    private volatile boolean syncing;
    /**
     * {@code durability: write}: fsyncs the primary when the writer finds it due, so that records appended
     * meanwhile are written (by the writer) instead of waiting for the fsync: one takes milliseconds on a quiet
     * disk and was measured at 10-270 ms under load, every {@code sync_interval}, and each statement waited for
     * it. Null in {@code fsync} mode.
     */
    private final Thread syncer;
    /** Set by the writer to ask {@link #syncer} for an fsync; the syncer clears it. */
    private volatile boolean syncWanted;
    private volatile boolean syncerStop;
    /** {@code durability: write} with the file sink alone, no group commit: event loops write their own batches. */
    private final boolean inline;
    private final Object closeLock = new Object();
    private final Thread writer;
    private final CompletableFuture<Void> started = new CompletableFuture<>();

    private final AtomicLong records = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong lateWakes = new AtomicLong();
    private final AtomicLong inlineBatches = new AtomicLong();
    private volatile boolean healthy = true;
    /** The chain's last seq after the writer's last batch: how wide appenders make the seq's gap. */
    private volatile long lastSeqSeen;
    private volatile boolean closed;
    /** Set by the writer when it stops taking records. */
    private volatile boolean finished;
    /** Guards the chain, its counters and the primary sink: the writer's batches and start-up. */
    private final ReentrantLock chainLock = new ReentrantLock();

    // Guarded by chainLock.
    /** The writer took the close marker: nothing more is written, and the sinks are closing. */
    private boolean stopped;
    private RecordChain chain;
    private List<TornTail> pendingTorn = List.of();
    /** Records the last run left after its last checkpoint, for the recovery record; NONE once written. */
    private UnsignedTail pendingUnsigned = UnsignedTail.NONE;
    /** Whether the primary was read once already: later resumes follow this process's own failed writes. */
    private boolean resumedBefore;
    /**
     * The log ends with a clean stop's final checkpoint: the next records written begin with a checkpoint (after
     * the recovery record, when torn bytes follow it), which tells verify that this start wrote them. Also set for
     * a fresh chain with a name: its first record is a checkpoint naming it.
     */
    private boolean openingDue;
    /** Why the start refused to continue the log it found (records after a final checkpoint); null if it did not. */
    private volatile AuditUnavailableException refusedAtStart;
    private long sinceCheckpoint;
    private long firstUnsignedAt;
    private int lastBatchSize;
    private long firstUnsyncedAt;
    /** The batch {@link #writeInline} fills, reused. */
    private final List<Pending> inlineBatch = new ArrayList<>();

    GroupCommitLog(List<AuditSink> sinks, SigningKey key, int checkpointEvery, Duration checkpointInterval,
                   Duration groupCommit) {
        this(sinks, key, checkpointEvery, checkpointInterval, groupCommit, null, CheckpointListener.NONE);
    }

    /**
     * {@code syncInterval} null: fsync before acknowledging ({@code durability: fsync}); {@code checkpoints} hears
     * of every signed checkpoint once the primary holds it (the witness).
     */
    GroupCommitLog(List<AuditSink> sinks, SigningKey key, int checkpointEvery, Duration checkpointInterval,
                   Duration groupCommit, Duration syncInterval, CheckpointListener checkpoints) {
        this(sinks, key, checkpointEvery, checkpointInterval, groupCommit, syncInterval, checkpoints, null);
    }

    /** {@code chainName}: the name every checkpoint signs ({@code audit.instance}); null signs none (tests). */
    GroupCommitLog(List<AuditSink> sinks, SigningKey key, int checkpointEvery, Duration checkpointInterval,
                   Duration groupCommit, Duration syncInterval, CheckpointListener checkpoints, String chainName) {
        this.chainName = chainName;
        this.sinks = List.copyOf(sinks);
        this.primary = choosePrimary(this.sinks);
        this.key = key;
        this.checkpoints = checkpoints;
        this.checkpointEvery = checkpointEvery;
        this.checkpointIntervalNanos = checkpointInterval.toNanos();
        this.groupCommitNanos = groupCommit.toNanos();
        this.syncIntervalNanos = syncInterval == null || !(primary instanceof FileSink) ? 0 : syncInterval.toNanos();
        this.inline = syncIntervalNanos > 0 && this.sinks.size() == 1 && groupCommitNanos == 0;
        this.writer = new Thread(this::run, "warden-audit-writer");
        this.writer.setDaemon(true);
        if (syncIntervalNanos > 0) {
            // Never interrupted: a FileChannel closes when an interrupted thread forces it.
            this.syncer = new Thread(this::syncLoop, "warden-audit-sync");
            this.syncer.setDaemon(true);
            this.syncer.start();
        } else {
            this.syncer = null;
        }
        this.writer.start();
        started.join();
        if (refusedAtStart != null) {
            close();
            throw refusedAtStart;
        }
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
        return append(event, true, false);
    }

    @Override
    public CompletableFuture<Long> appendDeferred(AuditEvent event) {
        return append(event, false, false);
    }

    @Override
    public CompletableFuture<Long> appendUnhurried(AuditEvent event) {
        return append(event, false, true);
    }

    /**
     * With {@code durability: write} and the file sink alone, writes what is queued on the caller's thread (an
     * event loop, after its pass) when that cannot block; otherwise, and for whatever it left, wakes the writer.
     */
    @Override
    public void wake() {
        if (inline && writeInline()) {
            return;
        }
        // After the caller's adds: the same ordering argument as in append.
        if (writerParked) {
            unparkWriter();
        }
    }

    /**
     * Writes the queued records on this thread, in one write(2), and completes their futures here; true when it
     * left nothing for the writer. When another thread holds the lock it leaves the records to that thread: every
     * holder looks at the queue again once it lets go (an event loop here, the writer at the top of its loop, the
     * syncer by waking the writer), so no record waits. Two event loops used to hand the writer thread whatever
     * met the other's lock, and their statements then waited for two thread wake-ups. It stands aside (and the
     * writer is told) while the writer fsyncs, before the chain is known or a recovery record is due, when the batch
     * would open a new file, while the writer waits for the lock (its fsync is due), and once the log is closing.
     */
    private boolean writeInline() {
        for (int round = 0; round < INLINE_ROUNDS; round++) {
            // Not from inside a batch (a future's callback that wakes the log): the batch list is in use. Not with
            // the interrupt flag set: a FileChannel closes when an interrupted thread writes to it.
            if (syncing || chainLock.isHeldByCurrentThread() || Thread.currentThread().isInterrupted()) {
                return false;
            }
            if (!chainLock.tryLock()) {
                // After this thread's adds: the holder's look at the queue, after its unlock, comes later.
                return true;
            }
            if (!writeInlineRound()) {
                return false;
            }
            // After the unlock: what another thread queued while this one held the lock is this thread's to write.
            if (queue.isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /** One inline batch, the lock held on entry and released here; false when it stood aside. */
    private boolean writeInlineRound() {
        List<Pending> batch = inlineBatch;
        try {
            // A writer waiting for the lock has an fsync (or a rotation, a checkpoint) due: tryLock would jump it.
            if (syncing || stopped || chain == null || recoveryPending() || chainLock.hasQueuedThreads()) {
                return false;
            }
            FileSink file = (FileSink) primary;
            // Asked once per batch (a clock read when files rotate by time), not once per record.
            long room = file.room();
            long bytes = INLINE_SLACK;
            Pending next;
            while (batch.size() < MAX_BATCH && (next = queue.peek()) != null && next != CLOSE) {
                bytes += next.record().bytes().length + 1;
                if (bytes > room) {
                    break;
                }
                // Only the lock's holder takes from the queue (failRemaining only once stopped): next is its head.
                batch.add(queue.poll());
            }
            if (batch.isEmpty()) {
                // Nothing queued, or the next record needs a new file (the writer's).
                return queue.peek() == null;
            }
            boolean wasUnsynced = file.unsynced();
            boolean wasSigned = sinceCheckpoint == 0;
            boolean written = false;
            try {
                written = write(batch, false, true);
            } catch (RuntimeException e) {
                log.error("audit write failed", e);
                fail(batch, new AuditUnavailableException(primary.name(), "internal error: " + e, e));
            }
            if (written) {
                inlineBatches.incrementAndGet();
            }
            if (!wasUnsynced || wasSigned) {
                // The writer may be waiting with no deadline: it has a sync (or a checkpoint) to schedule now.
                recheck = true;
                if (writerParked) {
                    unparkWriter();
                }
            }
            return true;
        } finally {
            batch.clear();
            chainLock.unlock();
        }
    }

    private CompletableFuture<Long> append(AuditEvent event, boolean wake, boolean unhurried) {
        CompletableFuture<Long> future = new CompletableFuture<>();
        // Serialized here, on the caller's thread: the single writer only links, writes and syncs.
        RecordTemplate record;
        try {
            // The seq's gap is sized for the next seq the writer will give: right but across a power of ten.
            record = RecordTemplate.of(event, lastSeqSeen + 1);
        } catch (RuntimeException e) {
            log.error("audit record could not be serialized type={}", event.type(), e);
            future.completeExceptionally(new AuditUnavailableException(primary.name(), "internal error: " + e, e));
            return future;
        }
        if (closed) {
            future.completeExceptionally(closedFailure());
            return future;
        }
        // No lock here (nor in the queue): under load a lock holder that the scheduler preempts stalls every event
        // loop behind it.
        queue.add(new Pending(record, future, unhurried, System.nanoTime()));
        // After the add: either the writer's check of the queue (after it set the flag) sees this record, or
        // this read sees the flag (both are volatile, in one order).
        if (wake && writerParked) {
            unparkWriter();
        }
        if (finished) {
            // Raced with close(): the writer may have drained the queue before this add.
            failRemaining();
        }
        return future;
    }

    private AuditUnavailableException closedFailure() {
        return new AuditUnavailableException(primary.name(), "the audit log is closed", null);
    }

    /** After the writer stopped: fails whatever is still queued (appends that raced with close). */
    private void failRemaining() {
        Pending p;
        while ((p = queue.poll()) != null) {
            if (p.future() != null) {
                p.future().completeExceptionally(closedFailure());
            }
        }
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
        return new Stats(records.get(), batches.get(), fsyncs, failures.get(), lateWakes.get(),
                inlineBatches.get());
    }

    @Override
    public void close() {
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            closed = true;
            queue.add(CLOSE);
            unparkWriter();
        }
        try {
            writer.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- writer thread --------------------------------------------------------------------------------------

    private void run() {
        chainLock.lock();
        try {
            // Continue the chain now, so a torn tail from a crash is acknowledged even if nothing is appended.
            if (ready(List.of()) && (tailPending() || sinceCheckpoint > 0)) {
                write(List.of(), true, false);
            }
        } finally {
            chainLock.unlock();
            started.complete(null);
        }
        List<Pending> batch = new ArrayList<>();
        boolean closing = false;
        while (!closing) {
            try {
                long timeout;
                chainLock.lock();
                try {
                    // While the syncer fsyncs, its deadline is not the writer's: the syncer wakes it when done.
                    timeout = Math.min(untilCheckpointNanos(), syncing ? Long.MAX_VALUE : untilSyncNanos());
                } finally {
                    chainLock.unlock();
                }
                if (!awaitRecord(timeout)) {
                    chainLock.lock();
                    try {
                        if (chain != null && sinceCheckpoint > 0 && untilCheckpointNanos() == 0) {
                            write(List.of(), true, false);
                        }
                    } finally {
                        chainLock.unlock();
                    }
                    syncIfDue();
                    continue;
                }
                batch.clear();
                // Taken under the lock, like writeInline's: the chain keeps the queue's order.
                chainLock.lock();
                try {
                    Pending first = queue.poll();
                    if (first == null) {
                        // An event loop wrote it meanwhile.
                        continue;
                    }
                    closing = add(batch, first);
                    if (!closing && groupCommitNanos > 0 && lastBatchSize > 1) {
                        // No inline writes with group commit: nothing else waits for the lock meanwhile.
                        long deadline = System.nanoTime() + groupCommitNanos;
                        long left;
                        while (!closing && batch.size() < MAX_BATCH && (left = deadline - System.nanoTime()) > 0) {
                            if (!awaitRecord(left)) {
                                break;
                            }
                            closing = add(batch, queue.poll());
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
                    stopped = closing;
                    write(batch, closing, false);
                } finally {
                    chainLock.unlock();
                }
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
            syncerStop = true;
            LockSupport.unpark(syncer);
            try {
                syncer.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            // The last records, on this thread: the syncer has stopped.
            chainLock.lock();
            try {
                if (chain != null) {
                    syncing = true;
                }
            } finally {
                chainLock.unlock();
            }
            if (syncing) {
                sync();
            }
        }
        chainLock.lock();
        try {
            // Under the lock: an event loop's inline write is either done or sees stopped.
            stopped = true;
            for (AuditSink s : sinks) {
                s.close();
            }
        } finally {
            chainLock.unlock();
        }
        checkpoints.close();
        finished = true;
        failRemaining();
    }

    /**
     * Waits up to {@code nanos} for a queued record and leaves it queued; false when none came, or when an
     * event loop's inline write gave the writer a deadline to schedule. Writer thread only.
     *
     * <p>A record found after a wait that nothing cut short, and queued during it, is left for its caller's wake
     * (an event loop wakes the log at the end of its pass, and may write the record itself) until it has waited
     * {@link #LOST_WAKE_BOUND}; then the writer takes it and counts a missed wake.
     */
    private boolean awaitRecord(long nanos) throws InterruptedException {
        if (queue.peek() != null) {
            return true;
        }
        boolean forever = nanos > Long.MAX_VALUE / 4; // "until a record comes", and no overflow below
        long deadline = forever ? 0 : System.nanoTime() + nanos;
        boolean lastParkWhole = false;
        writerParked = true;
        try {
            while (true) {
                Pending p = queue.peek();
                if (p != null) {
                    if (!lastParkWhole || p.unhurried()) {
                        return true;
                    }
                    long age = System.nanoTime() - p.queuedAt();
                    if (age >= LOST_WAKE_NANOS) {
                        lateWakes.incrementAndGet();
                        log.warn("audit writer was not woken for a queued record; it waited {} ms",
                                LOST_WAKE_BOUND.toMillis());
                        return true;
                    }
                    lastParkWhole = park(LOST_WAKE_NANOS - age);
                    continue;
                }
                if (recheck) {
                    recheck = false;
                    return false;
                }
                long left = forever ? Long.MAX_VALUE : deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                // Never parked for longer than the bound: a deferred append whose caller failed to wake the writer
                // is late, never stuck.
                lastParkWhole = park(Math.min(left, LOST_WAKE_NANOS)) && left >= LOST_WAKE_NANOS;
            }
        } finally {
            writerParked = false;
        }
    }

    /** Parks up to {@code nanos}; true when it ran its whole time and no one unparked it meanwhile. */
    private boolean park(long nanos) throws InterruptedException {
        unparked = false;
        long parked = System.nanoTime();
        LockSupport.parkNanos(this, nanos);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        return System.nanoTime() - parked >= nanos && !unparked;
    }

    /** Unparks the writer, and says so first ({@link #unparked}). */
    private void unparkWriter() {
        unparked = true;
        LockSupport.unpark(writer);
    }

    private long untilSyncNanos() {
        if (syncIntervalNanos == 0 || !((FileSink) primary).unsynced()) {
            return Long.MAX_VALUE;
        }
        return Math.max(0, firstUnsyncedAt + syncIntervalNanos - System.nanoTime());
    }

    /**
     * {@code durability: write}: asks {@link #syncer} to fsync the primary once its oldest unsynced record is
     * {@code sync_interval} old. Writer thread; returns at once.
     */
    private void syncIfDue() {
        if (syncIntervalNanos == 0 || syncing) {
            return;
        }
        chainLock.lock();
        try {
            if (chain == null || untilSyncNanos() > 0) {
                return;
            }
            // Event loops stop writing inline until the fsync is done (a write(2) can wait for it in the kernel, and
            // an event loop must not): records appended meanwhile queue for the writer, which writes them now.
            syncing = true;
        } finally {
            chainLock.unlock();
        }
        syncWanted = true;
        LockSupport.unpark(syncer);
    }

    private void syncLoop() {
        while (!syncerStop) {
            if (!syncWanted) {
                LockSupport.park(this);
                continue;
            }
            syncWanted = false;
            sync();
            // The writer had no sync deadline meanwhile: it schedules the next one now.
            recheck = true;
            unparkWriter();
        }
    }

    /**
     * Fsyncs the primary ({@link #syncing} set by the caller, cleared here). Records written meanwhile are left for
     * the next sync (FileSink's own lock keeps a rotation from closing the file under it). The records were
     * acknowledged already, so a failure cannot refuse them: it is reported (log, health, failure count) and the
     * chain resumes in a new file, as after any failed write.
     */
    private void sync() {
        try {
            ((FileSink) primary).sync();
        } catch (IOException e) {
            chainLock.lock();
            try {
                chain = null;
                markFailed(unavailable(primary, e));
            } finally {
                chainLock.unlock();
            }
        } catch (RuntimeException e) {
            log.error("audit sync failed", e);
        } finally {
            syncing = false;
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
            chain = new RecordChain(position.lastSeq(), position.lastHash(), chainName);
            lastSeqSeen = position.lastSeq();
            pendingTorn = position.torn();
            // A fresh chain opens with a checkpoint too, which signs its name before its first record: records
            // copied under another chain's name fail verify from the first one, not only after a checkpoint.
            openingDue = position.endsFinal() || (position.lastSeq() == 0 && chainName != null);
            UnsignedTail tail = position.unsignedTail();
            // At start-up an unsigned tail means the last run stopped without its final checkpoint (kill -9,
            // power loss): the recovery record states it. After this process's own failed write, the tail is
            // its own records, named only when torn bytes call for a recovery record anyway, or when the failed
            // write was the recovery record itself.
            boolean named = !resumedBefore || !pendingTorn.isEmpty() || !pendingUnsigned.isEmpty();
            pendingUnsigned = named ? tail : UnsignedTail.NONE;
            resumedBefore = true;
            if (tailPending()) {
                log.warn("audit log ended unfinished sink={} torn={} unsigned={}; a recovery record names it and "
                        + "a checkpoint signs it", primary.name(), pendingTorn, pendingUnsigned);
            }
            sinceCheckpoint = tail.count();
            firstUnsignedAt = System.nanoTime();
            return true;
        } catch (IOException | RuntimeException e) {
            AuditUnavailableException failure = unavailable(primary, e);
            if (!resumedBefore && e instanceof dev.warden.audit.sink.RecordsAfterFinalCheckpointException) {
                refusedAtStart = failure;
            }
            markFailed(failure);
            fail(batch, failure);
            return false;
        }
    }

    /** Something must be written before the next event: a recovery record, or a new start's first checkpoint. */
    private boolean recoveryPending() {
        return tailPending() || openingDue;
    }

    /** The last run left torn bytes or an unsigned tail, which a recovery record names. */
    private boolean tailPending() {
        return !pendingTorn.isEmpty() || !pendingUnsigned.isEmpty();
    }

    /**
     * Links and writes a batch, and completes its futures; true when written. {@code inline}: on an event loop,
     * appended to the open file without opening a new one ({@link FileSink#appendInline}).
     */
    private boolean write(List<Pending> batch, boolean forceCheckpoint, boolean inline) {
        if (!ready(batch)) {
            return false;
        }
        // The close marker was taken: this batch ends with the final checkpoint.
        boolean last = stopped;
        boolean torn = tailPending();
        if (last && openingDue && batch.isEmpty() && !torn) {
            // Nothing was written since the last clean stop: the log still ends with its final checkpoint.
            return false;
        }
        long seqBefore = chain.lastSeq();
        String hashBefore = log.isTraceEnabled() ? chain.lastHash() : null;
        List<ChainedRecord> out = new ArrayList<>(batch.size() + 3 + batch.size() / checkpointEvery);
        long unsigned = sinceCheckpoint;
        boolean checkpointed = false;
        if (torn) {
            out.add(chain.recovery(pendingTorn, pendingUnsigned));
            unsigned++;
            // The tail it names is signed at once, not at the next interval: a second crash cannot leave it so.
            forceCheckpoint = true;
        }
        if (openingDue) {
            // After a clean stop, this start's first checkpoint (after a recovery record naming torn bytes, if
            // any): what follows a final checkpoint without one was appended by someone else.
            out.add(chain.checkpoint(key));
            unsigned = 0;
            checkpointed = true;
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
        if (last && chain.lastSeq() > 0) {
            // Even right after another checkpoint: a clean stop always ends with a final one.
            out.add(chain.finalCheckpoint(key));
            unsigned = 0;
            checkpointed = true;
        } else if (unsigned > 0 && (forceCheckpoint || unsigned >= checkpointEvery || intervalDue)) {
            out.add(chain.checkpoint(key));
            unsigned = 0;
            checkpointed = true;
        }
        if (out.isEmpty()) {
            return false;
        }

        boolean wasUnsynced = syncIntervalNanos > 0 && ((FileSink) primary).unsynced();
        try {
            if (inline) {
                ((FileSink) primary).appendInline(out);
            } else if (syncIntervalNanos > 0) {
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
            return false;
        }
        pendingTorn = List.of();
        pendingUnsigned = UnsignedTail.NONE;
        openingDue = false;
        if (syncIntervalNanos > 0 && !wasUnsynced) {
            firstUnsyncedAt = System.nanoTime();
        }
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
        lastSeqSeen = chain.lastSeq();
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
            return false;
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
        return true;
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
