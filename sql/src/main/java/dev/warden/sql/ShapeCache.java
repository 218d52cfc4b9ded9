package dev.warden.sql;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * A bounded map from a statement's shape ({@link Shape#parserText}) to its facts, least recently used first
 * out. Striped so that event loops analysing different shapes rarely wait on each other; each stripe is an
 * access-ordered {@link LinkedHashMap} under its own lock.
 */
final class ShapeCache {

    private static final int STRIPES = 16;

    private final Stripe[] stripes;
    final LongAdder hits = new LongAdder();
    final LongAdder misses = new LongAdder();

    ShapeCache(int capacity) {
        int stripes = Math.max(1, Math.min(STRIPES, capacity / 8));
        int perStripe = Math.max(1, (capacity + stripes - 1) / stripes);
        this.stripes = new Stripe[stripes];
        for (int i = 0; i < stripes; i++) {
            this.stripes[i] = new Stripe(perStripe);
        }
    }

    StatementFacts get(String shape) {
        Stripe s = stripe(shape);
        StatementFacts facts;
        synchronized (s) {
            facts = s.get(shape);
        }
        (facts == null ? misses : hits).increment();
        return facts;
    }

    void put(String shape, StatementFacts facts) {
        Stripe s = stripe(shape);
        synchronized (s) {
            s.put(shape, facts);
        }
    }

    int size() {
        int size = 0;
        for (Stripe s : stripes) {
            synchronized (s) {
                size += s.size();
            }
        }
        return size;
    }

    private Stripe stripe(String shape) {
        int h = shape.hashCode();
        return stripes[Math.floorMod(h ^ (h >>> 16), stripes.length)];
    }

    private static final class Stripe extends LinkedHashMap<String, StatementFacts> {
        private final int capacity;

        Stripe(int capacity) {
            super(16, 0.75f, true);
            this.capacity = capacity;
        }

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, StatementFacts> eldest) {
            return size() > capacity;
        }
    }
}
