package dev.warden.audit.event;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * Writes one record straight to the bytes {@link CanonicalJson#encode} would produce, without building a tree,
 * a map or a sorted key list: each event writes its own fields in code-point order, and the writer merges the
 * record header ({@code id}, {@code prev}, {@code schema_version}, {@code seq}, {@code session}, {@code ts},
 * {@code type}) into that order as the fields go by. {@code prev} and {@code seq} are left as gaps that the
 * chain fills ({@link RecordTemplate}), so the record is built on the caller's thread and the log's writer only
 * links it.
 *
 * <p>Key order is checked with {@code assert} (tests run with assertions on); the test that compares this
 * writer with {@link CanonicalJson#encode} for every event type is what keeps the two forms identical.
 * Not thread-safe; {@link #forThisThread()} gives each thread its own scratch buffer.
 */
public final class CanonicalWriter {

    private static final ThreadLocal<CanonicalWriter> SCRATCH = ThreadLocal.withInitial(CanonicalWriter::new);
    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int MAX_DEPTH = 8;

    /** Header keys in code-point order, and what each holds. */
    private static final String[] HEADER = {"id", "prev", "schema_version", "seq", "session", "ts", "type"};

    private static final int INITIAL_BUFFER = 1024;
    private static final int MAX_KEPT_BUFFER = 64 * 1024;

    private byte[] buf = new byte[INITIAL_BUFFER];
    private int len;
    private int depth;
    /** Per depth: whether the object or array open there has no member yet. */
    private final boolean[] empty = new boolean[MAX_DEPTH];
    /** Per depth: where the object or array open there starts (its bracket says how to close it). */
    private final int[] openedAt = new int[MAX_DEPTH];
    /** Per depth: the last key written there (assertions only). */
    private final String[] lastKey = new String[MAX_DEPTH];
    private int nextHeader;
    private int prevAt;
    private int seqAt;
    private AuditEvent event;

    private CanonicalWriter() {
    }

    /** This thread's writer, reset. The bytes stay valid until the next use on this thread. */
    static CanonicalWriter forThisThread() {
        return SCRATCH.get();
    }

    /** Serializes {@code event} with gaps for {@code prev} and {@code seq}. */
    RecordTemplate record(AuditEvent event) {
        len = 0;
        depth = 0;
        nextHeader = 0;
        prevAt = -1;
        seqAt = -1;
        this.event = event;
        put('{');
        empty[0] = true;
        lastKey[0] = null;
        try {
            event.writeCanonical(this);
            headerUpTo(null);
            assert depth == 0 : "unclosed object or array in " + event.type();
            put('}');
            return new RecordTemplate(Arrays.copyOf(buf, len), prevAt, seqAt, event.type(), event.session(),
                    event.ts());
        } finally {
            this.event = null;
            if (buf.length > MAX_KEPT_BUFFER) {
                buf = new byte[INITIAL_BUFFER]; // one huge statement must not pin its size to the thread
            }
        }
    }

    // ---- members of the current object --------------------------------------------------------------------

    /** A string member; null is written as JSON null. */
    public CanonicalWriter string(String name, String value) {
        key(name);
        if (value == null) {
            ascii("null");
        } else {
            quoted(value);
        }
        return this;
    }

    public CanonicalWriter number(String name, long value) {
        key(name);
        number(value);
        return this;
    }

    public CanonicalWriter bool(String name, boolean value) {
        key(name);
        ascii(value ? "true" : "false");
        return this;
    }

    /** A member whose value is already canonical JSON ({@link CanonicalJson#encode} of a node). */
    CanonicalWriter encoded(String name, byte[] value) {
        key(name);
        ensure(value.length);
        System.arraycopy(value, 0, buf, len, value.length);
        len += value.length;
        return this;
    }

    /** An array of strings (none null). */
    public CanonicalWriter strings(String name, List<String> values) {
        key(name);
        put('[');
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                put(',');
            }
            quoted(values.get(i));
        }
        put(']');
        return this;
    }

    /** Opens an object member; close it with {@link #end()}. */
    public CanonicalWriter object(String name) {
        key(name);
        open('{');
        return this;
    }

    /** Opens an array member whose elements are objects ({@link #element()}); close it with {@link #end()}. */
    public CanonicalWriter array(String name) {
        key(name);
        open('[');
        return this;
    }

    /** Opens the next object element of the current array; close it with {@link #end()}. */
    public CanonicalWriter element() {
        if (!empty[depth]) {
            put(',');
        }
        empty[depth] = false;
        open('{');
        return this;
    }

    /** Closes the innermost open object or array. */
    public CanonicalWriter end() {
        assert depth > 0 : "end() without an open object or array";
        put(buf[openedAt[depth]] == '{' ? '}' : ']');
        depth--;
        return this;
    }

    private void open(char bracket) {
        if (depth + 1 >= MAX_DEPTH) {
            throw new IllegalStateException("audit records nest at most " + (MAX_DEPTH - 1) + " levels");
        }
        depth++;
        openedAt[depth] = len;
        put(bracket);
        empty[depth] = true;
        lastKey[depth] = null;
    }

    private void key(String name) {
        if (depth == 0) {
            headerUpTo(name);
        }
        member(name);
    }

    private void member(String name) {
        assert lastKey[depth] == null || lastKey[depth].compareTo(name) < 0
                : "keys out of order in " + (event == null ? "record" : event.type()) + ": " + lastKey[depth]
                + " then " + name;
        lastKey[depth] = name;
        int n = name.length();
        ensure(n + 4);
        if (!empty[depth]) {
            buf[len++] = ',';
        }
        empty[depth] = false;
        int start = len;
        buf[len++] = '"';
        // Keys are the events' own plain ASCII names: copied as they are, without the escaping of values.
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
                len = start;
                quoted(name);
                put(':');
                return;
            }
            buf[len++] = (byte) c;
        }
        buf[len++] = '"';
        buf[len++] = ':';
    }

    /** Writes the header keys that sort before {@code name} (all that remain when null). */
    private void headerUpTo(String name) {
        while (nextHeader < HEADER.length && (name == null || sortsBefore(HEADER[nextHeader], name))) {
            int h = nextHeader++;
            member(HEADER[h]);
            switch (h) {
                case 0 -> uuid(event.id());
                case 1 -> {
                    put('"');
                    prevAt = len;
                    put('"');
                }
                case 2 -> number(AuditEvent.SCHEMA_VERSION);
                case 3 -> seqAt = len;
                case 4 -> quoted(event.session());
                case 5 -> timestamp(event.ts());
                default -> quoted(event.type());
            }
        }
        assert name == null || nextHeader == HEADER.length || !HEADER[nextHeader].equals(name)
                : event.type() + " writes the header key " + name;
    }

    /** {@code a.compareTo(b) < 0}, deciding on the first character where it can (keys rarely share one). */
    private static boolean sortsBefore(String a, String b) {
        if (a.isEmpty() || b.isEmpty()) {
            return a.compareTo(b) < 0;
        }
        char x = a.charAt(0);
        char y = b.charAt(0);
        return x != y ? x < y : a.compareTo(b) < 0;
    }

    // ---- values ---------------------------------------------------------------------------------------------

    private void number(long value) {
        if (value == Long.MIN_VALUE) {
            ascii(Long.toString(value));
            return;
        }
        if (value < 0) {
            put('-');
            value = -value;
        }
        ensure(20);
        int digits = 1;
        for (long v = value; v >= 10; v /= 10) {
            digits++;
        }
        for (int i = len + digits - 1; i >= len; i--) {
            buf[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        len += digits;
    }

    private void uuid(UUID id) {
        ensure(38);
        buf[len++] = '"';
        hex(id.getMostSignificantBits() >>> 32, 8);
        buf[len++] = '-';
        hex(id.getMostSignificantBits() >>> 16, 4);
        buf[len++] = '-';
        hex(id.getMostSignificantBits(), 4);
        buf[len++] = '-';
        hex(id.getLeastSignificantBits() >>> 48, 4);
        buf[len++] = '-';
        hex(id.getLeastSignificantBits(), 12);
        buf[len++] = '"';
    }

    private void hex(long value, int digits) {
        for (int i = digits - 1; i >= 0; i--) {
            buf[len + i] = HEX[(int) (value & 0xF)];
            value >>>= 4;
        }
        len += digits;
    }

    /** {@link Timestamps#format}, without a formatter: {@code 2026-11-26T06:12:01.123456Z}. */
    private void timestamp(Instant ts) {
        long seconds = ts.getEpochSecond();
        long days = Math.floorDiv(seconds, 86_400);
        int secondOfDay = (int) Math.floorMod(seconds, 86_400);
        java.time.LocalDate date = java.time.LocalDate.ofEpochDay(days);
        int year = date.getYear();
        if (year < 0 || year > 9999) {
            quoted(Timestamps.format(ts));
            return;
        }
        ensure(30);
        buf[len++] = '"';
        digits(year, 4);
        buf[len++] = '-';
        digits(date.getMonthValue(), 2);
        buf[len++] = '-';
        digits(date.getDayOfMonth(), 2);
        buf[len++] = 'T';
        digits(secondOfDay / 3600, 2);
        buf[len++] = ':';
        digits(secondOfDay / 60 % 60, 2);
        buf[len++] = ':';
        digits(secondOfDay % 60, 2);
        buf[len++] = '.';
        digits(ts.getNano() / 1000, 6);
        buf[len++] = 'Z';
        buf[len++] = '"';
    }

    private void digits(int value, int width) {
        for (int i = width - 1; i >= 0; i--) {
            buf[len + i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        len += width;
    }

    /** A JSON string with {@link CanonicalJson}'s escapes, encoded as UTF-8. */
    private void quoted(String s) {
        int n = s.length();
        ensure(n * 3 + 2);
        byte[] b = buf;
        int at = len;
        b[at++] = '"';
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                b[at++] = (byte) c;
                continue;
            }
            len = at;
            i = special(s, i, c);
            b = buf;
            at = len;
        }
        b[at++] = '"';
        len = at;
    }

    /** Writes the character at {@code i} (escaped or multi-byte); returns the index of its last char. */
    private int special(String s, int i, char c) {
        // Room for this character and for every later one at its widest plain form (3 bytes).
        ensure(12 + (s.length() - i) * 3);
        switch (c) {
            case '"' -> ascii("\\\"");
            case '\\' -> ascii("\\\\");
            case '\b' -> ascii("\\b");
            case '\f' -> ascii("\\f");
            case '\n' -> ascii("\\n");
            case '\r' -> ascii("\\r");
            case '\t' -> ascii("\\t");
            default -> {
                if (c < 0x20) {
                    ascii("\\u00");
                    hex(c, 2);
                } else if (c < 0x800) {
                    buf[len++] = (byte) (0xC0 | c >> 6);
                    buf[len++] = (byte) (0x80 | c & 0x3F);
                } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                        && Character.isLowSurrogate(s.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, s.charAt(i + 1));
                    buf[len++] = (byte) (0xF0 | cp >> 18);
                    buf[len++] = (byte) (0x80 | cp >> 12 & 0x3F);
                    buf[len++] = (byte) (0x80 | cp >> 6 & 0x3F);
                    buf[len++] = (byte) (0x80 | cp & 0x3F);
                    return i + 1;
                } else {
                    // A lone surrogate has no UTF-8 form: U+FFFD, as CanonicalJson writes it.
                    char out = Character.isSurrogate(c) ? '\uFFFD' : c;
                    buf[len++] = (byte) (0xE0 | out >> 12);
                    buf[len++] = (byte) (0x80 | out >> 6 & 0x3F);
                    buf[len++] = (byte) (0x80 | out & 0x3F);
                }
            }
        }
        return i;
    }

    private void ascii(String s) {
        ensure(s.length());
        for (int i = 0; i < s.length(); i++) {
            buf[len++] = (byte) s.charAt(i);
        }
    }

    private void put(char c) {
        ensure(1);
        buf[len++] = (byte) c;
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }
}
