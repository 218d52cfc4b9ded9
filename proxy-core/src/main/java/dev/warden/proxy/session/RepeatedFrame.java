package dev.warden.proxy.session;

import io.netty.buffer.ByteBuf;

import java.util.Arrays;
import java.util.function.Function;

/**
 * What one kind of backend message decoded to last time, kept with the message's bytes. A session repeats its
 * statements, so a result's RowDescription and its CommandComplete are mostly byte for byte the ones before: such
 * a frame is compared with the kept bytes (one copy and one vectorised compare) instead of decoded again, and the
 * same immutable value comes back, which later steps compare by identity first. Equal bytes decode to an equal
 * value, so nothing here can differ from decoding. Event loop only.
 *
 * @param <T> the decoded value; must be immutable
 */
final class RepeatedFrame<T> {

    /** Frames longer than this are decoded every time (and not kept). */
    static final int MAX_KEPT = 2048;

    private final Function<ByteBuf, T> decode;
    private byte[] kept = new byte[64];
    private int keptLength = -1;
    private byte[] scratch = new byte[64];
    private T value;

    RepeatedFrame(Function<ByteBuf, T> decode) {
        this.decode = decode;
    }

    /** The value {@code frame} (a whole message, type byte first) decodes to. Does not move its indexes. */
    T decode(ByteBuf frame) {
        int n = frame.readableBytes();
        if (n > MAX_KEPT) {
            return decode.apply(frame);
        }
        if (scratch.length < n) {
            scratch = new byte[Math.max(n, scratch.length * 2)];
        }
        frame.getBytes(frame.readerIndex(), scratch, 0, n);
        if (n == keptLength && Arrays.equals(scratch, 0, n, kept, 0, n)) {
            return value;
        }
        T decoded = decode.apply(frame);
        // The decoded bytes become the kept ones: swap the arrays rather than copy.
        byte[] old = kept;
        kept = scratch;
        scratch = old;
        keptLength = n;
        value = decoded;
        return decoded;
    }
}
