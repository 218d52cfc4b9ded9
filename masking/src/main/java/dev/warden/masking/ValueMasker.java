package dev.warden.masking;

import dev.warden.config.MaskingSettings.MaskingRule.Strategy;
import dev.warden.masking.PgType.Kind;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Set;

/**
 * Applies a strategy to one field value, in the column's type and format, so that the result is a valid
 * value of that type: text format gets a string the type's input function accepts, binary format gets the
 * type's send encoding (fixed-size types keep their size). Results: {@code null} = unchanged,
 * {@link #SQL_NULL} = send NULL, else the new bytes.
 *
 * <p>Per type, text / binary: text-like → {@code [redacted]} / its UTF-8; json → {@code "[redacted]"};
 * jsonb binary → version 1 + that text. Every other type (numbers, money, bool, dates, times, intervals, uuid,
 * inet/cidr, arrays, records, bytea, {@code "char"}, and the built-in types whose text is no free text: geometry,
 * bit strings, ranges, text search, reg* names, see {@link PgType.Kind#SCALAR}) masks to NULL: a plausible value ({@code 0},
 * {@code false}, {@code 1970-01-01}) would be wrong data that looks right. Only {@code fixed} asks for such a
 * placeholder: integers, floats, numeric, money → 0; bool → false; date → 1970-01-01; timestamps →
 * 1970-01-01 00:00:00(+00); time, interval → 00:00:00; uuid → all zeros; inet/cidr → 0.0.0.0(/32); arrays →
 * {@code {}} / an empty array; records → {@code ()} / zero fields. A type masking does not know, in binary format, becomes NULL: no other value is valid for
 * every type. {@code partial}, {@code email} and {@code fixed} only make sense for strings; elsewhere they
 * fall back to {@code redact}. {@code hash}/{@code tokenize} give a deterministic value of the type for
 * strings, json, bytea, uuid and numbers (integer-valued, non-negative); other types fall back to
 * {@code redact}.
 */
final class ValueMasker {

    /** Marker result: the field becomes NULL. Compared by identity. */
    static final byte[] SQL_NULL = new byte[0];

    static final String REDACTED = "[redacted]";
    private static final int MAX_SPANS = 64;
    /** Hits of several detectors joined in one span: no one detector's strategy fits, see {@link ValueDetectors#JOINED}. */
    private static final Treatment JOINED = Treatment.of(Strategy.REDACT, "value_detection");
    private static final long EPOCH_1970_DAYS = -10957;            // 1970-01-01 in days since 2000-01-01
    private static final long EPOCH_1970_MICROS = -946684800000000L;
    private static final HexFormat HEX = HexFormat.of();

    private final Tokenizer tokenizer;

