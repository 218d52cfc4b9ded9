package dev.warden.audit.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Records {@code fromSeq..toSeq} after the last checkpoint: chain-linked but signed by nobody. A crash leaves
 * one behind (a clean shutdown ends on a checkpoint); the next start names it in its {@code recovery} record
 * and signs it with the checkpoint that follows, so the gap between crash and restart is stated, not silent.
 * Empty when {@code toSeq < fromSeq}.
 */
public record UnsignedTail(long fromSeq, long toSeq) {

    public static final UnsignedTail NONE = new UnsignedTail(1, 0);

    public long count() {
        return Math.max(0, toSeq - fromSeq + 1);
    }

    public boolean isEmpty() {
        return count() == 0;
    }

    void write(ObjectNode out) {
        out.put("from_seq", fromSeq);
        out.put("to_seq", toSeq);
        out.put("count", count());
    }

    /** The {@code unsigned} object of a recovery record; {@link #NONE} when it has none. */
    public static UnsignedTail read(JsonNode recovery) {
        JsonNode node = recovery.path("unsigned");
        if (!node.isObject()) {
            return NONE;
        }
        return new UnsignedTail(node.path("from_seq").asLong(-1), node.path("to_seq").asLong(-1));
    }

    @Override
    public String toString() {
        return isEmpty() ? "none" : "seq " + fromSeq + "-" + toSeq + " (" + count() + " records)";
    }
}
