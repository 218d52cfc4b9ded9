package dev.warden.sql;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A bounded map from a statement's shape ({@link Shape#parserText}) to its facts. Every event loop reads it for
 * every statement, so a hit writes nothing shared: no lock, and no least-recently-used list to relink (an
 * access-ordered map under a lock moved the same entry on every hit, from both cores, and the lock and the list's
 * cache lines went back and forth between them). Eviction is a second-chance sweep instead: an entry read since the
 * last sweep is marked (written only when it was not, so a hot entry's line stays shared between cores), and when a
 * put overflows the bound, unmarked entries go first and marked ones lose their mark.
 */
final class ShapeCache {

    private final int capacity;
    private final ConcurrentHashMap<String, Entry> entries;
    final LongAdder hits = new LongAdder();
    final LongAdder misses = new LongAdder();

    /** The facts, and whether they were read since the last sweep (a benign race: a lost mark costs one parse). */
    private static final class Entry {
        final StatementFacts facts;
        volatile boolean used;

        Entry(StatementFacts facts) {
            this.facts = facts;
            this.used = true; // survives the sweep that its own put may start
        }
    }

    ShapeCache(int capacity) {
        this.capacity = Math.max(1, capacity);
        this.entries = new ConcurrentHashMap<>();
    }

    StatementFacts get(String shape) {
        Entry e = entries.get(shape);
        if (e == null) {
            misses.increment();
            return null;
        }
        if (!e.used) {
            e.used = true;
        }
        hits.increment();
        return e.facts;
    }

    void put(String shape, StatementFacts facts) {
        entries.put(shape, new Entry(facts));
        if (entries.size() > capacity) {
            sweep(shape);
        }
    }

    /** Puts are rare (a cold parse, on the analysis lanes), so one sweep at a time is enough. */
    private synchronized void sweep(String kept) {
        int target = capacity - Math.max(1, capacity / 8);
        for (int pass = 0; pass < 2 && entries.size() > target; pass++) {
            Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
            while (it.hasNext() && entries.size() > target) {
                Map.Entry<String, Entry> e = it.next();
                if (e.getKey().equals(kept)) {
                    continue;
                }
                if (e.getValue().used && pass == 0) {
                    e.getValue().used = false;
                } else {
                    it.remove();
                }
            }
        }
    }

    /** The characters of the texts the entries' facts hold (for tests: entries must not pin clients' texts). */
    long textChars() {
        long chars = 0;
        for (Entry e : entries.values()) {
            chars += e.facts.text().length();
        }
        return chars;
    }

    int size() {
        return entries.size();
    }
}
