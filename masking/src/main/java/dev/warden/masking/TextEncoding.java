package dev.warden.masking;

import java.util.Locale;

/**
 * The encoding of the text values a session receives: its {@code client_encoding}, into which the server converts
 * every text value of a result, in text and binary format alike. A mask that keeps part of a value ({@code partial},
 * {@code email}) counts and copies whole characters of this encoding, byte for byte, as the server's {@code mblen}
 * splits them (src/common/wchar.c): read as UTF-8, four characters of an SJIS value could span six (an attacker's
 * pass, a144 F4), and the mask's output was UTF-8 inside an SJIS stream.
 */
public final class TextEncoding {

    /** How many bytes the character starting with byte {@code b} takes, given the byte after it ({@code -1}: none). */
    private interface Width {
        int of(int b, int next);
    }

    public static final TextEncoding UTF8 = new TextEncoding("UTF8", null);
    /** An encoding Warden does not split: a mask that keeps part of a value redacts it whole. */
    static final TextEncoding UNKNOWN = new TextEncoding("unknown", null);
    /**
     * The encoding may have changed since the server last reported it: a SET, RESET or DISCARD ran since the last
     * ReadyForQuery, before which the server reports the new one (PostgreSQL 14 and later). Masked as {@link #UNKNOWN}
     * (an attacker's pass, a145 F5: SET client_encoding earlier in the same Query had rows masked by the old one).
     */
    public static final TextEncoding UNCERTAIN = new TextEncoding("uncertain", null);

    private static final Width SINGLE = (b, next) -> 1;
    private static final Width EUC = (b, next) -> b == 0x8E ? 2 : b == 0x8F ? 3 : b >= 0x80 ? 2 : 1;
    private static final Width TWO = (b, next) -> b >= 0x80 ? 2 : 1;

    private final String name;
    private final Width width;

    private TextEncoding(String name, Width width) {
        this.name = name;
        this.width = width;
    }

    /**
     * The encoding PostgreSQL calls {@code pgName} (as ParameterStatus reports {@code client_encoding}); UTF-8 for
     * null, UTF8 and SQL_ASCII (the server converts nothing then: its own UTF-8 bytes come through).
     */
    public static TextEncoding named(String pgName) {
        if (pgName == null) {
            return UTF8;
        }
        TextEncoding known = NAMED.get(pgName);
        if (known == null) {
            known = read(pgName);
            if (NAMED.size() < 256) {
                NAMED.put(pgName, known);
            }
        }
        return known;
    }

    /** The encodings named so far, by the name as given (a session asks at each result). */
    private static final java.util.concurrent.ConcurrentHashMap<String, TextEncoding> NAMED =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static TextEncoding read(String pgName) {
        String n = pgName.toUpperCase(Locale.ROOT).replace("_", "").replace("-", "");
        Width w = switch (n) {
            case "UTF8", "UNICODE", "SQLASCII" -> null;
            case "EUCJP", "EUCJIS2004", "EUCKR" -> EUC;
            // JOHAB: every character from 0x84 up is two bytes, as clients read it (the server's pg_johab_mblen is
            // EUC's, three for 0x8F: an attacker's pass, a145 F2, had keep 4 show 4 digits after a 0x8F Hangul)
            case "EUCCN", "BIG5", "GBK", "UHC", "JOHAB" -> TWO;
            case "EUCTW" -> (b, next) -> b == 0x8E ? 4 : b == 0x8F ? 3 : b >= 0x80 ? 2 : 1;
            case "SJIS", "SHIFTJIS2004" -> (b, next) -> b >= 0xA1 && b <= 0xDF ? 1 : b >= 0x80 ? 2 : 1;
            case "GB18030" -> (b, next) -> b < 0x80 ? 1 : next >= 0x30 && next <= 0x39 ? 4 : 2;
            case "MULEINTERNAL" -> (b, next) -> b >= 0x81 && b <= 0x8D ? 2 : b == 0x9A || b == 0x9B ? 3
                    : b >= 0x90 && b <= 0x99 ? 3 : b == 0x9C || b == 0x9D ? 4 : 1;
            default -> n.startsWith("LATIN") || n.startsWith("ISO8859") || n.startsWith("WIN")
                    || n.startsWith("KOI8") ? SINGLE : null;
        };
        if (w == null && !n.equals("UTF8") && !n.equals("UNICODE") && !n.equals("SQLASCII")) {
            return UNKNOWN;
        }
        return w == null ? UTF8 : new TextEncoding(n, w);
    }

    public boolean isUtf8() {
        return this == UTF8;
    }

    /** Whether Warden cannot tell where this encoding's characters begin (unknown, or uncertain). */
    boolean unsplit() {
        return width == null && this != UTF8;
    }

