package dev.warden.proxy.server;

import static org.junit.jupiter.api.Assertions.assertSame;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** Warden's channels allocate from the pooled allocator unless the operator names one (issue 16, item 5). */
class BufferAllocatorTest {

    @Test
    void pooledByDefaultAndTheNettySettingStillChooses() {
        String before = System.getProperty(BufferAllocator.PROPERTY);
        try {
            System.clearProperty(BufferAllocator.PROPERTY);
            assertSame(PooledByteBufAllocator.DEFAULT, BufferAllocator.forServing());
            System.setProperty(BufferAllocator.PROPERTY, "adaptive");
            // Netty read the property once, when ByteBufAllocator was loaded: its default is whatever was named then.
            assertSame(ByteBufAllocator.DEFAULT, BufferAllocator.forServing());
        } finally {
            if (before == null) {
                System.clearProperty(BufferAllocator.PROPERTY);
            } else {
                System.setProperty(BufferAllocator.PROPERTY, before);
            }
        }
    }
}
