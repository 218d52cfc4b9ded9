package dev.warden.audit.chain;

import java.time.Instant;

/** A record as written: its canonical bytes (no newline), their hash, and the fields sinks index by. */
public record ChainedRecord(long seq, String type, String session, Instant ts, byte[] line, String hash) {
}
