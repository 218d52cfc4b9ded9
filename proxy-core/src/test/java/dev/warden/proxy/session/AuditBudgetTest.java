package dev.warden.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Budgets;
import org.junit.jupiter.api.Test;

/** The audit budget's arithmetic, without sockets: chunks, the identity's share, a budget turned off. */
class AuditBudgetTest {

    /** A refill so slow that the tests' own duration adds nothing that matters (1 KiB a second). */
    private static final Budgets.AuditRate ONE_MIB = new Budgets.AuditRate(1 << 20, 1024);

    @Test
    void sessionsOfOneIdentityShareItsBucketAndTakeItInChunks() {
        AuditBudget budget = new AuditBudget();
        AuditBudget.Allowance a = new AuditBudget.Allowance(budget, "alice");
        AuditBudget.Allowance b = new AuditBudget.Allowance(budget, "alice");
        // 1 MiB / 64 = 16 KiB a chunk: a's first short statement takes one, and its next ones spend it locally.
        assertTrue(a.spend(ONE_MIB, 100));
        long left = budget.take("alice", ONE_MIB, 0, 0);
        assertEquals(0, left, "taking nothing takes nothing");
        int ran = 0;
        while (a.spend(ONE_MIB, 200 * 1024) || b.spend(ONE_MIB, 200 * 1024)) {
            ran++;
        }
        // Together, not each: 1 MiB (plus the refill meanwhile) of 200 KiB statements is five of them.
        assertEquals(5, ran, "two sessions together ran " + ran);
    }

    @Test
    void aTextLongerThanTheBurstNeverFitsAndCostsNothing() {
        AuditBudget budget = new AuditBudget();
        AuditBudget.Allowance a = new AuditBudget.Allowance(budget, "bob");
        assertFalse(a.spend(ONE_MIB, (1 << 20) + 1));
        // Nothing was taken for it: the whole burst is still there.
        assertTrue(a.spend(ONE_MIB, 1 << 20));
    }

    @Test
    void anotherIdentityHasItsOwnBucket() {
        AuditBudget budget = new AuditBudget();
        AuditBudget.Allowance a = new AuditBudget.Allowance(budget, "carol");
        assertTrue(a.spend(ONE_MIB, 1 << 20));
        assertFalse(a.spend(ONE_MIB, 64 * 1024));
        assertTrue(new AuditBudget.Allowance(budget, "dave").spend(ONE_MIB, 1 << 20));
    }

    @Test
    void aBudgetTurnedOffAppliesToTheNextStatement() throws InterruptedException {
        AuditBudget budget = new AuditBudget();
        AuditBudget.Allowance a = new AuditBudget.Allowance(budget, "erin");
        assertTrue(a.spend(ONE_MIB, 1 << 20));
        assertFalse(a.spend(ONE_MIB, 64 * 1024));
        assertTrue(a.spend(null, 64L << 20), "off: no limit");
        Thread.sleep(10); // at least 10 ms: 10 MB at 1 GiB a second, the 1 MiB burst full again
        assertTrue(a.spend(new Budgets.AuditRate(1 << 20, 1 << 30), 64 * 1024),
                "a reload to a faster refill applies at the next take");
    }

    /**
     * A result's columns are charged after they were recorded: what the session's allowance lacks, the identity's
     * bucket owes, and no session of the identity records anything until the refill has paid it.
     */
    @Test
    void whatARecordedResultOverdrawsIsOwedByTheIdentity() {
        AuditBudget budget = new AuditBudget();
        AuditBudget.Allowance a = new AuditBudget.Allowance(budget, "frank");
        AuditBudget.Allowance b = new AuditBudget.Allowance(budget, "frank");
        assertTrue(a.spend(ONE_MIB, 1 << 20), "the whole burst");
        a.charge(ONE_MIB, 256 * 1024);
        assertFalse(a.spend(ONE_MIB, 1), "the session owes 256 KiB");
        assertFalse(b.spend(ONE_MIB, 1), "and so does every other session of the identity");
        assertTrue(new AuditBudget.Allowance(budget, "grace").spend(ONE_MIB, 1 << 20), "not another identity");
        a.charge(null, 1L << 40);
        assertTrue(a.spend(null, 1), "off: nothing is charged or owed");
    }

    @Test
    void aChargeWithinTheAllowanceTakesNothingFromTheBucket() {
        AuditBudget budget = new AuditBudget();
        AuditBudget.Allowance a = new AuditBudget.Allowance(budget, "heidi");
        // The first spend takes 100 bytes and a chunk (16 KiB here).
        assertTrue(a.spend(ONE_MIB, 100));
        a.charge(ONE_MIB, 1000);
        AuditBudget.Allowance b = new AuditBudget.Allowance(budget, "heidi");
        // The bucket still holds the burst less what a took (1,000 bytes less would not hold this).
        assertTrue(b.spend(ONE_MIB, (1 << 20) - 16 * 1024 - 100 - 900));
        assertFalse(b.spend(ONE_MIB, 16 * 1024));
    }

    /**
     * Full buckets are dropped once there are many identities; a loop that found a bucket before it was dropped must
     * not spend from it (the spend would be lost and the identity's next bucket full): a retired bucket sends it back
     * to the map.
     */
    @Test
    void aRetiredBucketIsNeverSpentFrom() {
        long now = System.nanoTime();
        AuditBudget.Bucket b = new AuditBudget.Bucket(ONE_MIB, now);
        assertTrue(b.retireIfFull(now), "a full bucket retires");
        assertEquals(AuditBudget.Bucket.RETIRED, b.take(ONE_MIB, now, 1, 1));
        assertFalse(b.owe(ONE_MIB, now, 1));
        Budgets.AuditRate fast = new Budgets.AuditRate(1 << 20, 1 << 20);
        AuditBudget.Bucket spent = new AuditBudget.Bucket(fast, now);
        assertEquals((1 << 20) - 1024, spent.take(fast, now, (1 << 20) - 1024, (1 << 20) - 1024));
        assertFalse(spent.retireIfFull(now), "a bucket that is not full stays: it says what the identity spent");
        // Another loop's clock read, taken before this one's refill: a second older, at 1 MiB a second.
        assertEquals(1024, spent.take(fast, now - 1_000_000_000L, 1024, 1024),
                "a clock read older than the last refill adds nothing and takes nothing");
    }
}
