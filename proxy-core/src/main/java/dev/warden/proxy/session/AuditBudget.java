package dev.warden.proxy.session;

import dev.warden.config.Budgets;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How many bytes of records the statements of one identity's sessions may together put into the audit trail
 * ({@code budgets.audit.per_identity}): one token bucket per identity, refilled continuously. A statement whose
 * records would overdraw it is refused before it runs, and its record names the text instead of holding it
 * (StatementGate); a result record's column list, known once the statement ran, is charged then, and may leave the
 * bucket owing ({@link Allowance#charge}). One identity cannot fill the audit volume, and so, with
 * {@code on_failure: refuse}, stop everyone.
 *
 * <p>Every statement of every session passes here on an event loop, and an identity's sessions live on different
 * loops. So a session does not ask the identity's bucket for each statement: it takes a chunk ({@link #CHUNK}, less
 * for small buckets) and spends it itself ({@link Allowance}, a field only its own event loop touches); a statement
 * costs a subtraction, and the bucket's lock is taken once per chunk. What sessions hold unspent is at most a chunk
 * each: the bound an identity can pass its budget by, summed over its open sessions.
 *
 * <p>The bucket's sizes are the policy's in force, read at each take: a reload applies to the next chunk, and a
 * budget turned {@code off} to the next statement.
 */
public final class AuditBudget {

    private static final AttributeKey<AuditBudget> KEY = AttributeKey.valueOf("warden.audit-budget");
    /** What a session takes from its identity's bucket at once, at most: 64 KiB, 300 short statements. */
    static final long CHUNK = 64 * 1024;
    private static final int MAX_BUCKETS = 100_000;

    private final ConcurrentHashMap<String, Bucket> identities = new ConcurrentHashMap<>();

    /** Makes this budget the one sessions on {@code channel} use. */
    public void attachTo(Channel channel) {
        channel.attr(KEY).set(this);
    }

    /** The allowance of a session of {@code identity} on {@code channel}; null (no limit) for channels without one. */
    static Allowance allowanceFor(Channel channel, String identity) {
        AuditBudget budget = channel == null ? null : channel.attr(KEY).get();
        return budget == null ? null : new Allowance(budget, identity);
    }

    /**
     * Takes at least {@code need} and at most {@code want} bytes from {@code identity}'s bucket, or nothing (0) when
     * it holds less than {@code need}.
     */
    long take(String identity, Budgets.AuditRate limits, long need, long want) {
        return take(identities, identity, limits, need, want);
    }

    private static long take(ConcurrentHashMap<String, Bucket> buckets, String identity, Budgets.AuditRate limits,
                             long need, long want) {
        long now = System.nanoTime();
        if (buckets.size() > MAX_BUCKETS) {
            // Full buckets carry no information: drop them.
            buckets.values().removeIf(b -> b.retireIfFull(now));
        }
        while (true) {
            long granted = buckets.computeIfAbsent(identity, k -> new Bucket(limits, now)).take(limits, now, need, want);
            if (granted != Bucket.RETIRED) {
                return granted;
            }
        }
    }

    /**
     * How many {@code audit-capacity} refusals an identity's sessions record one by one (each naming its text by
     * length and SHA-256), together: at once, and then a second. The rest are counted in the next such record of
     * their session, or in one at its end. Per identity, not per session: a client that logged in again for each
     * burst of refusals would otherwise write them all (attacker pass of c9c64c8).
     */
    static final int REFUSAL_RECORD_BURST = 32;
    static final int REFUSAL_RECORDS_PER_SECOND = 4;
    /** The refusal records' bucket counts records, not bytes. */
    private static final Budgets.AuditRate REFUSAL_RECORDS = new Budgets.AuditRate(REFUSAL_RECORD_BURST,
            REFUSAL_RECORDS_PER_SECOND);

    private final ConcurrentHashMap<String, Bucket> refusals = new ConcurrentHashMap<>();

    /** Whether {@code identity} may record one more refusal one by one now (taking it), see above. */
    boolean mayRecordRefusal(String identity) {
        return take(refusals, identity, REFUSAL_RECORDS, 1, 1) == 1;
    }

    /** Takes {@code bytes} from {@code identity}'s bucket whatever it holds: it may go below empty. */
    void owe(String identity, Budgets.AuditRate limits, long bytes) {
        long now = System.nanoTime();
        while (!identities.computeIfAbsent(identity, k -> new Bucket(limits, now)).owe(limits, now, bytes)) {
            // Retired meanwhile: the next lookup makes the identity a new bucket.
        }
    }

    /**
     * One session's allowance: bytes taken from its identity's bucket and not recorded yet. Used on the session's
     * event loop only.
     */
    static final class Allowance {
        private final AuditBudget budget;
        private final String identity;
        private long left;

        Allowance(AuditBudget budget, String identity) {
            this.budget = budget;
            this.identity = identity;
        }

        /**
         * Spends {@code bytes} for a record, taking more from the identity's bucket when needed; false (nothing spent)
         * when the bucket has not enough: the text must not be recorded. {@code limits} null: no limit.
         */
        boolean spend(Budgets.AuditRate limits, long bytes) {
            if (limits == null || bytes <= left) {
                if (limits != null) {
                    left -= bytes;
                }
                return true;
            }
            long need = bytes - left;
            long granted = budget.take(identity, limits, need, need + Math.min(CHUNK, limits.bytesBurst() / 64));
            if (granted < need) {
                return false;
            }
            left += granted - bytes;
            return true;
        }

        /** Whether this identity may record one more {@code audit-capacity} refusal one by one now. */
        boolean mayRecordRefusal() {
            return budget.mayRecordRefusal(identity);
        }

        /**
         * Charges {@code bytes} already recorded (a result record's columns, known only once the statement ran): from
         * this allowance, and what it lacks from the identity's bucket, which may go below empty; the identity's next
         * statements (of any session) then wait for the refill to pay that first. So an identity's log grows by at
         * most its budget and the results its running statements have not reported yet. {@code limits} null: no
         * limit.
         */
        void charge(Budgets.AuditRate limits, long bytes) {
            if (limits == null || bytes <= 0) {
                return;
            }
            if (bytes <= left) {
                left -= bytes;
                return;
            }
            budget.owe(identity, limits, bytes - left);
            left = 0;
        }
    }

    /** A token bucket of bytes, refilled by the limits in force at each use, so that a reload applies at once. */
    static final class Bucket {
        /** What {@link #take} answers once the bucket was dropped from the map: look the identity up again. */
        static final long RETIRED = -1;
        private Budgets.AuditRate limits;
        /**
         * Dropped from the map ({@link #retireIfFull}): a loop that found it before must not spend from it (what it
         * took would be lost, and the identity's next bucket full).
         */
        private boolean retired;
        private double bytes;
        private long refilledAt;

        Bucket(Budgets.AuditRate limits, long now) {
            this.limits = limits;
            this.bytes = limits.bytesBurst();
            this.refilledAt = now;
        }

        synchronized long take(Budgets.AuditRate current, long now, long need, long want) {
            if (retired) {
                return RETIRED;
            }
            limits = current;
            refill(now);
            if (bytes < need) {
                return 0;
            }
            long granted = (long) Math.min(bytes, want);
            bytes -= granted;
            return granted;
        }

        /** False when the bucket was retired: owe it to the identity's next bucket. */
        synchronized boolean owe(Budgets.AuditRate current, long now, long owed) {
            if (retired) {
                return false;
            }
            limits = current;
            refill(now);
            bytes -= owed;
            return true;
        }

        /** Retires the bucket when it is full (it carries no information); true: drop it from the map. */
        synchronized boolean retireIfFull(long now) {
            refill(now);
            retired = bytes >= limits.bytesBurst();
            return retired;
        }

        private void refill(long now) {
            if (now <= refilledAt) {
                // Another loop refilled it with a later clock read: nothing to add (a negative time would take).
                return;
            }
            double seconds = (now - refilledAt) / 1e9;
            refilledAt = now;
            bytes = Math.min(limits.bytesBurst(), bytes + seconds * limits.bytesPerSecond());
        }
    }
}