    ValueMasker(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    // ---- whole values -------------------------------------------------------------------------------------

    byte[] maskWhole(Treatment t, PgType type, int typmod, boolean binary, byte[] v, int off, int len) {
        return maskWhole(t, type, typmod, binary, v, off, len, TextEncoding.UTF8);
    }

    /** As above, for a value of text in {@code encoding} (the session's client_encoding). */
    byte[] maskWhole(Treatment t, PgType type, int typmod, boolean binary, byte[] v, int off, int len,
                     TextEncoding encoding) {
        Strategy s = t.strategy();
        if (s == Strategy.KEEP) {
            return null;
        }
        if (s == Strategy.NULL) {
            return SQL_NULL;
        }
        boolean hash = s == Strategy.HASH || s == Strategy.TOKENIZE;
        if (s != Strategy.FIXED && masksToNull(type.kind()) && !(hash && hashable(type.kind()))) {
            // hash and tokenize fall back to redact for a type they give no value of: before, they took fixed's
            // placeholder, so a hashed boolean was sent as f, a date as 1970-01-01 and an array as {}.
            return SQL_NULL;
        }
        switch (type.kind()) {
            case TEXT:
                return fitted(stringMask(t, v, off, len, true, encoding), type, typmod, encoding);
            case OTHER:
                return binary ? SQL_NULL : stringMask(t, v, off, len, true, encoding);
            case XML:
                return utf8(hash ? token(t, v, off, len) : REDACTED);
            case JSON:
            case JSONB: {
                int skip = binary && type.kind() == Kind.JSONB && len > 0 ? 1 : 0;
                String json = "\"" + (hash ? token(t, v, off + skip, len - skip) : REDACTED) + "\"";
                return binary && type.kind() == Kind.JSONB ? jsonb(json) : utf8(json);
            }
            case BYTEA: {
                if (hash) {
                    byte[] d = tokenizer.digest(v, off, len);
                    return binary ? d : utf8("\\x" + HEX.formatHex(d));
                }
                return binary ? new byte[0] : utf8("\\x");
            }
            case INT2:
            case INT4:
            case INT8:
            case OID:
            case FLOAT4:
            case FLOAT8:
            case NUMERIC:
                return hash ? hashedNumber(type.kind(), binary, v, off, len) : zero(type.kind(), binary);
            case UUID:
                if (hash) {
                    byte[] u = Arrays.copyOf(digestOf(type.kind(), binary, v, off, len), 16);
                    u[6] = (byte) ((u[6] & 0x0f) | 0x40);
                    u[8] = (byte) ((u[8] & 0x3f) | 0x80);
                    return binary ? u : utf8(uuidText(u));
                }
                return binary ? new byte[16] : utf8("00000000-0000-0000-0000-000000000000");
            default:
                return redacted(type, binary);
        }
    }

    /**
     * What {@link #maskWhole} returns for every value of a column, when that does not depend on the value: NULL
     * (strategy {@code null}, or a type whose masked value is NULL); otherwise null. Lets a row be masked without
     * reading the value.
     */
    byte[] constantReplacement(Treatment t, PgType type) {
        Strategy s = t.strategy();
        if (s == Strategy.NULL) {
            return SQL_NULL;
        }
        boolean hash = s == Strategy.HASH || s == Strategy.TOKENIZE;
        return s != Strategy.KEEP && !hash && s != Strategy.FIXED && masksToNull(type.kind()) ? SQL_NULL : null;
    }

    /** Types {@code hash} and {@code tokenize} give a deterministic value of (see {@link #maskWhole}). */
    private static boolean hashable(Kind kind) {
        return switch (kind) {
            case INT2, INT4, INT8, OID, FLOAT4, FLOAT8, NUMERIC, UUID, BYTEA -> true;
            default -> false;
        };
    }

    /** Types whose masked value is NULL unless the policy asks for a {@code fixed} placeholder. */
    private static boolean masksToNull(Kind kind) {
        return switch (kind) {
            // bytea and "char" too: an empty bytea and a '*' were plausible values (a140 F6).
            case INT2, INT4, INT8, OID, FLOAT4, FLOAT8, NUMERIC, MONEY, BOOL, DATE, TIME, TIMETZ, TIMESTAMP,
                 TIMESTAMPTZ, INTERVAL, UUID, INET, CIDR, ARRAY, RECORD, BYTEA, CHAR, SCALAR -> true;
            default -> false;
        };
    }

    /** The placeholder ({@code fixed}) value of a type that has no string form worth keeping. */
    static byte[] redacted(PgType type, boolean binary) {
        switch (type.kind()) {
            case BOOL:
                return binary ? new byte[1] : utf8("f");
            case CHAR:
                return utf8("*");
            case MONEY:
                return binary ? new byte[8] : utf8("0.00");
            case DATE:
                return binary ? ByteBuffer.allocate(4).putInt((int) EPOCH_1970_DAYS).array() : utf8("1970-01-01");
            case TIME:
                return binary ? new byte[8] : utf8("00:00:00");
            case TIMETZ:
                return binary ? new byte[12] : utf8("00:00:00+00");
            case TIMESTAMP:
                return binary ? ByteBuffer.allocate(8).putLong(EPOCH_1970_MICROS).array() : utf8("1970-01-01 00:00:00");
            case TIMESTAMPTZ:
                return binary ? ByteBuffer.allocate(8).putLong(EPOCH_1970_MICROS).array()
                        : utf8("1970-01-01 00:00:00+00");
            case INTERVAL:
                return binary ? new byte[16] : utf8("00:00:00");
            case INET:
                return binary ? new byte[] {2, 32, 0, 4, 0, 0, 0, 0} : utf8("0.0.0.0");
            case CIDR:
                return binary ? new byte[] {2, 32, 1, 4, 0, 0, 0, 0} : utf8("0.0.0.0/32");
            case ARRAY:
                return binary ? ByteBuffer.allocate(12).putInt(0).putInt(0).putInt(type.elementOid()).array()
                        : utf8("{}");
            case RECORD:
                return binary ? new byte[4] : utf8("()");
            case OTHER:
                return binary ? SQL_NULL : utf8(REDACTED);
            case SCALAR:
                return SQL_NULL; // no value of the type would not look like data
            default:
                throw new IllegalStateException("no placeholder for " + type.name());
        }
    }

    // ---- spans found by value detection -------------------------------------------------------------------

    /**
     * Replaces every detector hit in a text-like value, or returns null when there is none. {@code forHit}
     * gives the treatment for a detector. Binary arrays are replaced whole: their element lengths would no
     * longer match.
     */
    byte[] maskSpans(PgType type, boolean binary, byte[] v, int off, int len, Set<String> enabled,
                     java.util.function.Function<String, Treatment> forHit, long[] hits, int column) {
        return maskSpans(type, binary, v, off, len, enabled, forHit, hits, column, TextEncoding.UTF8);
    }

    /** As above, for a value of text in {@code encoding} (the session's client_encoding). */
    byte[] maskSpans(PgType type, boolean binary, byte[] v, int off, int len, Set<String> enabled,
                     java.util.function.Function<String, Treatment> forHit, long[] hits, int column,
                     TextEncoding encoding) {
        int skip = binary && type.kind() == Kind.JSONB && len > 0 ? 1 : 0;
        int end = off + len;
        int pos = off + skip;
        // Detectors read the value with its multi-byte characters' bytes made non-ASCII (see detectionView); the
        // spans they find are masked in the value itself.
        byte[] read = encoding.isUtf8() ? null : encoding.detectionView(v, pos, end - pos);
        if (read == null) {
            read = v;
        }
        if (encoding.unsplit()) {
            // Where the characters begin is not known: a value that a detector hits read either way (as UTF-8, or
            // with each byte of 0x80 up starting a pair) is masked whole.
            byte[] paired = TextEncoding.pairedView(v, pos, end - pos);
            if (paired != null) {
                boolean hit = ValueDetectors.mayHit(v, pos, end - pos)
                        && new ValueDetectors.Scanner(v, pos, end - pos, enabled).next(pos) != null
                        || ValueDetectors.mayHit(paired, pos, end - pos)
                        && new ValueDetectors.Scanner(paired, pos, end - pos, enabled).next(pos) != null;
                if (!hit) {
                    return null;
                }
                hits[column]++;
                return maskWhole(Treatment.of(Strategy.REDACT, "value_detection"), type, 0, binary, v, off, len,
                        encoding);
            }
        }
        if (!ValueDetectors.mayHit(read, pos, end - pos)) {
            return null;
        }
        ValueDetectors.Scanner scanner = new ValueDetectors.Scanner(read, pos, end - pos, enabled);
        ValueDetectors.Hit hit = scanner.next(pos);
        if (hit == null) {
            return null;
        }
        if (type.noFreeText()) {
            // A span of a tsvector's or an aclitem's text replaced by [redacted] would be no value of the type: the
            // whole value becomes NULL, as masking it does.
            for (; hit != null; hit = hit.end() < end ? scanner.next(hit.end()) : null) {
                hits[column]++;
                if (hit.detector().equals(ValueDetectors.OVER_BUDGET) || hit.detector().equals(ValueDetectors.JOINED)
                        || forHit.apply(hit.detector()).strategy() != Strategy.KEEP) {
                    return SQL_NULL;
                }
            }
            return null;
        }
        boolean plainText = type.kind() == Kind.TEXT || (type.kind() == Kind.OTHER && !binary);
        if (type.kind() == Kind.ARRAY && binary) {
            hits[column]++;
            Treatment t = hit.detector().equals(ValueDetectors.JOINED) ? JOINED : forHit.apply(hit.detector());
            return t.strategy() == Strategy.FIXED ? redacted(type, true) : SQL_NULL;
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(len + 16);
        bytes.write(v, off, pos - off);
        int spans = 0;
        while (hit != null) {
            hits[column]++;
            if (hit.detector().equals(ValueDetectors.OVER_BUDGET)) {
                return maskWhole(Treatment.of(Strategy.REDACT, "value_detection"), type, 0, binary, v, off, len,
                        encoding);
            }
            Treatment t = hit.detector().equals(ValueDetectors.JOINED) ? JOINED : forHit.apply(hit.detector());
            if (t.strategy() == Strategy.NULL) {
                return SQL_NULL;
            }
            if (++spans > MAX_SPANS) {
                return maskWhole(Treatment.of(Strategy.REDACT, t.rule()), type, 0, binary, v, off, len, encoding);
            }
            bytes.write(v, pos, hit.start() - pos);
            if (t.strategy() == Strategy.KEEP) {
                bytes.write(v, hit.start(), hit.end() - hit.start()); // its own bytes, in any encoding
            } else {
                byte[] r = stringMask(t, v, hit.start(), hit.end() - hit.start(), plainText, encoding);
                bytes.write(r, 0, r.length);
            }
            pos = hit.end();
            hit = pos < end ? scanner.next(pos) : null;
        }
        bytes.write(v, pos, end - pos);
        return bytes.toByteArray();
    }

    // ---- strings ------------------------------------------------------------------------------------------

    /**
     * A string strategy on text in {@code encoding}, as that encoding's bytes: {@code partial} and {@code email} keep
     * whole characters of it byte for byte (see {@link TextEncoding}); a {@code fixed} value that is not ASCII is
     * {@code [redacted]} outside UTF-8 (Warden writes no other encoding).
     */
    byte[] stringMask(Treatment t, byte[] v, int off, int len, boolean plainText, TextEncoding encoding) {
        if (!encoding.isUtf8()) {
            switch (t.strategy()) {
                case PARTIAL:
                    return encoding.partial(v, off, len, t.keep());
                case EMAIL:
                    return encoding.email(v, off, len);
                case FIXED: {
                    String fixed = stringMask(t, v, off, len, plainText);
                    return utf8(fixed.chars().allMatch(c -> c < 0x80) ? fixed : REDACTED);
                }
                default:
                    break;
            }
        }
        return utf8(stringMask(t, v, off, len, plainText));
    }

    /**
     * A string strategy on UTF-8 text. Outside plain text (inside JSON, XML, arrays) only delimiter-free
     * results are allowed, so {@code fixed} becomes {@code redact} there.
     */
    String stringMask(Treatment t, byte[] v, int off, int len, boolean plainText) {
        switch (t.strategy()) {
            case PARTIAL:
                return partial(new String(v, off, len, StandardCharsets.UTF_8), t.keep());
            case EMAIL:
                return email(new String(v, off, len, StandardCharsets.UTF_8));
            case HASH:
            case TOKENIZE:
                return token(t, v, off, len);
            case FIXED:
                return plainText ? t.fixedValue() : REDACTED;
            default:
                return REDACTED;
        }
    }

    /** Every character but the last {@code keep} becomes {@code *}; values not longer than keep are all stars. */
    static String partial(String value, int keep) {
        int[] cps = value.codePoints().toArray();
        StringBuilder sb = new StringBuilder(cps.length);
        int clear = cps.length > keep ? keep : 0;
        for (int i = 0; i < cps.length; i++) {
            if (i < cps.length - clear) {
                sb.append('*');
            } else {
                sb.appendCodePoint(cps[i]);
            }
        }
        return sb.toString();
    }

    /** {@code john.doe@acme.com} → {@code j***@acme.com}; anything that is not an address is redacted. */
    static String email(String value) {
        String v = value.strip();
        int at = v.lastIndexOf('@');
        if (at <= 0 || at == v.length() - 1) {
            return REDACTED;
        }
        return new StringBuilder().appendCodePoint(v.codePointAt(0)).append("***").append(v, at, v.length())
                .toString();
    }

    private String token(Treatment t, byte[] v, int off, int len) {
        String hex = HEX.formatHex(tokenizer.digest(v, off, len), 0, 16);
        return t.strategy() == Strategy.TOKENIZE ? "tok_" + hex : hex;
    }

    // ---- numbers ------------------------------------------------------------------------------------------

    private byte[] hashedNumber(Kind kind, boolean binary, byte[] v, int off, int len) {
        long h = ByteBuffer.wrap(digestOf(kind, binary, v, off, len)).getLong() & Long.MAX_VALUE;
        long n;
        switch (kind) {
            case INT2:
                n = h % 32768;
                return binary ? ByteBuffer.allocate(2).putShort((short) n).array() : utf8(Long.toString(n));
            case INT4:
            case OID:
                n = h % Integer.MAX_VALUE;
                return binary ? ByteBuffer.allocate(4).putInt((int) n).array() : utf8(Long.toString(n));
            case INT8:
                return binary ? ByteBuffer.allocate(8).putLong(h).array() : utf8(Long.toString(h));
            case FLOAT4:
                n = h % 1_000_000;
                return binary ? ByteBuffer.allocate(4).putFloat(n).array() : utf8(Long.toString(n));
            case FLOAT8:
                n = h % 1_000_000_000;
                return binary ? ByteBuffer.allocate(8).putDouble(n).array() : utf8(Long.toString(n));
            default:
                n = h % 1_000_000_000;
                return binary ? numericBinary(n) : utf8(Long.toString(n));
        }
    }

    private static byte[] zero(Kind kind, boolean binary) {
        if (!binary) {
            return utf8("0");
        }
        return switch (kind) {
            case INT2 -> new byte[2];
            case INT4, OID, FLOAT4 -> new byte[4];
            case INT8, FLOAT8 -> new byte[8];
            default -> new byte[8]; // numeric 0: ndigits 0, weight 0, sign 0, dscale 0
        };
    }

    /** numeric_send of a non-negative integer: base-10000 digits, most significant first. */
    static byte[] numericBinary(long value) {
        if (value == 0) {
            return new byte[8];
        }
        short[] digits = new short[5];
        int n = 0;
        for (long rest = value; rest > 0; rest /= 10000) {
            digits[n++] = (short) (rest % 10000);
        }
        int weight = n - 1;
        int low = 0;
        while (digits[low] == 0) {
            low++;
        }
        int ndigits = n - low;
        ByteBuffer b = ByteBuffer.allocate(8 + 2 * ndigits);
        b.putShort((short) ndigits).putShort((short) weight).putShort((short) 0).putShort((short) 0);
        for (int i = n - 1; i >= low; i--) {
            b.putShort(digits[i]);
        }
        return b.array();
    }

    /**
     * The HMAC of a value's text form where the binary form is easy to convert (integers, uuid), so a value
     * hashes alike in both formats; other binary values are hashed as sent.
     */
    private byte[] digestOf(Kind kind, boolean binary, byte[] v, int off, int len) {
        if (binary) {
            ByteBuffer b = ByteBuffer.wrap(v, off, len);
            String text = null;
            if (kind == Kind.INT2 && len == 2) {
                text = Short.toString(b.getShort());
            } else if ((kind == Kind.INT4 && len == 4)) {
                text = Integer.toString(b.getInt());
            } else if (kind == Kind.OID && len == 4) {
                text = Long.toString(b.getInt() & 0xffffffffL);
            } else if (kind == Kind.INT8 && len == 8) {
                text = Long.toString(b.getLong());
            } else if (kind == Kind.UUID && len == 16) {
                text = uuidText(Arrays.copyOfRange(v, off, off + 16));
            }
            if (text != null) {
                byte[] t = utf8(text);
                return tokenizer.digest(t, 0, t.length);
            }
        }
        return tokenizer.digest(v, off, len);
    }

    private static String uuidText(byte[] u) {
        String h = HEX.formatHex(u);
        return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20)
                + "-" + h.substring(20, 32);
    }

    // ---- bytes --------------------------------------------------------------------------------------------

    /**
     * varchar(n)/char(n) carry n + 4 as type modifier; a longer placeholder is cut to n characters, and a char(n)'s
     * shorter one is padded with spaces to n, as the server sends every char(n) value (a masked {@code char(12)} went
     * out as the 10 characters of {@code [redacted]}, a value no such column holds).
     */
    private static byte[] fitted(byte[] value, PgType type, int typmod, TextEncoding encoding) {
        if ((type.oid() != PgType.VARCHAR && type.oid() != PgType.BPCHAR) || typmod < 5) {
            return value;
        }
        if (!encoding.isUtf8()) {
            int max = typmod - 4;
            int chars = encoding.length(value);
            if (chars < 0 || chars == max || chars < max && type.oid() != PgType.BPCHAR) {
                return value;
            }
            if (chars > max) {
                return encoding.first(value, max);
            }
            byte[] padded = Arrays.copyOf(value, value.length + max - chars);
            Arrays.fill(padded, value.length, padded.length, (byte) ' ');
            return padded;
        }
        String s = new String(value, StandardCharsets.UTF_8);
        int max = typmod - 4;
        int chars = s.codePointCount(0, s.length());
        if (chars < max && type.oid() == PgType.BPCHAR) {
            return utf8(s + " ".repeat(max - chars));
        }
        if (chars <= max) {
            return value;
        }
        return utf8(s.substring(0, s.offsetByCodePoints(0, max)));
    }

    private static byte[] jsonb(String json) {
        byte[] text = utf8(json);
        byte[] out = new byte[text.length + 1];
        out[0] = 1;
        System.arraycopy(text, 0, out, 1, text.length);
        return out;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
