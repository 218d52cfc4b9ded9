package dev.warden.audit.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VisibleTextTest {

    @Test
    void terminalEscapesAndLineBreaksBecomeVisible() {
        assertEquals("UPDATE t SET a=0 WHERE id=1 OR 1=1--\\e[9D\\e[K",
                VisibleText.escape("UPDATE t SET a=0 WHERE id=1 OR 1=1--\u001b[9D\u001b[K"));
        assertEquals("a\\r\\nb\\tc\\u0000d\\u0007e\\u007ff\\u009bg",
                VisibleText.escape("a\r\nb\tc\0d\u0007e\u007ff\u009bg"));
        assertEquals("back\\\\slash", VisibleText.escape("back\\slash"));
    }

    @Test
    void bidiOverridesAndInvisibleCharactersAreNamed() {
        assertEquals("admin\\u202enimda\\u200b\\u2028", VisibleText.escape("admin\u202Enimda\u200B\u2028"));
        assertEquals("tag\\u{e0041}", VisibleText.escape("tag\uDB40\uDC41"));
    }

    @Test
    void plainTextIsReturnedAsIs() {
        String plain = "SELECT 'héllo', 名前 FROM t";
        assertSame(plain, VisibleText.escape(plain));
        assertEquals("", VisibleText.escape(null));
    }

    @Test
    void aNameMixingScriptsSaysWhichLettersAreForeign() {
        assertEquals("\u0430lice@example.com [mixed scripts: U+0430 CYRILLIC SMALL LETTER A]",
                VisibleText.name("\u0430lice@example.com"));
        assertEquals("p\u0430yp\u0430l-\u0391dmin [mixed scripts: U+0430 CYRILLIC SMALL LETTER A, U+0391 GREEK "
                + "CAPITAL LETTER ALPHA]", VisibleText.name("p\u0430yp\u0430l-\u0391dmin"));
        // One script, whatever it is, and ASCII: shown as they are (escaped as ever).
        assertEquals("jos\u00e9@example.com", VisibleText.name("jos\u00e9@example.com"));
        assertEquals("\u674e\u96f7", VisibleText.name("\u674e\u96f7"));
        assertEquals("\u0438\u0432\u0430\u043d", VisibleText.name("\u0438\u0432\u0430\u043d"));
        assertEquals("bob\\e", VisibleText.name("bob\u001b"));
        assertEquals("", VisibleText.scriptNote("alice@example.com"));
    }

    @Test
    void aCutSaysHowMuchWasLeftOut() {
        String clipped = VisibleText.clip("x".repeat(100), 10);
        assertEquals("xxxxxxxxxx …[90 more characters not shown]", clipped);
        assertEquals("short", VisibleText.clip("short", 10));
        assertTrue(VisibleText.clip("a\u001b".repeat(10), 5).startsWith("a\\ea\\"));
    }
}
