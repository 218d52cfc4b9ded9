package dev.warden.audit.witness;

import dev.warden.audit.CheckpointListener;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.SigningKey;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the head of every signed checkpoint to the witness store on its own thread, so a slow or absent
 * witness never holds up the audit writer or a statement. Only the newest head matters (it vouches for
 * everything before it), so heads that arrive while a send is running replace each other; a failed send is
 * retried until a newer head supersedes it. The head is published only after the checkpoint is durable in the
 * primary sink, so the witness never gets ahead of the log.
 *
 * <p>Limits: the witness lags the log by the send in flight; a log cut back by at most the checkpoints that
 * were not yet witnessed is not detected. {@link #close} waits (up to {@code closeWait}) for the final head.
 */
public final class WitnessPublisher implements CheckpointListener {

    private static final Logger log = LoggerFactory.getLogger(WitnessPublisher.class);
    private static final long RETRY_MILLIS = 1000;

    private final WitnessStore store;
    private final String chain;
    private final SigningKey key;
    private final Duration closeWait;
    private final Thread thread;
    private final Object lock = new Object();

    // Guarded by lock.
    private ChainedRecord pending;
    private boolean closing;
    private long publishedSeq;

    private volatile boolean failing;
    private volatile boolean checkedAgainstWitness;
    private volatile String conflict;

    public WitnessPublisher(WitnessStore store, String chain, SigningKey key, Duration closeWait) {
        this.store = store;
        this.chain = chain;
        this.key = key;
        this.closeWait = closeWait;
        this.thread = new Thread(this::run, "warden-audit-witness");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    @Override
    public void checkpointWritten(ChainedRecord checkpoint) {
        synchronized (lock) {
            if (pending == null || checkpoint.seq() > pending.seq()) {
                pending = checkpoint;
                lock.notifyAll();
            }
        }
    }

    /** The seq of the newest head the store acknowledged (0: none yet). */
    public long publishedSeq() {
        synchronized (lock) {
            return publishedSeq;
        }
    }

    /** Waits until the store acknowledged a head at {@code seq} or later; false on timeout. */
    public boolean awaitPublished(long seq, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (publishedSeq < seq) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                lock.wait(left);
            }
            return true;
        }
    }

    public boolean healthy() {
        return !failing;
    }

    /**
     * Set when the first checkpoint of this run lies before the witness's latest head (or disagrees with it):
     * the log this proxy continues was cut short or replaced while it was down, and the witness could not be
     * reached at start ({@link WitnessAtStart} refuses such a log when it can). The run goes on and the error is
     * logged; the witness keeps the heads it had, and verify, which checks every head, keeps failing.
     */
    public java.util.Optional<String> conflict() {
        return java.util.Optional.ofNullable(conflict);
    }

    private void checkAgainstWitness(ChainedRecord first) throws IOException {
        java.util.Optional<WitnessHead> latest = store.latestSigned(chain,
                java.util.Map.of(key.id(), key.publicKey()));
        checkedAgainstWitness = true;
        if (latest.isEmpty()) {
            return;
        }
        WitnessHead head = latest.get();
        if (head.seq() > first.seq() || (head.seq() == first.seq() && !head.hash().equals(first.hash()))) {
            conflict = "the witness " + store.name() + " holds a head at " + head + ", but this log's checkpoint is "
                    + "at seq " + first.seq() + ": the log was cut short or replaced; 'warden audit verify "
                    + "--witness' will fail";
            log.error("audit log behind its witness chain={} {}", chain, conflict);
        }
    }

    private void run() {
        while (true) {
            ChainedRecord next;
            synchronized (lock) {
                while (pending == null && !closing) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (pending == null) {
                    return;
                }
                next = pending;
            }
            try {
                if (!checkedAgainstWitness) {
                    checkAgainstWitness(next);
                }
                store.publish(WitnessHead.sign(chain, next, key));
                synchronized (lock) {
                    publishedSeq = Math.max(publishedSeq, next.seq());
                    if (pending == next) {
                        pending = null;
                    }
                    lock.notifyAll();
                }
                if (failing) {
                    failing = false;
                    log.info("audit witness reachable again witness={} seq={}", store.name(), next.seq());
                }
            } catch (IOException | RuntimeException e) {
                if (!failing) {
                    failing = true;
                    log.warn("audit witness unavailable witness={} seq={} error={}; retrying", store.name(),
                            next.seq(), e.getMessage());
                }
                synchronized (lock) {
                    if (closing) {
                        return;
                    }
                    try {
                        lock.wait(RETRY_MILLIS);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closing = true;
            lock.notifyAll();
        }
        try {
            thread.join(closeWait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            log.warn("audit witness did not take the final head within {} witness={}", closeWait, store.name());
            thread.interrupt();
        }
        store.close();
    }
}
