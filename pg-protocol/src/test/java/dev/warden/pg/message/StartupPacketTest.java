package dev.warden.pg.message;

import static dev.warden.pg.message.Bytes.ascii;
import static dev.warden.pg.message.Bytes.fromHex;
import static dev.warden.pg.message.Bytes.hexOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.warden.pg.ProtocolException;
import dev.warden.pg.message.StartupPacket.CancelRequest;
import dev.warden.pg.message.StartupPacket.StartupMessage;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StartupPacketTest {

    @Test
    void sslRequestIsEncodedByteForByte() {
        assertEquals("0000000804d2162f", hexOf(new StartupPacket.SslRequest()));
        assertEquals(new StartupPacket.SslRequest(), StartupPacket.decode(fromHex("0000000804d2162f")));
    }

    @Test
    void gssEncRequestIsEncodedByteForByte() {
        assertEquals("0000000804d21630", hexOf(new StartupPacket.GssEncRequest()));
    }

    @Test
    void cancelRequestRoundTrips() {
        assertEquals("0000001004d2162e000004d2ffffffff", hexOf(new CancelRequest(1234, -1)));
        assertEquals(new CancelRequest(1234, -1), StartupPacket.decode(fromHex("0000001004d2162e000004d2ffffffff")));
    }

    @Test
    void startupMessageKeepsParameterOrder() {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", "alice@example.com");
        params.put("database", "prod");
        params.put("application_name", "psql");
        StartupMessage m = StartupMessage.of(params);
        String body = ascii("user") + "00" + ascii("alice@example.com") + "00" + ascii("database") + "00"
                + ascii("prod") + "00" + ascii("application_name") + "00" + ascii("psql") + "00" + "00";
        String expected = String.format("%08x", 8 + body.length() / 2) + "00030000" + body;
        assertEquals(expected, hexOf(m));

        StartupMessage decoded = (StartupMessage) StartupPacket.decode(fromHex(expected));
        assertEquals(m, decoded);
        assertEquals(List.of("user", "database", "application_name"), List.copyOf(decoded.parameters().keySet()));
        assertEquals("alice@example.com", decoded.user());
        assertEquals("prod", decoded.database());
        assertEquals(3, decoded.majorVersion());
    }

    @Test
    void databaseIsNullWhenAbsent() {
        assertNull(StartupMessage.of(Map.of("user", "bob")).database());
    }

    @Test
    void otherMajorVersionsAreReturnedForTheProxyToRefuse() {
        StartupMessage m = (StartupMessage) StartupPacket.decode(fromHex("0000000c 00020000 01020304"));
        assertEquals(2, m.majorVersion());
        assertEquals(Map.of(), m.parameters());
    }

    @Test
    void parametersWithoutFinalTerminatorAreRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> StartupPacket.decode(fromHex("0000000c 00030000 75006100")));
        assertEquals("08P01", e.sqlState());
        assertEquals("startup packet is missing its final terminator", e.getMessage());
    }

    @Test
    void valueWithoutTerminatorIsRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> StartupPacket.decode(fromHex("0000000c 00030000 75006162")));
        assertEquals("missing string terminator for value of parameter \"u\" in startup packet", e.getMessage());
    }

    @Test
    void duplicateParametersAreRejected() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> StartupPacket.decode(fromHex("00000011 00030000 75006100 75006200 00")));
        assertEquals("duplicate startup parameter \"u\"", e.getMessage());
    }

    @Test
    void bytesAfterTheTerminatorAreRejected() {
        assertThrows(ProtocolException.class,
                () -> StartupPacket.decode(fromHex("0000000e 00030000 75006100 00 ff")));
    }

    @Test
    void sslRequestWithWrongLengthIsRejected() {
        assertThrows(ProtocolException.class, () -> StartupPacket.decode(fromHex("0000000c04d2162f00000000")));
    }
}
