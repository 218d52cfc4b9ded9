package dev.warden.masking;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;

/** Unpooled buffers, each remembered: a test asks how many are still held ({@link #held}). */
final class TrackingAllocator extends AbstractByteBufAllocator {

    private final List<ByteBuf> made = new ArrayList<>();

    TrackingAllocator() {
        super(false);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        ByteBuf b = Unpooled.buffer(initialCapacity, maxCapacity);
        made.add(b);
        return b;
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        ByteBuf b = Unpooled.directBuffer(initialCapacity, maxCapacity);
        made.add(b);
        return b;
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    /** How many buffers were made. */
    int made() {
        return made.size();
    }

    /** How many buffers it made are not released. */
    long held() {
        return made.stream().filter(b -> b.refCnt() > 0).count();
    }
}
