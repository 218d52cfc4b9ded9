package dev.warden.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * What reaches the handler below {@link TlsWriteBatch} (the SslHandler in Warden): the same bytes in the same
 * order as written, with small void-promise messages gathered between flushes, and nothing leaked.
 */
class TlsWriteBatchTest {

    /** Records what reaches it, as the SslHandler would see it: each write's bytes, and flushes and closes. */
    private static final class Below extends ChannelOutboundHandlerAdapter {
        final List<String> events = new ArrayList<>();
        final List<Object> written = new ArrayList<>();
        final StringBuilder bytes = new StringBuilder();
        /** While set, writes are kept, not released (as the SslHandler keeps them during its handshake). */
        boolean hold;
        final List<ByteBuf> held = new ArrayList<>();
        final List<String> heldText = new ArrayList<>();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            ByteBuf buf = (ByteBuf) msg;
            String text = buf.toString(StandardCharsets.ISO_8859_1);
            events.add("write " + (promise.isVoid() ? "" : "promised ") + text.length());
            bytes.append(text);
            written.add(msg);
            if (hold) {
                held.add(buf);
                heldText.add(text);
            } else {
                buf.release();
            }
            promise.trySuccess();
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
            events.add("flush");
        }

        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
            events.add("close");
            super.close(ctx, promise);
        }
    }

    private static ByteBuf message(char c, int size) {
        return Unpooled.directBuffer(size).writeBytes(String.valueOf(c).repeat(size).getBytes(StandardCharsets.ISO_8859_1));
    }

    /**
     * A message of {@code size} bytes {@code c} as Warden's handlers write them: a direct buffer, a heap one, a
     * retained slice of a larger frame buffer (what the relay passes on), or one whose first bytes were read.
     */
    private static ByteBuf message(char c, int size, SplittableRandom random) {
        byte[] body = String.valueOf(c).repeat(size).getBytes(StandardCharsets.ISO_8859_1);
        switch (random.nextInt(4)) {
            case 0:
                return message(c, size);
            case 1:
                return Unpooled.buffer(size).writeBytes(body);
            case 2: {
                ByteBuf frame = Unpooled.directBuffer(size + 20).writeBytes(new byte[7]).writeBytes(body)
                        .writeBytes(new byte[13]);
                ByteBuf slice = frame.retainedSlice(7, size);
                frame.release();
                return slice;
            }
            default: {
                ByteBuf read = Unpooled.directBuffer(size + 9).writeBytes(new byte[9]).writeBytes(body);
                read.skipBytes(9);
                return read;
            }
        }
    }

    private static EmbeddedChannel channel(Below below, UnpooledByteBufAllocator alloc) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc);
        ch.pipeline().addLast("tls", below);
        ch.pipeline().addAfter("tls", "batch", new TlsWriteBatch());
        return ch;
    }

    @Test
    void smallMessagesBetweenFlushesGoDownAsOneWriteLargeOnesWholeAndInOrder() {
        Below below = new Below();
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true);
        EmbeddedChannel ch = channel(below, alloc);
        List<ByteBuf> small = List.of(message('T', 30), message('D', 12), message('C', 13));
        for (ByteBuf b : small) {
            ch.write(b, ch.voidPromise());
        }
        ch.flush();
        for (ByteBuf b : small) {
            assertEquals(0, b.refCnt(), "a gathered message is released once copied");
        }
        ByteBuf large = message('L', TlsWriteBatch.SMALL + 1);
        ch.write(message('a', 5), ch.voidPromise());
        ch.write(large, ch.voidPromise());
        ch.write(message('b', 6), ch.voidPromise());
        ch.writeAndFlush(message('E', 7));
        ch.write(message('z', 3), ch.voidPromise());
        ch.close();
        assertEquals(List.of("write 55", "flush", "write 5", "write " + (TlsWriteBatch.SMALL + 1), "write 6",
                "write promised 7", "flush", "write 3", "close"), below.events);
        assertSame(large, below.written.get(2), "a large message is passed down as it is, not copied");
        assertEquals("T".repeat(30) + "D".repeat(12) + "C".repeat(13) + "aaaaa" + "L".repeat(TlsWriteBatch.SMALL + 1)
                + "bbbbbb" + "E".repeat(7) + "zzz", below.bytes.toString());
        assertEquals(0, alloc.metric().usedDirectMemory(), "every batch was released");
    }

    /**
     * Random sizes, buffer kinds (direct, heap, slices at an offset, partly read) and flushes (seed printed): the
     * bytes below are the bytes written, no batch past its cap, nothing left unreleased.
     */
    @Test
    void generatedWritesArriveWholeInOrderAndNoBatchExceedsItsCap() {
        long seed = System.nanoTime();
        System.out.println("TlsWriteBatchTest seed=" + seed);
        SplittableRandom random = new SplittableRandom(seed);
        Below below = new Below();
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true);
        EmbeddedChannel ch = channel(below, alloc);
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            char c = (char) ('a' + random.nextInt(26));
            int size = random.nextInt(10) == 0 ? random.nextInt(1, 6000) : random.nextInt(1, 200);
            expected.append(String.valueOf(c).repeat(size));
            ch.write(message(c, size, random), ch.voidPromise());
            if (random.nextInt(8) == 0) {
                ch.flush();
            }
        }
        ch.flush();
        assertEquals(expected.toString(), below.bytes.toString(), "seed " + seed);
        for (String e : below.events) {
            if (e.startsWith("write ")) {
                int size = Integer.parseInt(e.substring(6));
                assertTrue(size <= Math.max(TlsWriteBatch.MAX_BATCH, 6000), e + " (seed " + seed + ")");
            }
        }
        assertTrue(alloc.metric().usedDirectMemory() <= TlsWriteBatch.MAX_KEPT,
                "seed " + seed + ": every batch was released but one kept for the next flush");
        ch.write(message('q', 10), ch.voidPromise());
        ch.pipeline().remove("batch");
        assertEquals(0, alloc.metric().usedDirectMemory(), "a removed handler released what it gathered");
        ch.finishAndReleaseAll();
    }

    /**
     * A flush's batch is used again for the next flush only when nothing below holds it any more; one still held
     * below (the SslHandler's handshake, a peer that does not read) keeps its bytes, whatever is written after.
     */
    @Test
    void aBatchIsUsedAgainOnlyWhenNothingBelowHoldsIt() {
        Below below = new Below();
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true);
        EmbeddedChannel ch = channel(below, alloc);
        ch.write(message('a', 40), ch.voidPromise());
        ch.flush();
        ch.write(message('b', 50), ch.voidPromise());
        ch.flush();
        assertSame(below.written.get(0), below.written.get(1), "released below: the next flush used it again");

        below.hold = true;
        for (int i = 0; i < 4; i++) {
            ch.write(message((char) ('c' + i), 30 + i), ch.voidPromise());
            ch.write(message('x', 5), ch.voidPromise());
            ch.flush();
        }
        for (int i = 0; i < below.held.size(); i++) {
            for (int j = 0; j < i; j++) {
                assertNotSame(below.held.get(j), below.held.get(i), "a batch held below is never written again");
            }
            assertEquals(below.heldText.get(i), below.held.get(i).toString(StandardCharsets.ISO_8859_1),
                    "a batch held below keeps its bytes");
        }
        below.hold = false;
        below.held.forEach(ByteBuf::release);
        ch.write(message('y', 7), ch.voidPromise());
        ch.flush();
        ch.write(message('z', 8), ch.voidPromise());
        ch.flush();
        int n = below.written.size();
        assertSame(below.written.get(n - 2), below.written.get(n - 1));
        assertEquals("a".repeat(40) + "b".repeat(50) + "c".repeat(30) + "xxxxx" + "d".repeat(31) + "xxxxx"
                + "e".repeat(32) + "xxxxx" + "f".repeat(33) + "xxxxx" + "y".repeat(7) + "z".repeat(8),
                below.bytes.toString());
        ch.close();
        assertEquals(0, alloc.metric().usedDirectMemory(), "closing released the kept batch");
    }

    /** A batch grown past {@link TlsWriteBatch#MAX_KEPT} is released, not kept for an idle session. */
    @Test
    void aLargeBatchIsNotKept() {
        Below below = new Below();
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true);
        EmbeddedChannel ch = channel(below, alloc);
        for (int i = 0; i < 20; i++) {
            ch.write(message('m', 100), ch.voidPromise());
        }
        ch.flush();
        assertEquals(0, alloc.metric().usedDirectMemory(), "a batch of 2000 bytes was released");
        ch.write(message('s', 10), ch.voidPromise());
        ch.flush();
        assertNotSame(below.written.get(0), below.written.get(1));
        assertTrue(alloc.metric().usedDirectMemory() > 0, "a small one is kept");
        ch.pipeline().remove("batch");
        assertEquals(0, alloc.metric().usedDirectMemory(), "a removed handler released what it kept");
        ch.finishAndReleaseAll();
    }
}
