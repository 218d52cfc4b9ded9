package dev.warden.audit.event;

import java.time.Instant;

/**
 * A record serialized on the thread that appended it, short of the two things only the chain knows: the
 * previous record's hash ({@code prev}, always 64 hex digits) and the record's {@code seq}. {@link #line} fills
 * them in with two copies, so linking a record costs a copy and a hash.
 *
 * @param bytes  the canonical record with both values left out
 * @param prevAt offset in {@code bytes} where the hash goes (between the quotes of {@code "prev":""})
 * @param seqAt  offset in {@code bytes} where the decimal seq goes
 */
public record RecordTemplate(byte[] bytes, int prevAt, int seqAt, String type, String session, Instant ts) {

    private static final int HASH_LENGTH = 64;

    /** Serializes {@code event} on the calling thread. */
    public static RecordTemplate of(AuditEvent event) {
        return CanonicalWriter.forThisThread().record(event);
    }

    /** The record's canonical bytes as the {@code seq}-th record after the record whose hash is {@code prev}. */
    public byte[] line(String prev, long seq) {
        if (prev.length() != HASH_LENGTH) {
            throw new IllegalArgumentException("prev must be 64 hex digits: " + prev);
        }
        int seqLength = decimalLength(seq);
        byte[] line = new byte[bytes.length + HASH_LENGTH + seqLength];
        System.arraycopy(bytes, 0, line, 0, prevAt);
        for (int i = 0; i < HASH_LENGTH; i++) {
            line[prevAt + i] = (byte) prev.charAt(i);
        }
        int at = prevAt + HASH_LENGTH;
        System.arraycopy(bytes, prevAt, line, at, seqAt - prevAt);
        at += seqAt - prevAt;
        long v = seq;
        for (int i = at + seqLength - 1; i >= at; i--) {
            line[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        at += seqLength;
        System.arraycopy(bytes, seqAt, line, at, bytes.length - seqAt);
        return line;
    }

    private static int decimalLength(long seq) {
        if (seq < 1) {
            throw new IllegalArgumentException("seq starts at 1: " + seq);
        }
        int digits = 1;
        for (long v = seq; v >= 10; v /= 10) {
            digits++;
        }
        return digits;
    }
}
