package dev.warden.sql;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How the server turns a message's bytes into the text its lexer reads. PostgreSQL converts every Query and
 * Parse text from {@code client_encoding} to the server encoding before lexing it, so Warden must decode the
 * same bytes with the same encoding: in SJIS, BIG5, GBK, UHC, GB18030 and JOHAB the second byte of a character
 * can be {@code \}, {@code '} or another ASCII byte, and a UTF-8 reading would see a backslash the server
 * never sees. When the server encoding is {@code SQL_ASCII} the server converts nothing and lexes the raw
 * bytes, which a one-byte-per-character reading mirrors.
 *
 * <p>Decoding is strict: bytes that are not valid in the encoding raise {@link CharacterCodingException} (the
 * server refuses them too, with 22021), so Warden never lexes a guess. An encoding Java cannot read is
 * {@linkplain #named unknown}, and the proxy refuses to lex under it.
 */
public final class ClientEncoding {

    /** PostgreSQL's names (upper case, as ParameterStatus reports them) and the Java charset of each. */
    private static final Map<String, String> JAVA_NAMES = Map.ofEntries(
            Map.entry("UTF8", "UTF-8"), Map.entry("UNICODE", "UTF-8"),
            Map.entry("SQL_ASCII", "UTF-8"),
            Map.entry("LATIN1", "ISO-8859-1"), Map.entry("LATIN2", "ISO-8859-2"), Map.entry("LATIN3", "ISO-8859-3"),
            Map.entry("LATIN4", "ISO-8859-4"), Map.entry("LATIN5", "ISO-8859-9"), Map.entry("LATIN6", "ISO-8859-10"),
            Map.entry("LATIN7", "ISO-8859-13"), Map.entry("LATIN8", "ISO-8859-14"),
            Map.entry("LATIN9", "ISO-8859-15"), Map.entry("LATIN10", "ISO-8859-16"),
            Map.entry("ISO_8859_5", "ISO-8859-5"), Map.entry("ISO_8859_6", "ISO-8859-6"),
            Map.entry("ISO_8859_7", "ISO-8859-7"), Map.entry("ISO_8859_8", "ISO-8859-8"),
            Map.entry("WIN1250", "windows-1250"), Map.entry("WIN1251", "windows-1251"),
            Map.entry("WIN1252", "windows-1252"), Map.entry("WIN1253", "windows-1253"),
            Map.entry("WIN1254", "windows-1254"), Map.entry("WIN1255", "windows-1255"),
            Map.entry("WIN1256", "windows-1256"), Map.entry("WIN1257", "windows-1257"),
            Map.entry("WIN1258", "windows-1258"), Map.entry("WIN866", "IBM866"), Map.entry("WIN874", "x-windows-874"),
            Map.entry("KOI8R", "KOI8-R"), Map.entry("KOI8U", "KOI8-U"),
            Map.entry("EUC_JP", "EUC-JP"), Map.entry("EUC_CN", "GB2312"), Map.entry("EUC_KR", "EUC-KR"),
            Map.entry("EUC_TW", "x-EUC-TW"),
            Map.entry("EUC_JIS_2004", "ISO-8859-1"), Map.entry("MULE_INTERNAL", "ISO-8859-1"),
            Map.entry("SHIFT_JIS_2004", "windows-31j"),
            Map.entry("SJIS", "windows-31j"), Map.entry("BIG5", "Big5"), Map.entry("GBK", "GBK"),
            Map.entry("UHC", "x-windows-949"), Map.entry("GB18030", "GB18030"), Map.entry("JOHAB", "x-Johab"));

    /**
     * Client-only encodings whose multi-byte characters may contain ASCII bytes. (EUC_JIS_2004 and
     * MULE_INTERNAL, which Java cannot decode, never put an ASCII byte inside a character, so a
     * byte-per-character reading splits them exactly; SHIFT_JIS_2004 has SJIS's byte structure, and
     * characters outside windows-31j are refused rather than guessed; its one ASCII character windows-31j reads
     * otherwise is mended in {@link #decode}.)
     */
    private static final Set<String> ASCII_UNSAFE = Set.of("SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "UHC",
            "GB18030", "JOHAB");

    /** Raw bytes, one character each: what the server lexes when it converts nothing. */
    public static final ClientEncoding RAW = new ClientEncoding("SQL_ASCII (raw)", StandardCharsets.ISO_8859_1,
            false);
    public static final ClientEncoding UTF8 = new ClientEncoding("UTF8", StandardCharsets.UTF_8, false);

    private final String name;
    private final Charset charset;
    private final boolean asciiUnsafe;
    /**
     * SHIFT_JIS_2004 into a UTF-8 server: its table makes {@code 0x81 0x5F} a plain backslash, where
     * windows-31j (and the server's conversion into EUC_JIS_2004, the one other it has) make a fullwidth one.
     */
    private final boolean backslashAt815F;

    /**
     * The server converts into UTF-8, by tables that map no character with an ASCII byte outside the encoding's
     * trail ranges; into another encoding (BIG5 into EUC_TW) it may convert any pair its verifier passes.
     */
    private final boolean intoUtf8;

    private ClientEncoding(String name, Charset charset, boolean asciiUnsafe) {
        this(name, charset, asciiUnsafe, false, true);
    }

    private ClientEncoding(String name, Charset charset, boolean asciiUnsafe, boolean backslashAt815F,
                           boolean intoUtf8) {
        this.name = name;
        this.charset = charset;
        this.asciiUnsafe = asciiUnsafe;
        this.backslashAt815F = backslashAt815F;
        this.intoUtf8 = intoUtf8;
    }

    /** This encoding as a server in {@code serverEncoding} converts it (see {@link #of}). */
    public ClientEncoding into(String serverEncoding) {
        boolean utf8 = serverEncoding == null || normalize(serverEncoding).equals("UTF8")
                || normalize(serverEncoding).equals("UNICODE");
        // Only the lenient reading of an encoding that may hide ASCII bytes, and 0x81 0x5F, differ by the server's.
        return !asciiUnsafe || utf8 == intoUtf8 && (utf8 || !backslashAt815F) ? this
                : new ClientEncoding(name, charset, asciiUnsafe, backslashAt815F && utf8, utf8);
    }

    /**
     * The encoding the server's lexer effectively reads for this {@code client_encoding} and
     * {@code server_encoding}; empty when Java has no matching charset.
     */
    public static Optional<ClientEncoding> of(String clientEncoding, String serverEncoding) {
        if (serverEncoding != null && normalize(serverEncoding).equals(normalize("SQL_ASCII"))) {
            return Optional.of(RAW);
        }
        return named(clientEncoding).map(e -> e.into(serverEncoding));
    }

    /**
     * The encoding PostgreSQL calls {@code pgName} (any case; {@code _} and {@code -} ignored), as a UTF-8 server
     * converts it.
     */
    public static Optional<ClientEncoding> named(String pgName) {
        if (pgName == null) {
            return Optional.empty();
        }
        String key = normalize(pgName);
        String canonical = JAVA_NAMES.keySet().stream().filter(k -> normalize(k).equals(key)).findFirst()
                .orElse(null);
        if (canonical == null) {
            return Optional.empty();
        }
        String java = JAVA_NAMES.get(canonical);
        if (!Charset.isSupported(java)) {
            return Optional.empty();
        }
        return Optional.of(canonical.equals("UTF8") ? UTF8
                : new ClientEncoding(canonical, Charset.forName(java), ASCII_UNSAFE.contains(canonical),
                        canonical.equals("SHIFT_JIS_2004"), true));
    }

    private static String normalize(String name) {
        return name.toUpperCase(Locale.ROOT).replace("_", "").replace("-", "");
    }

    /** PostgreSQL's name of the encoding. */
    public String name() {
        return name;
    }

    /** Whether a multi-byte character may contain ASCII bytes (so only this decoding reads the text right). */
    public boolean asciiUnsafe() {
        return asciiUnsafe;
    }

    /** The text the server lexes, or an exception when the bytes are not valid in this encoding. */
    public String decode(byte[] bytes, int offset, int length) throws CharacterCodingException {
        CharBuffer chars = charset.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes, offset, length));
        String text = chars.toString();
        if (backslashAt815F) {
            // windows-31j reads 0x81 0x5F as U+FF3C (a fullwidth backslash, as SJIS does); PostgreSQL's
            // SHIFT_JIS_2004 into UTF-8 reads it as a plain backslash, which can end a string
            // (ClientEncodingDifferentialTest). No other byte sequence makes U+FF3C in windows-31j.
            text = text.replace('\uFF3C', '\\');
        }
        if (text.indexOf('\0') >= 0) {
            throw new CharacterCodingException();
        }
        return text;
    }

    public String decode(byte[] bytes) throws CharacterCodingException {
        return decode(bytes, 0, bytes.length);
    }

    /**
     * The text as the server would split it under this encoding, each character Java cannot read one U+FFFD: for a
     * reading of what the server would lex if the session's encoding were this one. Java refuses sequences the
     * server reads (1,639 of SHIFT_JIS_2004's two-byte characters in windows-31j), and a decoder that replaces
     * them takes some for a malformed first byte and reads the second as ASCII ({@code 0x82 0x40} as U+FFFD and
     * {@code @}). So where a character's bytes may hold ASCII ones, the text is cut into characters by the byte
     * lengths PostgreSQL gives them ({@code pg_wchar.c}'s {@code mblen}), and each is decoded alone
     * (ClientEncodingDifferentialTest checks every one- and two-byte sequence against the server's conversions).
     * Null when the server refuses the text under this encoding, so that it runs nothing read so: a character
     * cut short at the end, or one holding an ASCII byte where no character of the encoding has one (a lead byte
     * before a quote: a UTF-8 {@code '€5'} read as GB18030 swallowed its closing quote, and a JDBC batch of such
     * texts was refused).
     */
    public String decodeLeniently(byte[] bytes) {
        if (!asciiUnsafe) {
            // Every byte of a multi-byte character is 0x80 or above: a replaced one moves no ASCII character.
            try {
                return charset.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                        .onUnmappableCharacter(CodingErrorAction.REPLACE).decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException cannot) {
                throw new IllegalStateException("a replacing decoder reported " + cannot, cannot);
            }
        }
        StringBuilder out = new StringBuilder(bytes.length);
        int i = 0;
        while (i < bytes.length) {
            int b = bytes[i] & 0xFF;
            int length = serverLength(bytes, i);
            if (length > bytes.length - i) {
                return null; // cut short: the server refuses the text
            }
            if (length == 1) {
                String c = b < 0x80 ? null : one(bytes, i, 1);
                out.append(b < 0x80 ? String.valueOf((char) b) : c == null ? "\uFFFD" : c);
            } else if (backslashAt815F && b == 0x81 && (bytes[i + 1] & 0xFF) == 0x5F) {
                out.append('\\');
            } else if (backslashAt815F && b == 0x81 && (bytes[i + 1] & 0xFF) == 0xB0) {
                out.append('~'); // SHIFT_JIS_2004 into UTF-8: a plain tilde to the server, none in windows-31j
            } else {
                String c = one(bytes, i, length);
                if (c == null) {
                    if (!mayHoldAscii(bytes, i, length)) {
                        return null;
                    }
                    c = "\uFFFD";
                }
                out.append(c);
            }
            i += length;
        }
        return out.toString();
    }

    /**
     * Whether the character of {@code length} bytes at {@code from} has its bytes where a character of this
     * encoding may (the ranges of the encoding's trail bytes: a byte below 0x80 elsewhere makes the server refuse
     * it, as its verifier or its conversion table does).
     */
    private boolean mayHoldAscii(byte[] bytes, int from, int length) {
        for (int k = 1; k < length; k++) {
            int t = bytes[from + k] & 0xFF;
            // A byte of 0x80 or above is no ASCII character: it may stand anywhere in a replaced character.
            if (t == 0) {
                return false; // every verifier refuses a NUL
            }
            boolean ok = t >= 0x80 || !intoUtf8 && !name.startsWith("S") && !name.equals("GB18030") || switch (name) {
                case "UHC" -> t >= 0x41 && t <= 0x5A || t >= 0x61 && t <= 0x7A;
                case "JOHAB" -> length == 2 && t >= 0x31 && t <= 0x7E;
                case "GB18030" -> length == 4 ? k % 2 == 1 && t >= 0x30 && t <= 0x39 : t >= 0x40 && t <= 0x7E;
                default -> t >= 0x40 && t <= 0x7F; // SJIS, SHIFT_JIS_2004, BIG5 (0x7F into EUC_TW), GBK
            };
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** The bytes the server gives the character starting at {@code i} ({@code pg_wchar.c}'s {@code mblen}). */
    private int serverLength(byte[] bytes, int i) {
        int b = bytes[i] & 0xFF;
        if (b < 0x80) {
            return 1;
        }
        return switch (name) {
            case "SJIS", "SHIFT_JIS_2004" -> b >= 0xA1 && b <= 0xDF ? 1 : 2;
            case "GB18030" -> i + 1 < bytes.length && (bytes[i + 1] & 0xFF) >= 0x30 && (bytes[i + 1] & 0xFF) <= 0x39
                    ? 4 : 2;
            case "JOHAB" -> b == 0x8E ? 2 : b == 0x8F ? 3 : 2; // pg_johab_mblen is pg_euc_mblen
            default -> 2; // BIG5, GBK, UHC
        };
    }

    /** One character's bytes, decoded strictly; null when Java cannot. */
    private String one(byte[] bytes, int from, int length) {
        try {
            return charset.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, from, length))
                    .toString();
        } catch (CharacterCodingException cannot) {
            return null;
        }
    }

    /** The Java charset this encoding's text is read with (the server's messages to the client are in it too). */
    public Charset charset() {
        return charset;
    }

    /** The text as the client encoding's bytes (for tests that build what a client would send). */
    public byte[] encode(String text) {
        return text.getBytes(charset);
    }

    @Override
    public String toString() {
        return name;
    }
}
