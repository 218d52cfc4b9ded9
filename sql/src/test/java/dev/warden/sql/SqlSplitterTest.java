package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.sql.Lexer.Token;
import dev.warden.sql.Lexer.Type;
import java.util.List;
import org.junit.jupiter.api.Test;

class SqlSplitterTest {

    private static List<String> texts(String sql) {
        return SqlSplitter.split(sql).stream().map(SqlSplitter.Segment::text).toList();
    }

    @Test
    void splitsOnlyAtTopLevelSemicolons() {
        assertEquals(List.of("SELECT ';'", "SELECT \";\"", "SELECT $t$ ; $t$", "SELECT 1 -- ;\n", "SELECT 2")
                .stream().map(String::strip).toList(),
                texts("SELECT ';'; SELECT \";\"; SELECT $t$ ; $t$; SELECT 1 -- ;\n; SELECT 2"));
        assertEquals(List.of("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b "
                + "VALUES (2))", "SELECT 3"),
                texts("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));"
                        + " SELECT 3"));
    }

    @Test
    void beginAtomicBodyStaysInItsFunction() {
        List<String> s = texts("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
                + "SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SELECT 3");
        assertEquals(2, s.size());
        assertEquals("SELECT 3", s.get(1));
        assertEquals(List.of("BEGIN", "COMMIT"), texts("BEGIN; COMMIT;"));
    }

    @Test
    void lexerKnowsPostgresLiterals() {
        List<Token> t = Lexer.tokenize("E'a\\'b' U&'x' B'01' $tag$ $x$ $tag$ $1 \"a\"\"b\" 1.5e3 x::int a$b").tokens();
        assertEquals(List.of(Type.STRING, Type.STRING, Type.STRING, Type.STRING, Type.PARAM, Type.QUOTED_IDENT,
                Type.NUMBER, Type.WORD, Type.OPERATOR, Type.WORD, Type.WORD),
                t.stream().map(Token::type).toList());
        assertEquals("a'b", t.get(0).value());
        assertEquals(" $x$ ", t.get(3).value());
        assertEquals("a\"b", t.get(5).value());
        assertEquals("::", t.get(8).value());
        assertEquals("a$b", t.get(10).value());
    }

    @Test
    void unterminatedInputIsFlaggedNotThrown() {
        assertTrue(Lexer.tokenize("SELECT 'abc").unterminated());
        assertTrue(Lexer.tokenize("SELECT $$abc").unterminated());
        assertTrue(Lexer.tokenize("SELECT /* /* */").unterminated());
        assertTrue(Lexer.tokenize("SELECT \"abc").unterminated());
        assertFalse(Lexer.tokenize("SELECT /* /* */ */ 1").unterminated());
    }
}
