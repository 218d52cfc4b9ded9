package dev.warden.masking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.MaskingSettings.MaskingRule.Strategy;
import dev.warden.config.Secret;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ValueMaskerTest {

    private static final String KEY = "test-key-0123456789abcdef";
    private final ValueMasker masker = new ValueMasker(new Tokenizer(Secret.of(KEY)));

    private static final int BOOL = 16, INT2 = 21, INT4 = 23, INT8 = 20, FLOAT8 = 701, NUMERIC = 1700, DATE = 1082,
            TIMESTAMPTZ = 1184, UUID = 2950, TEXT = 25, VARCHAR = 1043, BYTEA = 17, JSON = 114, JSONB = 3802;

    private byte[] mask(Strategy s, int oid, boolean binary, byte[] value) {
        return masker.maskWhole(new Treatment(s, 4, "n/a", "test"), PgType.of(oid), -1, binary, value, 0,
                value.length);
    }

    /** char(n) values are n characters long, masked too; varchar(n) ones at most n. */
    @org.junit.jupiter.api.Test
    void aMaskedCharOfFixedLengthKeepsItsLength() {
        PgType bpchar = PgType.of(PgType.BPCHAR);
        for (boolean binary : new boolean[] {false, true}) {
            byte[] v = "secret-value".getBytes(StandardCharsets.UTF_8);
            Treatment redact = new Treatment(Strategy.REDACT, 4, "n/a", "test");
            assertEquals("[redacted]  ", new String(masker.maskWhole(redact, bpchar, 12 + 4, binary, v, 0, v.length),
                    StandardCharsets.UTF_8));
            assertEquals("[red", new String(masker.maskWhole(redact, bpchar, 4 + 4, binary, v, 0, v.length),
                    StandardCharsets.UTF_8));
            assertEquals("[redacted]", new String(masker.maskWhole(redact, PgType.of(VARCHAR), 12 + 4, binary, v, 0,
                    v.length), StandardCharsets.UTF_8));
        }
    }

    private String maskText(Strategy s, int oid, String value) {
        byte[] out = mask(s, oid, false, value.getBytes(StandardCharsets.UTF_8));
        return out == ValueMasker.SQL_NULL ? null : new String(out, StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0} as text: redact → {2}")
    @CsvSource(delimiter = '|', nullValues = "NULL", value = {
            "int2|1234|NULL", "int4|42|NULL", "int8|9000000000|NULL", "float8|3.5|NULL", "numeric|12.50|NULL",
            "bool|t|NULL", "date|1990-05-17|NULL", "timestamptz|2024-01-01 10:00:00+00|NULL",
            "uuid|123e4567-e89b-12d3-a456-426614174000|NULL",
            "text|secret|[redacted]", "varchar|secret|[redacted]", "bytea|\\x0102|NULL",
            "json|{\"a\":1}|\"[redacted]\"", "jsonb|{\"a\": 1}|\"[redacted]\""})
    void redactGivesAStringPlaceholderOrNullNeverAPlausibleValue(String type, String value, String expected) {
        int oid = switch (type) {
            case "int2" -> INT2; case "int4" -> INT4; case "int8" -> INT8; case "float8" -> FLOAT8;
            case "numeric" -> NUMERIC; case "bool" -> BOOL; case "date" -> DATE; case "timestamptz" -> TIMESTAMPTZ;
            case "uuid" -> UUID; case "text" -> TEXT; case "varchar" -> VARCHAR; case "bytea" -> BYTEA;
            case "json" -> JSON; default -> JSONB;
        };
        assertEquals(expected, maskText(Strategy.REDACT, oid, value));
    }

    /**
     * point, bit, int4range, tsvector, aclitem, regclass, int4multirange and an array of points take no [redacted] as
     * input: masked, they are NULL in both formats and under every strategy (but fixed for an array) (attacker pass a140, F6: text format sent [redacted]). A type
     * masking does not know (an extension's, as citext) keeps [redacted] in text.
     */
    @Test
    void aBuiltInTypeWithNoFreeTextMasksToNull() {
        byte[] v = "(1,2)".getBytes(StandardCharsets.UTF_8);
        for (int oid : new int[] {600, 1560, 3904, 3614, 1033, 2205, 1017, 4451}) {
            assertEquals(PgType.Kind.SCALAR, PgType.of(oid).kind() == PgType.Kind.ARRAY
                    ? PgType.of(PgType.of(oid).elementOid()).kind() : PgType.of(oid).kind(), "oid " + oid);
            for (Strategy s : new Strategy[] {Strategy.REDACT, Strategy.FIXED, Strategy.HASH, Strategy.PARTIAL}) {
                if (s == Strategy.FIXED && PgType.of(oid).kind() == PgType.Kind.ARRAY) {
                    assertEquals("{}", maskText(s, oid, "{}"), "fixed asks an array's placeholder, an empty array");
                    continue;
                }
                for (boolean binary : new boolean[] {false, true}) {
                    assertSame(ValueMasker.SQL_NULL, mask(s, oid, binary, v), oid + " " + s + " " + binary);
                }
            }
        }
        assertEquals("[redacted]", maskText(Strategy.REDACT, 99_999, "secret"));
        // hash falls back to redact for a type it gives no value of: not fixed's placeholder (a hashed true was f).
        for (int oid : new int[] {BOOL, DATE, TIMESTAMPTZ, 790, 1007, 1000}) {
            for (boolean binary : new boolean[] {false, true}) {
                assertSame(ValueMasker.SQL_NULL, mask(Strategy.HASH, oid, binary, "t".getBytes(StandardCharsets.UTF_8)),
                        oid + " " + binary);
            }
        }
        // A detector's hit in one's text: the whole value is NULL, not a tsvector with [redacted] in it.
        byte[] tsvector = "'123-45-6789':1 'ssn':2".getBytes(StandardCharsets.UTF_8);
        long[] hits = new long[1];
        assertSame(ValueMasker.SQL_NULL, masker.maskSpans(PgType.of(3614), false, tsvector, 0, tsvector.length,
                java.util.Set.copyOf(dev.warden.config.MaskingSettings.VALUE_DETECTORS),
                d -> Treatment.of(Strategy.PARTIAL, "detector:" + d), hits, 0));
        assertEquals(1, hits[0]);
    }

    @ParameterizedTest(name = "{0} as text: fixed → {2}")
    @CsvSource(delimiter = '|', value = {
            "int4|42|0", "bool|t|f", "date|1990-05-17|1970-01-01",
            "uuid|123e4567-e89b-12d3-a456-426614174000|00000000-0000-0000-0000-000000000000"})
    void fixedAsksForATypeValidPlaceholder(String type, String value, String expected) {
        int oid = switch (type) {
            case "int4" -> INT4; case "bool" -> BOOL; case "date" -> DATE; default -> UUID;
        };
        assertEquals(expected, maskText(Strategy.FIXED, oid, value));
    }

    @Test
    void redactInBinaryGivesValidEncodingsOrNull() {
        for (int oid : new int[] {INT2, INT4, INT8, FLOAT8, BOOL, DATE, TIMESTAMPTZ, UUID, NUMERIC, 1009}) {
            assertSame(ValueMasker.SQL_NULL, mask(Strategy.REDACT, oid, true, new byte[8]), PgType.of(oid).name());
        }
        // fixed asks for a placeholder of the type: sizes and encodings stay valid
        assertArrayEquals(new byte[2], mask(Strategy.FIXED, INT2, true, new byte[] {0, 7}));
        assertArrayEquals(new byte[1], mask(Strategy.FIXED, BOOL, true, new byte[] {1}));
        assertArrayEquals(ByteBuffer.allocate(4).putInt(-10957).array(), mask(Strategy.FIXED, DATE, true, new byte[4]));
        assertArrayEquals(new byte[16], mask(Strategy.FIXED, UUID, true, new byte[16]));
        // numeric zero: ndigits 0, weight 0, sign 0, dscale 0
        assertArrayEquals(new byte[8], mask(Strategy.FIXED, NUMERIC, true, new byte[] {0, 1, 0, 0, 0, 0, 0, 0, 0, 12}));
        assertArrayEquals("[redacted]".getBytes(), mask(Strategy.REDACT, TEXT, true, "secret".getBytes()));
        assertArrayEquals("[redacted]".getBytes(), mask(Strategy.REDACT, VARCHAR, true, "secret".getBytes()));
        assertArrayEquals(new byte[0], mask(Strategy.REDACT, BYTEA, true, new byte[] {1, 2, 3}));
        assertArrayEquals("\"[redacted]\"".getBytes(), mask(Strategy.REDACT, JSON, true, "{}".getBytes()));
        byte[] jsonb = mask(Strategy.REDACT, JSONB, true, "\u0001{}".getBytes());
        assertEquals(1, jsonb[0], "jsonb binary starts with its version byte");
        assertEquals("\"[redacted]\"", new String(jsonb, 1, jsonb.length - 1, StandardCharsets.UTF_8));
        assertArrayEquals(ByteBuffer.allocate(12).putInt(0).putInt(0).putInt(25).array(),
                mask(Strategy.FIXED, 1009, true, new byte[20]), "fixed text[] becomes an empty array of text");
        assertSame(ValueMasker.SQL_NULL, mask(Strategy.REDACT, 99999, true, new byte[3]),
                "an unknown binary encoding can only be NULL");
    }

    @Test
    void everyFixedSizeBinaryTypeKeepsItsSizeOrBecomesNullUnderEveryStrategy() {
        int[][] sizes = {{BOOL, 1}, {INT2, 2}, {INT4, 4}, {INT8, 8}, {FLOAT8, 8}, {700, 4}, {DATE, 4}, {1114, 8},
                {TIMESTAMPTZ, 8}, {UUID, 16}, {1083, 8}, {1186, 16}, {1266, 12}, {26, 4}, {790, 8}};
        for (Strategy s : new Strategy[] {Strategy.REDACT, Strategy.PARTIAL, Strategy.EMAIL, Strategy.HASH,
                Strategy.TOKENIZE, Strategy.FIXED}) {
            for (int[] t : sizes) {
                byte[] in = new byte[t[1]];
                in[0] = 1;
                byte[] out = mask(s, t[0], true, in);
                if (out != ValueMasker.SQL_NULL) {
                    assertEquals(t[1], out.length, s + " on " + PgType.of(t[0]).name());
                }
            }
        }
    }

    @Test
    void partialKeepsTheLastCharacters() {
        assertEquals("************1234", maskText(Strategy.PARTIAL, TEXT, "4111111111111234"));
        assertEquals("****", maskText(Strategy.PARTIAL, TEXT, "1234"), "too short: nothing kept");
        assertEquals("***ßéü€", maskText(Strategy.PARTIAL, VARCHAR, "abcßéü€").replace("ß", "ß"));
        assertNull(maskText(Strategy.PARTIAL, INT4, "123456"), "partial on a number falls back to redact: NULL");
    }

    /**
     * Under another client_encoding, partial and email keep whole characters of that encoding, byte for byte: read as
     * UTF-8, "keep 4" of an SJIS value kept 6 characters, and the stars went out as UTF-8 (attacker pass a144, F4).
     * Each value is built from characters whose bytes in the encoding read as valid UTF-8 or hide ASCII trail bytes.
     */
    @Test
    void partialAndEmailKeepWholeCharactersOfTheClientEncoding() {
        Treatment partial = new Treatment(Strategy.PARTIAL, 4, "n/a", "test");
        Treatment email = new Treatment(Strategy.EMAIL, 4, "n/a", "test");
        record Case(String pg, String java, String value) { }
        for (Case c : java.util.List.of(new Case("SJIS", "windows-31j", "一二三四五六陝り氓陝り氓"),
                new Case("GB18030", "GB18030", "一二三\u20ac𠀀四五六七"), new Case("BIG5", "Big5", "一二三四五六七八"),
                new Case("EUC_JP", "EUC-JP", "一二三ｱｲ四五六"), new Case("UHC", "x-windows-949", "가나다라마바사"),
                new Case("LATIN1", "ISO-8859-1", "abcdéüßx"), new Case("EUC_TW", "x-EUC-TW", "一二三四五六七"),
                // a145 F2: JOHAB's 0x8F Hangul are two bytes, not EUC's three
                new Case("JOHAB", "x-Johab", "뀨1뀨2뀨3뀨4"))) {
            java.nio.charset.Charset cs = java.nio.charset.Charset.forName(c.java());
            TextEncoding enc = TextEncoding.named(c.pg());
            byte[] v = c.value().getBytes(cs);
            int[] cps = c.value().codePoints().toArray();
            String kept = new String(cps, cps.length - 4, 4);
            byte[] out = masker.maskWhole(partial, PgType.of(TEXT), -1, false, v, 0, v.length, enc);
            assertEquals("*".repeat(cps.length - 4) + kept, new String(out, cs), c.pg());
            byte[] address = (" " + c.value() + "@corp.jp ").getBytes(cs);
            byte[] masked = masker.maskWhole(email, PgType.of(TEXT), -1, false, address, 0, address.length, enc);
            assertEquals(c.value().substring(0, c.value().offsetByCodePoints(0, 1)) + "***@corp.jp",
                    new String(masked, cs), c.pg());
        }
        // '@' (0x40) as an SJIS trail byte is no '@': 0x81 0x40 is the ideographic space.
        byte[] noAddress = "x\u3000y".getBytes(java.nio.charset.Charset.forName("windows-31j"));
        assertEquals("[redacted]", new String(masker.maskWhole(email, PgType.of(TEXT), -1, false, noAddress, 0,
                noAddress.length, TextEncoding.named("SJIS")), StandardCharsets.US_ASCII));
        // An encoding Warden does not split redacts a value partial would keep part of.
        byte[] any = "abcdef".getBytes(StandardCharsets.US_ASCII);
        assertEquals("[redacted]", new String(masker.maskWhole(partial, PgType.of(TEXT), -1, false, any, 0, any.length,
                TextEncoding.named("NO_SUCH_ENCODING")), StandardCharsets.US_ASCII));
        // char(n) is padded and varchar(n) cut by characters of the encoding.
        byte[] sj = "一二三四五六".getBytes(java.nio.charset.Charset.forName("windows-31j"));
        Treatment fixed = new Treatment(Strategy.PARTIAL, 2, "n/a", "test");
        assertEquals("****五六  ", new String(masker.maskWhole(fixed, PgType.of(PgType.BPCHAR), 8 + 4, false, sj, 0,
                sj.length, TextEncoding.named("SJIS")), java.nio.charset.Charset.forName("windows-31j")));
    }

    /**
     * Value detection under an encoding whose characters may end in ASCII bytes: GB18030's four-byte characters end
     * in digits (U+20000 is 95 32 82 36), which read as they are glued themselves to a number beside them. The
     * detectors read the value with those bytes made non-ASCII, as in UTF-8, and the spans are masked in place.
     */
    @Test
    void valueDetectionReadsMultiByteCharactersOfTheClientEncodingAsNoDigits() {
        java.nio.charset.Charset gb = java.nio.charset.Charset.forName("GB18030");
        java.util.Set<String> all = java.util.Set.copyOf(dev.warden.config.MaskingSettings.VALUE_DETECTORS);
        for (String text : java.util.List.of("𠀀4111111111111111𠀀", "𠀀536-22-8471𠀀", "\u00e94111 1111 1111 1111\u00e9")) {
            byte[] v = text.getBytes(gb);
            byte[] masked = masker.maskSpans(PgType.of(TEXT), false, v, 0, v.length, all,
                    d -> Treatment.of(Strategy.REDACT, "detector:" + d), new long[1], 0, TextEncoding.named("GB18030"));
            String out = masked == null ? text : new String(masked, gb);
            assertTrue(!out.contains("4111") && !out.contains("8471"), text + " -> " + out);
            assertEquals(text.substring(0, text.offsetByCodePoints(0, 1)), out.substring(0, out.offsetByCodePoints(0, 1)),
                    "the characters around it stay whole");
        }
    }

    @Test
    void emailKeepsTheFirstLetterAndTheDomain() {
        assertEquals("j***@acme.com", maskText(Strategy.EMAIL, TEXT, "john.doe@acme.com"));
        assertEquals("[redacted]", maskText(Strategy.EMAIL, TEXT, "not an address"));
        assertEquals("\"[redacted]\"", maskText(Strategy.EMAIL, JSON, "\"john@acme.com\""));
    }

    @Test
    void hashAndTokenizeAreDeterministicAndKeyed() {
        String token = maskText(Strategy.TOKENIZE, TEXT, "john@acme.com");
        assertTrue(token.matches("tok_[0-9a-f]{32}"), token);
        assertEquals(token, maskText(Strategy.TOKENIZE, TEXT, "john@acme.com"));
        assertEquals(token, new String(mask(Strategy.TOKENIZE, VARCHAR, true, "john@acme.com".getBytes())),
                "text and binary strings tokenize alike");
        assertEquals(token.substring(4), maskText(Strategy.HASH, TEXT, "john@acme.com"));
        assertNotEquals(token, maskText(Strategy.TOKENIZE, TEXT, "jane@acme.com"));
        ValueMasker other = new ValueMasker(new Tokenizer(Secret.of("another-key-0123456789")));
        byte[] v = "john@acme.com".getBytes();
        assertNotEquals(token, new String(other.maskWhole(Treatment.of(Strategy.TOKENIZE, "t"), PgType.of(TEXT), -1,
                false, v, 0, v.length)));
        assertEquals("\"" + token + "\"", maskText(Strategy.TOKENIZE, JSON, "john@acme.com"));
    }

    @Test
    void hashedNumbersStayNumbersOfTheirTypeInBothFormats() {
        String text = maskText(Strategy.HASH, INT4, "42");
        assertTrue(text.matches("\\d+"), text);
        byte[] binary = mask(Strategy.HASH, INT4, true, ByteBuffer.allocate(4).putInt(42).array());
        assertEquals(4, binary.length);
        assertEquals(Long.parseLong(text), ByteBuffer.wrap(binary).getInt(), "42 hashes alike in text and binary");
        assertEquals(2, mask(Strategy.HASH, INT2, true, new byte[] {0, 42}).length);
        assertEquals(8, mask(Strategy.HASH, INT8, true, new byte[8]).length);
        assertTrue(maskText(Strategy.HASH, NUMERIC, "12.50").matches("\\d+"));
        byte[] numeric = mask(Strategy.HASH, NUMERIC, true, new byte[] {0, 1, 0, 0, 0, 0, 0, 0, 0, 12});
        ByteBuffer b = ByteBuffer.wrap(numeric);
        int ndigits = b.getShort();
        assertEquals(8 + 2 * ndigits, numeric.length);
        assertEquals(ndigits - 1, b.getShort(), "weight");
        String uuid = maskText(Strategy.HASH, UUID, "123e4567-e89b-12d3-a456-426614174000");
        assertTrue(uuid.matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), uuid);
        assertEquals(32, mask(Strategy.HASH, BYTEA, true, new byte[] {1}).length);
        assertTrue(maskText(Strategy.HASH, BYTEA, "\\x01").matches("\\\\x[0-9a-f]{64}"));
    }

    @Test
    void numericBinaryEncodesBase10000Digits() {
        assertEquals("0002000100000000" + "000c" + "0d80", HexFormat.of().formatHex(ValueMasker.numericBinary(123456)));
        assertEquals("00010001000000000001", HexFormat.of().formatHex(ValueMasker.numericBinary(10000)));
    }

    @Test
    void nullStrategyGivesNullAndKeepChangesNothing() {
        assertSame(ValueMasker.SQL_NULL, mask(Strategy.NULL, INT4, true, new byte[4]));
        assertSame(ValueMasker.SQL_NULL, mask(Strategy.NULL, TEXT, false, "x".getBytes()));
        assertNull(mask(Strategy.KEEP, TEXT, false, "x".getBytes()));
    }

    @Test
    void fixedIsForStringsOnly() {
        assertEquals("n/a", maskText(Strategy.FIXED, TEXT, "secret"));
        assertEquals("0", maskText(Strategy.FIXED, INT4, "7"));
        assertEquals("\"[redacted]\"", maskText(Strategy.FIXED, JSONB, "{}"));
    }

    @Test
    void varcharPlaceholdersRespectTheDeclaredLength() {
        byte[] v = "abcdef".getBytes();
        byte[] out = masker.maskWhole(Treatment.of(Strategy.REDACT, "t"), PgType.of(VARCHAR), 4 + 6, false, v, 0,
                v.length);
        assertEquals("[redac", new String(out));
    }
}
