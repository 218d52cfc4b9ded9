package dev.warden.audit.chain;

import java.util.List;

/**
 * Where an existing log ends: the last complete record's seq, hash and type, the seq of the last checkpoint
 * ({@code signedThrough}, 0 if none), torn bytes after the last record that a {@code recovery} record must
 * name before anything else is written, and whether the last record is a clean stop's final checkpoint
 * ({@code endsFinal}: the next record written must be a checkpoint, which marks the new start).
 */
public record ChainPosition(long lastSeq, String lastHash, String lastType, long signedThrough,
                            List<TornTail> torn, boolean endsFinal) {

    public ChainPosition(long lastSeq, String lastHash, String lastType, long signedThrough, List<TornTail> torn) {
        this(lastSeq, lastHash, lastType, signedThrough, torn, false);
    }

    public ChainPosition {
        torn = List.copyOf(torn);
        if (signedThrough < 0 || signedThrough > lastSeq) {
            throw new IllegalArgumentException("signedThrough " + signedThrough + " outside 0.." + lastSeq);
        }
    }

    public static ChainPosition empty() {
        return new ChainPosition(0, RecordChain.GENESIS, "", 0, List.of());
    }

    /** The records after the last checkpoint, which no signature covers yet; empty when the log ends signed. */
    public UnsignedTail unsignedTail() {
        return new UnsignedTail(signedThrough + 1, lastSeq);
    }
}
