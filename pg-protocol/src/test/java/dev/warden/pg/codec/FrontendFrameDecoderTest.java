package dev.warden.pg.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.pg.ProtocolException;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.pg.message.StartupPacket;
import dev.warden.pg.message.StartupPacket.CancelRequest;
import dev.warden.pg.message.StartupPacket.StartupMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FrontendFrameDecoderTest {
    private static final int MAX = 1 << 20;

    private final EmbeddedChannel channel = new EmbeddedChannel(new FrontendFrameDecoder(MAX));

    @AfterEach
    void noLeftovers() {
        channel.finishAndReleaseAll();
    }

    private static ByteBuf hex(String hex) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex.replace(" ", "")));
    }

    private static byte[] bytes(StartupPacket p) {
        ByteBuf b = Unpooled.buffer();
        p.writeTo(b);
        byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    private static byte[] bytes(FrontendMessage m) {
        ByteBuf b = Unpooled.buffer();
        m.writeTo(b);
        byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    private void startSession() {
        channel.writeInbound(Unpooled.wrappedBuffer(bytes(StartupMessage.of(Map.of("user", "alice")))));
        assertInstanceOf(StartupMessage.class, channel.readInbound());
    }

    private String readFrameHexAndRelease() {
        ByteBuf frame = channel.readInbound();
        try {
            return ByteBufUtil.hexDump(frame);
        } finally {
            frame.release();
        }
    }

    @Test
    void startupMessageSwitchesToTypedFrames() {
        byte[] startup = bytes(StartupMessage.of(Map.of("user", "alice", "database", "prod")));
        byte[] query = bytes(new FrontendMessage.Query("SELECT 1"));
        ByteBuf both = Unpooled.wrappedBuffer(startup, query);
        channel.writeInbound(both);
        StartupMessage m = channel.readInbound();
        assertEquals("alice", m.user());
        assertEquals(HexFormat.of().formatHex(query), readFrameHexAndRelease());
        assertNull(channel.readInbound());
    }

    @Test
    void frameWrittenOneByteAtATimeIsReassembled() {
        startSession();
        byte[] query = bytes(new FrontendMessage.Query("SELECT now()"));
        for (int i = 0; i < query.length - 1; i++) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {query[i]}));
            assertNull(channel.readInbound(), "no frame before its last byte");
        }
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {query[query.length - 1]}));
        assertEquals(HexFormat.of().formatHex(query), readFrameHexAndRelease());
    }

    @Test
    void startupPacketWrittenOneByteAtATimeIsReassembled() {
        byte[] startup = bytes(StartupMessage.of(Map.of("user", "alice")));
        for (byte b : startup) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        StartupMessage m = channel.readInbound();
        assertEquals("alice", m.user());
    }

    @Test
    void severalFramesInOneBufferComeOutInOrder() {
        startSession();
        channel.writeInbound(Unpooled.wrappedBuffer(bytes(new FrontendMessage.Parse("", "SELECT 1", java.util.List.of())),
                bytes(new FrontendMessage.Execute("", 0)), bytes(new FrontendMessage.Sync())));
        assertTrue(readFrameHexAndRelease().startsWith("50"));
        assertTrue(readFrameHexAndRelease().startsWith("45"));
        assertEquals("5300000004", readFrameHexAndRelease());
        assertNull(channel.readInbound());
    }

    @Test
    void emittedFrameIsASliceOfTheInputNotACopy() {
        startSession();
        byte[] wire = bytes(new FrontendMessage.Query("SELECT 1"));
        ByteBuf input = Unpooled.wrappedBuffer(wire);
        channel.writeInbound(input);
        ByteBuf frame = channel.readInbound();
        try {
            assertSame(wire, frame.array(), "the frame must share the input's memory");
            assertEquals(0, frame.arrayOffset() + frame.readerIndex());
            assertEquals(wire.length, frame.readableBytes());
            // The decoder released its own reference; the frame's is the only one left.
            assertEquals(1, input.refCnt());
        } finally {
            frame.release();
        }
        assertEquals(0, input.refCnt(), "releasing the frame frees the input: nothing leaked");
    }

    @Test
    void truncatedFrameWaitsForTheRest() {
        startSession();
        channel.writeInbound(hex("51 0000000d 53454c45"));
        assertNull(channel.readInbound());
        channel.writeInbound(hex("4354203100"));
        assertEquals("510000000d" + "53454c4543542031" + "00", readFrameHexAndRelease());
    }

    @Test
    void lengthBelowFourIsAProtocolViolation() {
        startSession();
        ProtocolException e = assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("51 00000003")));
        assertEquals("08P01", e.sqlState());
        assertEquals("invalid message length 3 for message type 'Q'", e.getMessage());
    }

    @Test
    void lengthOverTheLimitIsRefusedBeforeBuffering() {
        startSession();
        ProtocolException e = assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("51 77359400")));
        assertEquals("message length 2000000000 exceeds the limit of 1048576 bytes", e.getMessage());
    }

    @Test
    void unknownTypeIsAProtocolViolation() {
        startSession();
        ProtocolException e = assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("7a")));
        assertEquals("unknown frontend message type 0x7a", e.getMessage());
    }

    @Test
    void backendOnlyTypeIsRejectedFromAClient() {
        startSession();
        assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("5a 00000005 49")));
    }

    @Test
    void inputAfterAnErrorIsDiscarded() {
        startSession();
        ByteBuf bad = hex("51 00000002 5300000004");
        assertThrows(ProtocolException.class, () -> channel.writeInbound(bad));
        assertEquals(0, bad.refCnt());
        ByteBuf more = hex("5300000004 5300000004");
        channel.writeInbound(more);
        assertNull(channel.readInbound(), "nothing is emitted after a protocol error");
        assertEquals(0, more.refCnt(), "discarded input is released, not kept");
    }

    @Test
    void sslRequestIsEmittedWhenNothingFollowsIt() {
        channel.writeInbound(hex("0000000804d2162f"));
        assertInstanceOf(StartupPacket.SslRequest.class, channel.readInbound());
        // After the handshake (or an 'N' answer) the client sends its StartupMessage.
        startSession();
    }

    @Test
    void bytesPipelinedAfterSslRequestAreRefused() {
        byte[] ssl = bytes(new StartupPacket.SslRequest());
        byte[] startup = bytes(StartupMessage.of(Map.of("user", "mallory")));
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> channel.writeInbound(Unpooled.wrappedBuffer(ssl, startup)));
        assertEquals("received unencrypted data after SSL request", e.getMessage());
        assertNull(channel.readInbound(), "the SSL request itself is not emitted either");
    }

    @Test
    void bytesPipelinedAfterGssEncRequestAreRefused() {
        assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("0000000804d21630 00")));
        assertNull(channel.readInbound());
    }

    @Test
    void cancelRequestIsDecodedAndLaterInputIgnored() {
        channel.writeInbound(hex("0000001004d2162e 00000007 0000002a"));
        assertEquals(new CancelRequest(7, 42), channel.readInbound());
        channel.writeInbound(hex("5300000004"));
        assertNull(channel.readInbound());
    }

    @Test
    void startupPacketLengthOutOfRangeIsRefused() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("00002711")));
        assertEquals("invalid startup packet length 10001", e.getMessage());
    }

    @Test
    void tinyStartupPacketIsRefused() {
        assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("00000004")));
    }

    @Test
    void malformedStartupParametersAreRefused() {
        assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("0000000c 00030000 75006162")));
        assertFalse(channel.inboundMessages().iterator().hasNext());
    }
}
