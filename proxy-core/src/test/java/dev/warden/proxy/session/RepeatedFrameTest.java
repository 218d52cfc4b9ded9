package dev.warden.proxy.session;

import dev.warden.pg.message.BackendMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class RepeatedFrameTest {

    private final AtomicInteger decodes = new AtomicInteger();
    private final RepeatedFrame<String> tags = new RepeatedFrame<>(frame -> {
        decodes.incrementAndGet();
        return ((BackendMessage.CommandComplete) BackendMessage.decode(frame)).tag();
    });

    private static ByteBuf commandComplete(String tag) {
        ByteBuf frame = Unpooled.buffer();
        new BackendMessage.CommandComplete(tag).writeTo(frame);
        return frame;
    }

    @Test
    void aFrameByteForByteTheLastOneIsNotDecodedAgain() {
        ByteBuf first = commandComplete("SELECT 1");
        ByteBuf second = commandComplete("SELECT 1");
        String a = tags.decode(first);
        String b = tags.decode(second);
        assertEquals("SELECT 1", a);
        assertSame(a, b);
        assertEquals(1, decodes.get());
        // Neither frame was consumed: the relay still forwards them.
        assertEquals(0, first.readerIndex());
        assertEquals(0, second.readerIndex());
    }

    @Test
    void anyDifferentByteDecodesAgain() {
        assertEquals("SELECT 1", tags.decode(commandComplete("SELECT 1")));
        assertEquals("SELECT 2", tags.decode(commandComplete("SELECT 2")));
        assertEquals("INSERT 0 1", tags.decode(commandComplete("INSERT 0 1")));
        assertEquals("SELECT 2", tags.decode(commandComplete("SELECT 2")));
        assertEquals(4, decodes.get());
    }

    @Test
    void aFrameInsideALargerBufferIsComparedFromItsReaderIndex() {
        ByteBuf read = Unpooled.buffer();
        read.writeBytes(commandComplete("UPDATE 3"));
        int second = read.writerIndex();
        read.writeBytes(commandComplete("UPDATE 3"));
        assertEquals("UPDATE 3", tags.decode(read.slice(0, second)));
        assertEquals("UPDATE 3", tags.decode(read.slice(second, read.writerIndex() - second)));
        assertEquals(1, decodes.get());
    }

    @Test
    void framesLongerThanTheLimitAreDecodedEachTime() {
        String tag = "SELECT " + "9".repeat(RepeatedFrame.MAX_KEPT);
        tags.decode(commandComplete(tag));
        tags.decode(commandComplete(tag));
        assertEquals(2, decodes.get());
    }

    /** Generated tags (seed printed): the value is always what decoding the frame itself gives. */
    @Test
    void alwaysTheValueTheFrameDecodesTo() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<String> verbs = List.of("SELECT ", "INSERT 0 ", "UPDATE ", "DELETE ", "FETCH ");
        for (int i = 0; i < 2000; i++) {
            String tag = verbs.get(random.nextInt(verbs.size())) + random.nextInt(random.nextBoolean() ? 3 : 100_000);
            assertEquals(tag, tags.decode(commandComplete(tag)), "seed " + seed + ", step " + i);
        }
    }
}
