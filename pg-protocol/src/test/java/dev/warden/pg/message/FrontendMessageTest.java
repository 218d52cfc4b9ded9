package dev.warden.pg.message;

import static dev.warden.pg.message.Bytes.ascii;
import static dev.warden.pg.message.Bytes.fromHex;
import static dev.warden.pg.message.Bytes.hexOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.warden.pg.ProtocolException;
import dev.warden.pg.message.FrontendMessage.AuthenticationResponse;
import dev.warden.pg.message.FrontendMessage.Bind;
import dev.warden.pg.message.FrontendMessage.Parse;
import dev.warden.pg.message.FrontendMessage.Query;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FrontendMessageTest {

    static Stream<FrontendMessage> everyMessageType() {
        byte[] nothing = new byte[0];
        return Stream.of(
                new Query("SELECT 1"),
                new Query(""),
                new Parse("s1", "SELECT $1::int, $2", List.of(23, 0)),
                new Parse("", "SELECT 1", List.of()),
                new Bind("p1", "s1", List.of((short) 0, (short) 1), Arrays.asList("42".getBytes(), null, nothing),
                        List.of((short) 1)),
                new FrontendMessage.Describe('S', "s1"),
                new FrontendMessage.Describe('P', ""),
                new FrontendMessage.Execute("p1", 100),
                new FrontendMessage.Sync(),
                new FrontendMessage.Flush(),
                new FrontendMessage.Close('P', "p1"),
                new FrontendMessage.CopyData("1\tbob\n".getBytes()),
                new FrontendMessage.CopyDone(),
                new FrontendMessage.CopyFail("client gave up"),
                new FrontendMessage.FunctionCall(1598, List.of((short) 0), Arrays.asList(null, "x".getBytes()),
                        (short) 1),
                new FrontendMessage.Terminate(),
                AuthenticationResponse.password("s3cret"),
                AuthenticationResponse.saslInitial("SCRAM-SHA-256", "n,,n=,r=abc".getBytes()),
                AuthenticationResponse.saslResponse("c=biws,r=abc,p=xyz".getBytes()));
    }

    @ParameterizedTest
    @MethodSource("everyMessageType")
    void everyMessageSurvivesEncodeDecodeEncode(FrontendMessage message) {
        ByteBuf encoded = message.toByteBuf(ByteBufAllocator.DEFAULT);
        try {
            int readerIndex = encoded.readerIndex();
            FrontendMessage decoded = FrontendMessage.decode(encoded);
            assertEquals(readerIndex, encoded.readerIndex(), "decode must not move the readerIndex");
            assertEquals(message.getClass(), decoded.getClass());
            assertEquals(hexOf(message), hexOf(decoded));
        } finally {
            encoded.release();
        }
    }

    @Test
    void queryIsEncodedByteForByte() {
        assertEquals("51" + "0000000d" + ascii("SELECT 1") + "00", hexOf(new Query("SELECT 1")));
    }

    @Test
    void syncAndTerminateAreHeaderOnly() {
        assertEquals("5300000004", hexOf(new FrontendMessage.Sync()));
        assertEquals("5800000004", hexOf(new FrontendMessage.Terminate()));
    }

    @Test
    void bindTargetReadsNamesAndResultFormatsWithoutTheParameters() {
        Bind bind = new Bind("portal", "stmt", List.of((short) 1), Arrays.asList(new byte[1000], null),
                List.of((short) 1, (short) 0));
        io.netty.buffer.ByteBuf frame = bind.toByteBuf(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        try {
            assertEquals(new Bind.Target("portal", "stmt", List.of((short) 1, (short) 0)), Bind.target(frame));
            io.netty.buffer.ByteBuf cut = frame.copy(0, frame.readableBytes() - 3);
            cut.setInt(1, cut.readableBytes() - 1);
            org.junit.jupiter.api.Assertions.assertThrows(dev.warden.pg.ProtocolException.class, () -> Bind.target(cut));
            cut.release();
        } finally {
            frame.release();
        }
    }

    @Test
    void bindEncodesNullParameterAsMinusOne() {
        Bind bind = new Bind("", "", List.of(), Arrays.asList(null, new byte[] {7}), List.of());
        assertEquals("42" + "00000015" + "00" + "00" + "0000" + "0002" + "ffffffff" + "00000001" + "07" + "0000",
                hexOf(bind));
        ByteBuf frame = fromHex(hexOf(bind));
        Bind decoded = (Bind) FrontendMessage.decode(frame);
        assertNull(decoded.parameters().get(0));
        assertArrayEquals(new byte[] {7}, decoded.parameters().get(1));
    }

    @Test
    void parseDecodesItsFields() {
        Parse parse = (Parse) FrontendMessage.decode(fromHex(hexOf(new Parse("st", "SELECT $1", List.of(25)))));
        assertEquals("st", parse.statement());
        assertEquals("SELECT $1", parse.sql());
        assertEquals(List.of(25), parse.parameterTypes());
    }

    /**
     * A Parse's declared types are kept as the four bytes each the wire carries: as Integers they cost five times
     * that in the heap every session shares, and 400 Parse messages of 65,535 types pinned 656 MB (a helper's pass,
     * a135 F1). They read and compare as the list of OIDs they are.
     */
    @Test
    void aParsesDeclaredTypesAreKeptAsTheirOids() {
        java.util.List<Integer> declared = new java.util.ArrayList<>();
        for (int i = 0; i < 65_535; i++) {
            declared.add(1_000_000 + i);
        }
        Parse parse = (Parse) FrontendMessage.decode(fromHex(hexOf(new Parse("big", "SELECT 1", declared))));
        assertEquals(declared, parse.parameterTypes());
        assertEquals(OidList.class, parse.parameterTypes().getClass());
        assertEquals(declared.hashCode(), parse.parameterTypes().hashCode());
        org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class,
                () -> parse.parameterTypes().set(0, 1));
        org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class,
                () -> new Parse("n", "SELECT 1", java.util.Arrays.asList(1, null)));
        // A count the message's bytes do not hold is refused, not allocated.
        ByteBuf truncated = fromHex("50" + "00000010" + "00" + ascii("SELECT 1") + "00" + "ffff");
        org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class, () -> FrontendMessage.decode(truncated));
    }

    @Test
    void passwordMessageIsZeroTerminatedUtf8() {
        AuthenticationResponse response = AuthenticationResponse.password("pässword");
        assertEquals("70" + "0000000e" + ascii("pässword") + "00", hexOf(response));
        AuthenticationResponse decoded = (AuthenticationResponse) FrontendMessage.decode(fromHex(hexOf(response)));
        assertEquals("pässword", decoded.password());
    }

    @Test
    void saslInitialResponseCarriesMechanismAndLengthPrefixedData() {
        AuthenticationResponse r = AuthenticationResponse.saslInitial("SCRAM-SHA-256", "n,,n=,r=x".getBytes());
        assertEquals("70" + "0000001f" + ascii("SCRAM-SHA-256") + "00" + "00000009" + ascii("n,,n=,r=x"),
                hexOf(r));
    }

    @Test
    void passwordWithoutTerminatorIsAProtocolViolation() {
        AuthenticationResponse r = new AuthenticationResponse("abc".getBytes(StandardCharsets.UTF_8));
        ProtocolException e = assertThrows(ProtocolException.class, r::password);
        assertEquals("08P01", e.sqlState());
    }

    @Test
    void queryWithoutTerminatorIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> FrontendMessage.decode(fromHex("51 00000007 414243")));
        assertEquals("08P01", e.sqlState());
        assertEquals("missing string terminator for query string in message type 'Q'", e.getMessage());
    }

    @Test
    void trailingGarbageIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> FrontendMessage.decode(fromHex("53 00000005 00")));
        assertEquals("1 unexpected trailing bytes in message type 'S'", e.getMessage());
    }

    @Test
    void truncatedFieldIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> FrontendMessage.decode(fromHex("45 00000007 00 0000")));
        assertEquals("truncated row limit in message type 'E': need 4 bytes, 2 left", e.getMessage());
    }

    @Test
    void lengthThatDisagreesWithTheFrameIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> FrontendMessage.decode(fromHex("51 00000009 414200")));
        assertEquals("invalid message length 9 for message type 'Q' (frame holds 7)", e.getMessage());
    }

    @Test
    void parameterCountBeyondTheFrameIsRejected() {
        assertThrows(ProtocolException.class,
                () -> FrontendMessage.decode(fromHex("50 0000000c 00 00 ffff 00000000")));
    }

    @Test
    void parameterLengthBeyondTheFrameIsRejected() {
        assertThrows(ProtocolException.class,
                () -> FrontendMessage.decode(fromHex("42 00000010 00 00 0000 0001 7fffffff 0000")));
    }

    @Test
    void describeWithUnknownKindIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> FrontendMessage.decode(fromHex("44 00000006 58 00")));
        assertEquals("invalid kind 'X' in message type 'D', expected 'S' or 'P'", e.getMessage());
    }

    @Test
    void unknownTypeIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> FrontendMessage.decode(fromHex("7a 00000004")));
        assertEquals("unknown frontend message type 0x7a", e.getMessage());
    }

    @Test
    void decodingASliceInTheMiddleOfABufferReadsOnlyThatFrame() {
        ByteBuf buf = fromHex("ff ff 51 00000006 4100 ff");
        FrontendMessage m = FrontendMessage.decode(buf.slice(2, 7));
        assertInstanceOf(Query.class, m);
        assertEquals("A", ((Query) m).sql());
    }

    @Test
    void stringWithZeroByteCannotBeEncoded() {
        assertThrows(IllegalArgumentException.class, () -> new Query("a\0b").writeTo(Unpooled.buffer()));
    }
}
