package dev.warden.pg.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.warden.pg.ProtocolException;
import dev.warden.pg.message.BackendMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BackendFrameDecoderTest {
    private final EmbeddedChannel channel = new EmbeddedChannel(new BackendFrameDecoder(1024));

    @AfterEach
    void noLeftovers() {
        channel.finishAndReleaseAll();
    }

    private static ByteBuf hex(String hex) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex.replace(" ", "")));
    }

    @Test
    void typicalResponseIsSplitIntoFramesThatDecode() {
        // CommandComplete "SELECT 1", ReadyForQuery 'I'
        ByteBuf in = hex("43 0000000d 53454c454354203100 5a 00000005 49");
        channel.writeInbound(in);
        ByteBuf first = channel.readInbound();
        ByteBuf second = channel.readInbound();
        try {
            assertEquals(new BackendMessage.CommandComplete("SELECT 1"), BackendMessage.decode(first));
            assertEquals(new BackendMessage.ReadyForQuery('I'), BackendMessage.decode(second));
            assertEquals(0, first.readerIndex(), "decoding leaves the frame ready to relay");
            assertEquals(in.array(), first.array());
        } finally {
            first.release();
            second.release();
        }
        assertEquals(0, in.refCnt());
        assertNull(channel.readInbound());
    }

    @Test
    void frameSplitAcrossSingleBytesIsReassembled() {
        byte[] wire = HexFormat.of().parseHex("5a0000000549");
        for (byte b : wire) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        ByteBuf frame = channel.readInbound();
        assertEquals("5a0000000549", ByteBufUtil.hexDump(frame));
        frame.release();
    }

    @Test
    void lengthOverTheLimitIsAProtocolViolation() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("44 00000401")));
        assertEquals("message length 1025 exceeds the limit of 1024 bytes", e.getMessage());
    }

    @Test
    void lengthBelowFourIsAProtocolViolation() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("5a 00000000")));
        assertEquals("invalid message length 0 for message type 'Z'", e.getMessage());
    }

    @Test
    void frontendOnlyTypeIsRejectedFromAServer() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("51 00000004")));
        assertEquals("unknown backend message type 0x51", e.getMessage());
    }

    @Test
    void inputAfterAnErrorIsDiscarded() {
        assertThrows(ProtocolException.class, () -> channel.writeInbound(hex("ff")));
        channel.writeInbound(hex("5a0000000549"));
        assertNull(channel.readInbound());
    }

    @Test
    void authenticationRequestFrameDecodesToItsSubtype() {
        channel.writeInbound(hex("52 0000000c 00000005 01020304"));
        ByteBuf frame = channel.readInbound();
        try {
            assertInstanceOf(BackendMessage.AuthenticationMd5Password.class, BackendMessage.decode(frame));
        } finally {
            frame.release();
        }
    }

    @Test
    void maxBelowFourIsAProgrammingError() {
        assertThrows(IllegalArgumentException.class, () -> new BackendFrameDecoder(3));
    }
}