    /**
     * {@code v} read as if each byte of 0x80 or more began a character of two bytes (the byte after it made 0x80
     * too): with {@link #detectionView}'s reading by UTF-8, the two readings value detection tries where the encoding
     * is {@link #unsplit}; null when it has no such byte.
     */
    static byte[] pairedView(byte[] v, int off, int len) {
        byte[] view = null;
        int end = off + len;
        for (int i = off; i < end; i++) {
            if (v[i] < 0) {
                if (view == null) {
                    view = v.clone();
                }
                view[i] = (byte) 0x80;
                if (i + 1 < end) {
                    view[i + 1] = (byte) 0x80;
                }
                i++;
            }
        }
        return view;
    }

    /** The offsets of the characters of {@code v[off, off + len)}, with {@code off + len} last; null: not split. */
    private int[] characters(byte[] v, int off, int len) {
        if (width == null) {
            return null;
        }
        int end = off + len;
        int[] at = new int[len + 1];
        int n = 0;
        for (int i = off; i < end; ) {
            at[n++] = i;
            int w = width.of(v[i] & 0xFF, i + 1 < end ? v[i + 1] & 0xFF : -1);
            if (i + w > end) {
                return null; // a character cut off: not text of this encoding
            }
            i += w;
        }
        at[n] = end;
        return java.util.Arrays.copyOf(at, n + 1);
    }

    /**
     * {@code partial}: every character but the last {@code keep} becomes {@code *}, the kept ones their own bytes;
     * a value not longer than {@code keep} is all stars. {@code [redacted]} where the value cannot be split.
     */
    byte[] partial(byte[] v, int off, int len, int keep) {
        int[] at = characters(v, off, len);
        if (at == null) {
            return ValueMasker.utf8(ValueMasker.REDACTED);
        }
        int chars = at.length - 1;
        int clear = chars > keep ? keep : 0;
        int from = at[chars - clear];
        byte[] out = new byte[chars - clear + (off + len - from)];
        java.util.Arrays.fill(out, 0, chars - clear, (byte) '*');
        System.arraycopy(v, from, out, chars - clear, off + len - from);
        return out;
    }

    /**
     * {@code email}: the first character, {@code ***}, and the last {@code @} (a whole character, not a trail byte)
     * with what follows; surrounding ASCII white space dropped. {@code [redacted]} when it is no address.
     */
    byte[] email(byte[] v, int off, int len) {
        int start = off;
        int end = off + len;
        while (start < end && Character.isWhitespace(v[start]) && v[start] >= 0) {
            start++;
        }
        while (end > start && Character.isWhitespace(v[end - 1]) && v[end - 1] >= 0) {
            end--;
        }
        int[] at = characters(v, start, end - start);
        if (at == null) {
            return ValueMasker.utf8(ValueMasker.REDACTED);
        }
        int sign = -1;
        for (int k = 0; k < at.length - 1; k++) {
            if (at[k + 1] - at[k] == 1 && v[at[k]] == '@') {
                sign = k;
            }
        }
        if (sign <= 0 || sign == at.length - 2) {
            return ValueMasker.utf8(ValueMasker.REDACTED);
        }
        int first = at[1] - at[0];
        byte[] out = new byte[first + 3 + (end - at[sign])];
        System.arraycopy(v, start, out, 0, first);
        out[first] = out[first + 1] = out[first + 2] = '*';
        System.arraycopy(v, at[sign], out, first + 3, end - at[sign]);
        return out;
    }

    /**
     * {@code v} as value detection reads it: a copy where each byte of a character of two bytes or more is 0x80 (no
     * ASCII), as in UTF-8, whose detectors read only ASCII; null when {@code v[off, off + len)} needs none (UTF-8, a
     * one-byte encoding, no such character). In SJIS, BIG5, GBK, UHC, GB18030 and JOHAB a character's later bytes
     * may be ASCII (GB18030's are digits): read as they are, they joined or split the digits of a number next to
     * them. An encoding Warden does not split is read with every byte of 0x80 or more as such a character.
     */
    byte[] detectionView(byte[] v, int off, int len) {
        if (width == SINGLE || this == UTF8 || width == null) {
            return null; // an unsplit encoding is read both ways by the caller (see pairedView)
        }
        int end = off + len;
        int k = off;
        while (k < end && v[k] >= 0) {
            k++;
        }
        if (k == end) {
            return null; // ASCII only
        }
        byte[] view = v.clone();
        for (int i = off; i < end; ) {
            int b = v[i] & 0xFF;
            int w = width == null ? 1 : Math.min(width.of(b, i + 1 < end ? v[i + 1] & 0xFF : -1), end - i);
            if (w > 1 || b >= 0x80) {
                java.util.Arrays.fill(view, i, i + w, (byte) 0x80);
            }
            i += w;
        }
        return view;
    }

    /** How many characters {@code v} holds; -1 where it cannot be split. */
    int length(byte[] v) {
        int[] at = characters(v, 0, v.length);
        return at == null ? -1 : at.length - 1;
    }

    /** The first {@code n} characters of {@code v} (which holds more). */
    byte[] first(byte[] v, int n) {
        int[] at = characters(v, 0, v.length);
        return java.util.Arrays.copyOf(v, at[n]);
    }

    @Override
    public String toString() {
        return name;
    }
}
