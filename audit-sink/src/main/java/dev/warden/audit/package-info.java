/**
 * The audit trail: {@link dev.warden.audit.AuditLog#open} gives the proxy a log that chains, signs and writes
 * typed events ({@code event}) to its sinks ({@code sink}) with group commit; {@code verify} proves a log
 * directory intact; {@code query} reads it for people.
 *
 * <h2>On disk</h2>
 * JSON lines in {@code audit-<first seq, 12 digits>.jsonl}; each line is canonical JSON with
 * {@code schema_version, id, ts, session, seq, prev, type} and the type's fields. {@code prev} is the hex SHA-256
 * of the previous line's bytes (64 zeros for seq 1). {@code checkpoint} records sign the chain (see
 * {@code chain}); public keys are published in {@code keys/<key id>.pub.pem}.
 *
 * <h2>Durability and failure</h2>
 * {@code append} completes once every durable sink has the record (file: fsync'd, or with
 * {@code audit.durability: write} written to the operating system and fsync'd within {@code sync_interval};
 * PostgreSQL: committed); on failure it completes with {@link dev.warden.audit.AuditUnavailableException}
 * naming the sink, and the next append tries again. A file that saw a failed write is never written again; nor
 * is any file after a restart.
 *
 * <h2>Threads</h2>
 * A record is serialized by {@code append} on the caller's thread ({@code event.CanonicalWriter}, no tree, no
 * map, no sort; ids from a per-process sequence). The writer thread only fills in {@code seq} and {@code prev}
 * (into the record's own array: the gaps are left at their final width), hashes, writes and syncs. Every write(2) runs on the writer thread, never on the appending thread (an event
 * loop): with {@code durability: write} the record is written to the OS there, then its future completes and the
 * session relays the statement; one write carries every record queued meanwhile, from all sessions.
 *
 * <h2>Torn tails</h2>
 * A crash or failing disk can leave bytes after the last newline of a file. They stay (old files are never
 * rewritten). On the next start, or the next write after a failure, the log writes a {@code recovery} record
 * as the first record of a new file naming each torn span (file, offset, length, SHA-256); its {@code prev} is
 * the hash of the last complete record. Verify accepts torn bytes only when exactly such a record follows;
 * torn bytes with nothing after them are reported as truncated. A torn record was never acknowledged, so no
 * statement it describes was forwarded.
 *
 * <h2>Unsigned tails after a crash</h2>
 * A process killed between checkpoints leaves records no signature covers. The next start reads back to the last
 * checkpoint (at most {@code checkpoint_every} records), names the range in the {@code recovery} record
 * ({@code unsigned: {from_seq, to_seq, count}}) and writes a checkpoint right after it, which the witness then
 * takes. Verify checks the range against the log; run on the log before the restart it warns of the range.
 *
 * <h2>Witness</h2>
 * With {@code audit.witness}, each signed checkpoint's head is also kept outside the log's trust domain
 * ({@code witness}); verify with the witness proves the log was not cut short. At shutdown the log writes a final
 * checkpoint, so it never ends on an unsigned tail, and the witness takes that head.
 *
 * <h2>Signing key</h2>
 * {@code audit.signing_key} (PKCS#8 PEM Ed25519). Without it, the key is generated on first start into
 * {@code <dir>/audit-signing-key.pem} (0600) and its public key logged: fine for trying Warden, not for
 * production, where the key must live outside the log directory (otherwise whoever can rewrite the log can
 * re-sign it).
 */
package dev.warden.audit;
