/**
 * The hash chain and its signatures: {@link dev.warden.audit.chain.RecordChain} assigns {@code seq} and
 * {@code prev} (hex SHA-256 of the previous record's canonical bytes; 64 zeros before the first record) and
 * builds {@code checkpoint} and {@code recovery} records; {@link dev.warden.audit.chain.SigningKey} holds the
 * Ed25519 key; {@link dev.warden.audit.chain.LogFiles} names files and finds torn tails.
 *
 * <p>Why checkpoints and not a signature per record: the JDK 17 Ed25519 signer measured about 0.7 ms per
 * signature on the development machine (AuditLogTest prints it), far more than the rest of an append; one
 * writer signing every record would be capped near 1 500 records/s. A checkpoint signs the seq and hash of the record before it, so one signature covers every record
 * up to it through the chain. The price: records after the last checkpoint are chain-checked but unsigned
 * (verify warns of them with their seq range, {@link dev.warden.audit.chain.UnsignedTail}; after a crash the next
 * start names them in its {@code recovery} record and signs them at once); checkpoints come every {@code checkpoint_every} records, every
 * {@code checkpoint_interval}, and at clean shutdown.
 */
package dev.warden.audit.chain;
