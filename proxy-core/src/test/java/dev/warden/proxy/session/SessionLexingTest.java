package dev.warden.proxy.session;

import dev.warden.pg.message.FrontendMessage;
import dev.warden.sql.Analyzer;
import dev.warden.sql.StatementFacts;
import dev.warden.sql.StatementKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How a session reads Query texts as its server reports its settings (end-to-end tests drive the real server). */
class SessionLexingTest {

    private final Analyzer analyzer = new Analyzer(100);

    private static ByteBuf query(byte[] text) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte('Q').writeInt(4 + text.length + 1).writeBytes(text).writeByte(0);
        return b;
    }

    private static ByteBuf query(String text) {
        return query(text.getBytes(StandardCharsets.UTF_8));
    }

    private List<StatementKind> kinds(SessionLexing lexing, ByteBuf frame, boolean inFlight) {
        SessionLexing.Reading r = lexing.read(analyzer, frame, 5, inFlight);
        assertNull(r.refusal(), () -> "refused: " + r.refusal());
        return r.analysis().statements().stream().map(StatementFacts::kind).toList();
    }

    private static final String HIDDEN = "SELECT 'a\\'; DROP TABLE t; --'";

    @Test
    void followsStandardConformingStringsBothWays() {
        SessionLexing lexing = new SessionLexing();
        assertEquals(List.of(StatementKind.SELECT, StatementKind.DROP), kinds(lexing, query(HIDDEN), false));
        lexing.update("standard_conforming_strings", "off");
        assertEquals(List.of(StatementKind.SELECT), kinds(lexing, query(HIDDEN), false));
        lexing.update("standard_conforming_strings", "on");
        assertEquals(List.of(StatementKind.SELECT, StatementKind.DROP), kinds(lexing, query(HIDDEN), false));
    }

    @Test
    void aPipelinedTextThatDependsOnTheSettingIsRefused() {
        SessionLexing lexing = new SessionLexing();
        SessionLexing.Reading r = lexing.read(analyzer, query(HIDDEN), 5, true);
        assertNotNull(r.refusal());
        assertEquals("pipelined-string-setting", r.refusal().rule());
        // A backslash that changes nothing of the reading passes, pipelined or not
        assertEquals(List.of(StatementKind.SELECT), kinds(lexing, query("SELECT 'C:\\temp'"), true));
    }

    private static byte[] sjisAttack() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("SELECT E'".getBytes(StandardCharsets.US_ASCII));
        bytes.write(0x95);
        bytes.write(0x5C);
        bytes.writeBytes("'; DROP TABLE t; --'".getBytes(StandardCharsets.US_ASCII));
        return bytes.toByteArray();
    }

    @Test
    void followsClientEncoding() {
        SessionLexing lexing = new SessionLexing();
        lexing.update("client_encoding", "SJIS");
        assertEquals(List.of(StatementKind.SELECT, StatementKind.DROP), kinds(lexing, query(sjisAttack()), false));
        lexing.update("client_encoding", "LATIN1");
        // In LATIN1 0x5C is a backslash: the quote is escaped and the DROP is inside the string
        assertEquals(List.of(StatementKind.SELECT), kinds(lexing, query(sjisAttack()), false));
        SessionLexing.Reading pipelined = lexing.read(analyzer, query(sjisAttack()), 5, true);
        assertEquals("pipelined-client-encoding", pipelined.refusal().rule());
    }

    @Test
    void bytesInvalidInTheEncodingAreRefusedAndKeptLosslessly() {
        SessionLexing lexing = new SessionLexing();
        lexing.update("client_encoding", "SJIS");
        byte[] invalid = {'S', 'E', 'L', 'E', 'C', 'T', ' ', (byte) 0x85, (byte) 0x20};
        SessionLexing.Reading r = lexing.read(analyzer, query(invalid), 5, false);
        assertEquals("client-encoding", r.refusal().rule());
        assertTrue(r.sql().contains("base64"), r.sql());
    }

    @Test
    void aSqlAsciiServerLexesRawBytes() {
        SessionLexing lexing = new SessionLexing();
        lexing.update("server_encoding", "SQL_ASCII");
        lexing.update("client_encoding", "SJIS");
        // No conversion happens, so the server's lexer sees 0x5C as a backslash
        assertEquals(List.of(StatementKind.SELECT), kinds(lexing, query(sjisAttack()), false));
    }

    @Test
    void parseTextsAreReadAfterTheStatementName() {
        SessionLexing lexing = new SessionLexing();
        ByteBuf parse = new FrontendMessage.Parse("s1", "DELETE FROM t", List.of()).toByteBuf(
                io.netty.buffer.ByteBufAllocator.DEFAULT);
        int textOffset = parse.indexOf(parse.readerIndex() + 5, parse.writerIndex(), (byte) 0) + 1;
        SessionLexing.Reading r = lexing.read(analyzer, parse, textOffset, false);
        assertEquals("DELETE FROM t", r.sql());
        parse.release();
    }
}
