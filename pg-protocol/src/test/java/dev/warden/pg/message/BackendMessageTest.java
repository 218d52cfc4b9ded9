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
import dev.warden.pg.message.BackendMessage.AuthenticationMd5Password;
import dev.warden.pg.message.BackendMessage.AuthenticationOther;
import dev.warden.pg.message.BackendMessage.AuthenticationSasl;
import dev.warden.pg.message.BackendMessage.DataRow;
import dev.warden.pg.message.BackendMessage.ErrorResponse;
import dev.warden.pg.message.BackendMessage.ReadyForQuery;
import dev.warden.pg.message.BackendMessage.RowDescription;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class BackendMessageTest {

    static Stream<BackendMessage> everyMessageType() {
        return Stream.of(
                new BackendMessage.AuthenticationOk(),
                new BackendMessage.AuthenticationCleartextPassword(),
                new AuthenticationMd5Password(new byte[] {1, 2, 3, 4}),
                new AuthenticationSasl(List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")),
                new BackendMessage.AuthenticationSaslContinue("r=abc,s=c2FsdA==,i=4096".getBytes()),
                new BackendMessage.AuthenticationSaslFinal("v=abc".getBytes()),
                new AuthenticationOther(7),
                new BackendMessage.BackendKeyData(1234, -99),
                new BackendMessage.BindComplete(),
                new BackendMessage.CloseComplete(),
                new BackendMessage.CommandComplete("SELECT 1"),
                new BackendMessage.CopyData(new byte[] {0, 1, 2}),
                new BackendMessage.CopyDone(),
                new BackendMessage.CopyInResponse((byte) 0, List.of((short) 0, (short) 0)),
                new BackendMessage.CopyOutResponse((byte) 1, List.of((short) 1)),
                new BackendMessage.CopyBothResponse((byte) 0, List.of()),
                new DataRow(Arrays.asList("1".getBytes(), null, new byte[0])),
                new BackendMessage.EmptyQueryResponse(),
                ErrorResponse.of("ERROR", "42501", "blocked by rule no-drop-in-prod", "detail", "hint"),
                BackendMessage.NoticeResponse.of("NOTICE", "00000", "hello"),
                new BackendMessage.FunctionCallResponse("x".getBytes()),
                new BackendMessage.FunctionCallResponse(null),
                new BackendMessage.NegotiateProtocolVersion(0, List.of("_pq_.foo")),
                new BackendMessage.NoData(),
                new BackendMessage.NotificationResponse(42, "chan", "payload"),
                new BackendMessage.ParameterDescription(List.of(23, 25)),
                new BackendMessage.ParameterStatus("server_version", "16.4"),
                new BackendMessage.ParseComplete(),
                new BackendMessage.PortalSuspended(),
                new ReadyForQuery('T'),
                new RowDescription(List.of(
                        new RowDescription.Field("id", 16384, (short) 1, 23, (short) 4, -1, (short) 0),
                        new RowDescription.Field("email", 16384, (short) 2, 25, (short) -1, -1, (short) 1))));
    }

    @ParameterizedTest
    @MethodSource("everyMessageType")
    void everyMessageSurvivesEncodeDecodeEncode(BackendMessage message) {
        ByteBuf encoded = message.toByteBuf(ByteBufAllocator.DEFAULT);
        try {
            BackendMessage decoded = BackendMessage.decode(encoded);
            assertEquals(0, encoded.readerIndex(), "decode must not move the readerIndex");
            assertEquals(message.getClass(), decoded.getClass());
            assertEquals(hexOf(message), hexOf(decoded));
        } finally {
            encoded.release();
        }
    }

    @Test
    void readyForQueryIsEncodedByteForByte() {
        assertEquals("5a0000000549", hexOf(new ReadyForQuery('I')));
    }

    @Test
    void authenticationOkIsEncodedByteForByte() {
        assertEquals("520000000800000000", hexOf(new BackendMessage.AuthenticationOk()));
    }

    @Test
    void md5RequestCarriesItsSalt() {
        assertEquals("520000000c00000005" + "01020304", hexOf(new AuthenticationMd5Password(new byte[] {1, 2, 3, 4})));
        var decoded = (AuthenticationMd5Password) BackendMessage.decode(fromHex("520000000c0000000501020304"));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, decoded.salt());
    }

    @Test
    void saslRequestListsMechanismsEndingWithAnEmptyName() {
        assertEquals("52" + "00000017" + "0000000a" + ascii("SCRAM-SHA-256") + "00" + "00",
                hexOf(new AuthenticationSasl(List.of("SCRAM-SHA-256"))));
    }

    @Test
    void errorResponseOfWritesSeverityTwiceAndOmitsNullDetail() {
        ErrorResponse e = ErrorResponse.of("FATAL", "28P01", "bad token");
        String body = "53" + ascii("FATAL") + "00" + "56" + ascii("FATAL") + "00" + "43" + ascii("28P01") + "00"
                + "4d" + ascii("bad token") + "00" + "00";
        assertEquals("45" + String.format("%08x", 4 + body.length() / 2) + body, hexOf(e));
        assertEquals("FATAL", e.severity());
        assertEquals("28P01", e.sqlState());
        assertEquals("bad token", e.message());
        assertNull(e.detail());
    }

    @Test
    void errorResponseFromServerKeepsAllFieldsInOrder() {
        ErrorResponse e = (ErrorResponse) BackendMessage.decode(fromHex(
                "45 0000001a 53 4552524f5200 43 343237303100 50 313200 4d 7800 00"));
        assertEquals(List.of('S', 'C', 'P', 'M'), List.copyOf(e.fields().keySet()));
        assertEquals("ERROR", e.severity());
        assertEquals("42701", e.sqlState());
        assertEquals(Map.of('S', "ERROR", 'C', "42701", 'P', "12", 'M', "x"), e.fields());
    }

    @Test
    void errorResponseWithoutFinalZeroIsRejected() {
        assertThrows(ProtocolException.class, () -> BackendMessage.decode(fromHex("45 00000007 4d 7800")));
    }

    @Test
    void dataRowKeepsNullsAndEmptyValuesApart() {
        DataRow row = (DataRow) BackendMessage.decode(fromHex("44 00000014 0003 ffffffff 00000000 00000002 6869"));
        assertNull(row.values().get(0));
        assertArrayEquals(new byte[0], row.values().get(1));
        assertArrayEquals("hi".getBytes(), row.values().get(2));
    }

    @Test
    void dataRowWithValueLongerThanFrameIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> BackendMessage.decode(fromHex("44 0000000c 0001 00000010 6869")));
        assertEquals("truncated column value in message type 'D': need 16 bytes, 2 left", e.getMessage());
    }

    @Test
    void rowDescriptionDecodesEveryFieldAttribute() {
        RowDescription rd = new RowDescription(List.of(
                new RowDescription.Field("email", 16384, (short) 2, 25, (short) -1, -1, (short) 0)));
        RowDescription decoded = (RowDescription) BackendMessage.decode(fromHex(hexOf(rd)));
        assertEquals(rd, decoded);
    }

    @Test
    void readyForQueryWithUnknownStatusIsRejected() {
        assertThrows(ProtocolException.class, () -> BackendMessage.decode(fromHex("5a 00000005 51")));
    }

    @Test
    void gssContinueDecodesAsOtherAuthentication() {
        BackendMessage m = BackendMessage.decode(fromHex("52 0000000a 00000008 abcd"));
        assertInstanceOf(AuthenticationOther.class, m);
        assertEquals(8, ((AuthenticationOther) m).code());
    }

    @Test
    void unknownTypeIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> BackendMessage.decode(fromHex("51 00000004")));
        assertEquals("unknown backend message type 0x51", e.getMessage());
    }

    @Test
    void authenticationSubtypesAreAllAuthentication() {
        everyMessageType().filter(m -> m instanceof BackendMessage.Authentication)
                .forEach(m -> assertEquals(m, m)); // compiles only if Authentication is a BackendMessage
        assertEquals(10, new AuthenticationSasl(List.of()).code());
    }
}
