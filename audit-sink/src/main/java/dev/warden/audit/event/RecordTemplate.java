package dev.warden.audit.event;

import java.time.Instant;

/**
 * A record serialized on the thread that appended it, short of the two things only the chain knows: the
 * previous record's hash ({@code prev}, always 64 hex digits) and the record's {@code seq}. Both gaps are left at
 * their final width (the seq's as wide as the seq the log expected when the record was built), so
 * {@link #link} writes them into the template's own array, which then is the record's line: one array per record,
 * filled once. Only when the seq turns out wider or narrower (the log passed a power of ten meanwhile) is the
 * line built in a new array.
 *
 * <p>A template is linked once, by the log's writer; linking it again writes over the line the first link
 * returned.
 */
public final class RecordTemplate {

    private static final int HASH_LENGTH = 64;

    private final byte[] bytes;
    private final int prevAt;
    private final int seqAt;
    private final int seqWidth;
    private final String type;
    private final String session;
    private final Instant ts;

    /**
     * @param bytes    the canonical record with both gaps
     * @param prevAt   offset in {@code bytes} of the 64 digits of the hash (between the quotes of {@code "prev"})
     * @param seqAt    offset in {@code bytes} of the seq's digits
     * @param seqWidth how many digits the seq's gap holds
     */
    RecordTemplate(byte[] bytes, int prevAt, int seqAt, int seqWidth, String type, String session, Instant ts) {
        this.bytes = bytes;
        this.prevAt = prevAt;
        this.seqAt = seqAt;
        this.seqWidth = seqWidth;
        this.type = type;
        this.session = session;
        this.ts = ts;
    }

    /** Serializes {@code event} on the calling thread, with room for a seq as long as {@code expectedSeq}. */
    public static RecordTemplate of(AuditEvent event, long expectedSeq) {
        return CanonicalWriter.forThisThread().record(event, expectedSeq);
    }

    /** {@link #of(AuditEvent, long)} for a one-digit seq. */
    public static RecordTemplate of(AuditEvent event) {
        return of(event, 1);
    }

    /** The serialized record; the gaps hold unspecified bytes until {@link #link} fills them (then: the line). */
    public byte[] bytes() {
        return bytes;
    }

    public String type() {
        return type;
    }

    public String session() {
        return session;
    }

    public Instant ts() {
        return ts;
    }

    /**
     * The record's canonical bytes as the {@code seq}-th record after the record whose hash is the 64 lowercase
     * hex digits {@code prevHex}: written into this template's array when the seq fits its gap.
     */
    public byte[] link(byte[] prevHex, long seq) {
        if (prevHex.length != HASH_LENGTH) {
            throw new IllegalArgumentException("prev must be 64 hex digits, not " + prevHex.length);
        }
        if (seq < 1) {
            throw new IllegalArgumentException("seq starts at 1: " + seq);
        }
        int width = decimalLength(seq);
        byte[] line = bytes;
        if (width != seqWidth) {
            line = new byte[bytes.length - seqWidth + width];
            System.arraycopy(bytes, 0, line, 0, seqAt);
            System.arraycopy(bytes, seqAt + seqWidth, line, seqAt + width, bytes.length - seqAt - seqWidth);
        }
        System.arraycopy(prevHex, 0, line, prevAt, HASH_LENGTH);
        long v = seq;
        for (int i = seqAt + width - 1; i >= seqAt; i--) {
            line[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        return line;
    }

    /** Decimal digits of a positive number, by comparison rather than division (once per number written). */
    static int decimalLength(long value) {
        long bound = 10;
        for (int digits = 1; digits < 19; digits++) {
            if (value < bound) {
                return digits;
            }
            bound *= 10;
        }
        return 19;
    }
}
