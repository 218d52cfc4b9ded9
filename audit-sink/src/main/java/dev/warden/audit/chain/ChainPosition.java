package dev.warden.audit.chain;

import java.util.List;

/**
 * Where an existing log ends: the last complete record's seq, hash and type, and torn bytes after it that a
 * {@code recovery} record must name before anything else is written.
 */
public record ChainPosition(long lastSeq, String lastHash, String lastType, List<TornTail> torn) {

    public ChainPosition {
        torn = List.copyOf(torn);
    }

    public static ChainPosition empty() {
        return new ChainPosition(0, RecordChain.GENESIS, "", List.of());
    }
}
