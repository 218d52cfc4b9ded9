package dev.warden.audit.chain;

import java.time.Instant;
import java.util.HexFormat;

/**
 * A record as written: its canonical bytes (no newline), their SHA-256, and the fields sinks index by. The hash
 * is kept as the digest's 32 bytes; {@link #hash()} spells it in hex for the sinks and checks that want text,
 * so linking a record makes no String.
 */
public record ChainedRecord(long seq, String type, String session, Instant ts, byte[] line, byte[] sha256) {

    private static final HexFormat HEX = HexFormat.of();

    /** A record whose hash is known as 64 hex digits (a record read back, a test's). */
    public ChainedRecord(long seq, String type, String session, Instant ts, byte[] line, String hash) {
        this(seq, type, session, ts, line, HEX.parseHex(hash));
    }

    /** The hash as 64 lowercase hex digits, the form records name it in ({@code prev}). */
    public String hash() {
        return HEX.formatHex(sha256);
    }
}
