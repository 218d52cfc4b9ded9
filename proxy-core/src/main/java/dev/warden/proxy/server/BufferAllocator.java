package dev.warden.proxy.server;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;

/**
 * The buffer allocator of Warden's client and upstream channels. Netty 4.2's default, the adaptive allocator,
 * made a new sliced buffer for each frame Warden splits off a read ({@code TypedFrameSplitter}) and a new NIO view
 * each time the {@code SslHandler} asked a buffer for one; the pooled allocator keeps one view per buffer (and the
 * frames are now plain slices, see {@code TypedFrameSplitter}). Measured under {@code pgbench -S -c16}
 * (bench/README.md, section of 2026-12-04 18:12): a fifth less sampled allocation per transaction, CPU per
 * transaction the same or lower. An operator's {@code -Dio.netty.allocator.type} still chooses.
 */
public final class BufferAllocator {

    static final String PROPERTY = "io.netty.allocator.type";

    private BufferAllocator() {
    }

    /** The pooled allocator, unless the operator named one (then Netty's default is the one named). */
    public static ByteBufAllocator forServing() {
        return System.getProperty(PROPERTY) == null ? PooledByteBufAllocator.DEFAULT : ByteBufAllocator.DEFAULT;
    }
}
