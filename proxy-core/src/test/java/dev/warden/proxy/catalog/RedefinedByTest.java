package dev.warden.proxy.catalog;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.Environment;
import dev.warden.config.Secret;
import dev.warden.config.TlsMode;
import dev.warden.config.Upstream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Which session's DDL redefined a name: a statement is not refused for its own session's DDL, sent before it, that
 * committed between its judgement and its sending (see {@link CatalogCache#namedRedefinedSince(Set, long, long)}),
 * and still is for another session's, even when its own session redefined the same name after that. Only the
 * bookkeeping: nothing here connects (the catalog reads nothing to record an invalidation).
 */
class RedefinedByTest {

    /** Sessions' numbers (ResultMasking.ddlAuthor): a number, so that the record keeps no session alive. */
    private final long own = 1;
    private final long other = 2;

    private static CatalogCache catalog() {
        Upstream upstream = new Upstream("127.0.0.1", 1, "app", "warden", Secret.none(), TlsMode.DISABLE,
                Optional.empty(), Duration.ofSeconds(5), false, "test", Optional.empty(), Duration.ofSeconds(1));
        return new CatalogCache(new Environment("redefined", upstream, List.of(), false, true, Optional.empty()),
                Runnable::run);
    }

    @Test
    void aSessionsOwnDdlDoesNotCountForItsStatements() {
        CatalogCache catalog = catalog();
        long judged = catalog.invalidations();
        catalog.invalidate(Set.of("v"), own);
        assertFalse(catalog.namedRedefinedSince(Set.of("v"), judged, own));
        assertFalse(catalog.redefinedSince(Set.of("v"), judged, own));
        assertTrue(catalog.namedRedefinedSince(Set.of("v"), judged, other), "for another session it counts");
        assertTrue(catalog.namedRedefinedSince(Set.of("v"), judged), "and when no session is named");
    }

    @Test
    void anotherSessionsDdlCountsEvenWhenTheSessionRedefinedTheNameAfterIt() {
        CatalogCache catalog = catalog();
        long judged = catalog.invalidations();
        catalog.invalidate(Set.of("t"), other);
        catalog.invalidate(Set.of("t"), own);
        catalog.invalidate(Set.of("t"), own);
        assertTrue(catalog.namedRedefinedSince(Set.of("t"), judged, own));
        long later = catalog.invalidations() - 2; // after the other session's, before the session's own two
        assertFalse(catalog.namedRedefinedSince(Set.of("t"), later, own));
        assertTrue(catalog.namedRedefinedSince(Set.of("t"), later, other), "the session's own count for the other");
        catalog.invalidate(Set.of("t"), other);
        assertTrue(catalog.namedRedefinedSince(Set.of("t"), later, own));
    }

    @Test
    void ddlOfNoKnownSessionCountsForEverySession() {
        CatalogCache catalog = catalog();
        long judged = catalog.invalidations();
        catalog.invalidate(Set.of("u"));
        catalog.invalidate(Set.of("u"), own);
        assertTrue(catalog.namedRedefinedSince(Set.of("u"), judged, own));
        // Dynamic SQL or the catalog channel: every name, for every session (an approved statement counts it).
        long now = catalog.invalidations();
        catalog.invalidate(null, own);
        assertTrue(catalog.redefinedSince(Set.of("w"), now, own));
    }

    /**
     * Reviewer's attack: DDL that names no name (dynamic SQL) dropped every name recorded, so another session's
     * trigger, committed a moment before, no longer counted for a statement sent at once.
     */
    @Test
    void ddlThatNamesNothingKeepsTheNamesRecorded() {
        CatalogCache catalog = catalog();
        long judged = catalog.invalidations();
        catalog.invalidate(Set.of("t"), other);
        catalog.invalidate(null, 3);
        assertTrue(catalog.namedRedefinedSince(Set.of("t"), judged, own));
    }

    /**
     * Reviewer's attack: past 4,096 names the record is dropped, and with it another session's trigger committed a
     * moment before (a table of 4,097 columns is enough). Once dropped, every name counts for a statement judged
     * before; for one judged after, only what is redefined since.
     */
    @Test
    void namesDroppedAsTooManyCountForEveryStatementJudgedBefore() {
        CatalogCache catalog = catalog();
        long judged = catalog.invalidations();
        catalog.invalidate(Set.of("t"), other);
        Set<String> many = new java.util.HashSet<>();
        for (int i = 0; i <= 4096; i++) {
            many.add("c" + i);
        }
        catalog.invalidate(many, 3);
        catalog.invalidate(Set.of("x"), 3); // the record is past 4,096: dropped
        assertTrue(catalog.namedRedefinedSince(Set.of("t"), judged, own));
        assertTrue(catalog.namedRedefinedSince(Set.of("unrelated"), judged, own));
        long after = catalog.invalidations();
        assertFalse(catalog.namedRedefinedSince(Set.of("t"), after, own));
        catalog.invalidate(Set.of("t"), other);
        assertTrue(catalog.namedRedefinedSince(Set.of("t"), after, own));
    }
}
