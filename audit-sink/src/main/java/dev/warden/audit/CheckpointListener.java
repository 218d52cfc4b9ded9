package dev.warden.audit;

import dev.warden.audit.chain.ChainedRecord;

/**
 * The narrow hook through which the log tells others that a signed checkpoint is durable in the primary sink:
 * the witness publishes its head from here. Called on the log's writer thread, in seq order, so it must only
 * hand the record over, never do I/O.
 */
public interface CheckpointListener {

    CheckpointListener NONE = checkpoint -> { };

    void checkpointWritten(ChainedRecord checkpoint);

    /** Called once, after the log wrote its final checkpoint and closed its sinks. */
    default void close() {
    }
}
