/**
 * The witness: signed checkpoint heads ({@link dev.warden.audit.witness.WitnessHead}: chain, seq, hash, time,
 * signature) kept outside the log's trust domain, in a PostgreSQL table, a Kafka topic or an HTTP endpoint
 * ({@link dev.warden.audit.witness.WitnessStore}), as a history: every head it took, never replaced. {@code warden
 * audit verify --witness} checks the log against all of them (the log's record at each head's seq must have its
 * hash, and the log must reach the latest), so a log cut short, or cut and continued past the old head, fails.
 *
 * <p>The log tells {@link dev.warden.audit.witness.WitnessPublisher} of each checkpoint through the narrow
 * {@link dev.warden.audit.CheckpointListener} hook, after the checkpoint is durable in the primary sink; the
 * publisher sends on its own thread, newest head only. Before a start continues a log directory,
 * {@link dev.warden.audit.witness.WitnessAtStart} compares it with the witness's latest head signed by the log's key
 * (or one published in its directory) and refuses a log that does not hold it; heads no such key signed, which
 * whoever can write to the store can add, count for nothing there (verify fails on them, naming them). Limits: a witness that is down never stops statements or a start (it is retried and
 * logged); the witness lags the log by the head in flight, so a cut of only the last, not yet witnessed,
 * checkpoints goes unnoticed; the start compares the latest head only, so a log continued once while the
 * witness was unreachable starts again later (verify keeps failing on it).
 */
package dev.warden.audit.witness;
