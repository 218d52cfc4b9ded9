/**
 * The witness: signed checkpoint heads ({@link dev.warden.audit.witness.WitnessHead}: chain, seq, hash, time,
 * signature) kept outside the log's trust domain, in a PostgreSQL table, a Kafka topic or an HTTP endpoint
 * ({@link dev.warden.audit.witness.WitnessStore}), so that {@code warden audit verify --witness} detects a log
 * cut short: it must reach the witness's latest head and hold the same record there.
 *
 * <p>The log tells {@link dev.warden.audit.witness.WitnessPublisher} of each checkpoint through the narrow
 * {@link dev.warden.audit.CheckpointListener} hook, after the checkpoint is durable in the primary sink; the
 * publisher sends on its own thread, newest head only. Limits: a witness that is down never stops statements (it
 * is retried and logged); the witness lags the log by the head in flight, so a cut of only the last, not yet
 * witnessed, checkpoints goes unnoticed. A proxy that continues a log cut short while it was down finds out at
 * its first checkpoint (the witness holds a higher head) and logs an error; it keeps serving, and the witness
 * keeps its higher head, so verify keeps failing.
 */
package dev.warden.audit.witness;
