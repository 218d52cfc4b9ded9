package dev.warden.audit.event;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.BiConsumer;

/**
 * Writes one record straight to the bytes {@link CanonicalJson#encode} would produce, without building a tree,
 * a map or a sorted key list: each event writes its own fields in code-point order, and the writer merges the
 * record header ({@code id}, {@code prev}, {@code schema_version}, {@code seq}, {@code session}, {@code ts},
 * {@code type}) into that order as the fields go by. {@code prev} and {@code seq} are left as gaps that the
 * chain fills ({@link RecordTemplate}), so the record is built on the caller's thread and the log's writer only
 * links it. The gaps have the final width (64 hex digits; the digits of the seq the log expects), so the
 * template's array is the record's line: linking writes into it, nothing is copied again.
 *
 * <p>Speed, since a record is built for every statement on an event loop: member names are {@link Key}s whose
 * bytes ({@code "name":}) and place among the header keys are computed once; strings are scanned for what needs
 * escaping and copied in runs; values that repeat by identity (a session's username, a shape's table lists, a
 * result's column list) are written from their cached bytes ({@code stable...}, {@link EncodedValues}).
 *
 * <p>Key order is checked with {@code assert} (tests run with assertions on); the test that compares this
 * writer with {@link CanonicalJson#encode} for every event type is what keeps the two forms identical.
 * Not thread-safe; {@link #forThisThread()} gives each thread its own scratch buffer.
 */
public final class CanonicalWriter {

    private static final ThreadLocal<CanonicalWriter> SCRATCH = ThreadLocal.withInitial(CanonicalWriter::new);
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL = {'n', 'u', 'l', 'l'};
    private static final byte[] TRUE = {'t', 'r', 'u', 'e'};
    private static final byte[] FALSE = {'f', 'a', 'l', 's', 'e'};
    private static final int MAX_DEPTH = 8;
    private static final int HASH_LENGTH = 64;

    /** Header keys in code-point order, and what each holds. */
    private static final String[] HEADER = {"id", "prev", "schema_version", "seq", "session", "ts", "type"};
    private static final byte[][] HEADER_MEMBERS = new byte[HEADER.length][];

    static {
        for (int i = 0; i < HEADER.length; i++) {
            HEADER_MEMBERS[i] = memberBytes(HEADER[i]);
        }
    }

    private static final int INITIAL_BUFFER = 1024;
    private static final int MAX_KEPT_BUFFER = 64 * 1024;

    /**
     * A member name, encoded once: an event keeps its names as constants. Names are plain printable ASCII (no
     * quote, no backslash), as every audit field is; the header's own names are not allowed.
     */
    public static final class Key {
        private final String name;
        /** {@code "name":} */
        private final byte[] member;
        /** How many header keys sort before this name: those are written before it at the top level. */
        private final int headerRank;

        private Key(String name) {
            this.name = name;
            this.member = memberBytes(name);
            int rank = 0;
            for (String h : HEADER) {
                if (h.equals(name)) {
                    throw new IllegalArgumentException("the record header owns the key " + name);
                }
                if (h.compareTo(name) < 0) {
                    rank++;
                }
            }
            this.headerRank = rank;
        }

        public static Key of(String name) {
            return new Key(name);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static byte[] memberBytes(String name) {
        byte[] b = new byte[name.length() + 3];
        b[0] = '"';
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!plain(c)) {
                throw new IllegalArgumentException("member names are plain ASCII: " + name);
            }
            b[i + 1] = (byte) c;
        }
        b[b.length - 2] = '"';
        b[b.length - 1] = ':';
        return b;
    }

    /**
     * How many bytes {@code s} takes in a record, as a JSON string without its quotes: a printable ASCII character
     * one, {@code "} and {@code \\} and the short escapes two, another control character six, a non-ASCII one its
     * UTF-8 bytes (a surrogate pair four, a lone surrogate three, as U+FFFD). What the audit budget charges.
     */
    public static long jsonLength(String s) {
        int n = s.length();
        long bytes = n;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (plain(c)) {
                continue;
            }
            if (c < 0x20) {
                bytes += c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t' ? 1 : 5;
            } else if (c < 0x80) {
                bytes += 1; // " and \
            } else if (c < 0x800) {
                bytes += 1;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 2; // four bytes for the pair's two chars
                i++;
            } else {
                bytes += 2;
            }
        }
        return bytes;
    }

    /** Whether a char is written as itself: printable ASCII other than the two JSON escapes. */
    private static boolean plain(char c) {
        return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
    }

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
    private int seqWidth;
    private AuditEvent event;
    private final EncodedValues known = new EncodedValues();
    /** The day of the last timestamp written, and its bytes {@code "yyyy-mm-ddT}. */
    private long day = Long.MIN_VALUE;
    private final byte[] dayBytes = new byte[12];

    private CanonicalWriter() {
    }

    /** This thread's writer, reset. The bytes stay valid until the next use on this thread. */
    static CanonicalWriter forThisThread() {
        return SCRATCH.get();
    }

    /**
     * Serializes {@code event} with gaps for {@code prev} and {@code seq}, the latter as wide as
     * {@code expectedSeq} is long in decimal (a different seq still links, into a new array).
     */
    RecordTemplate record(AuditEvent event, long expectedSeq) {
        len = 0;
        depth = 0;
        nextHeader = 0;
        prevAt = -1;
        seqAt = -1;
        seqWidth = RecordTemplate.decimalLength(Math.max(1, expectedSeq));
        this.event = event;
        put('{');
        empty[0] = true;
        lastKey[0] = null;
        try {
            event.writeCanonical(this);
            headerUpTo(HEADER.length);
            assert depth == 0 : "unclosed object or array in " + event.type();
            put('}');
            return new RecordTemplate(Arrays.copyOf(buf, len), prevAt, seqAt, seqWidth, event.type(),
                    event.session(), event.ts());
        } finally {
            this.event = null;
            if (buf.length > MAX_KEPT_BUFFER) {
                buf = new byte[INITIAL_BUFFER]; // one huge statement must not pin its size to the thread
            }
        }
    }

    // ---- members of the current object --------------------------------------------------------------------

    /** A string member; null is written as JSON null. */
    public CanonicalWriter string(Key name, String value) {
        key(name);
        stringValue(value);
        return this;
    }

    /** A string member; null is written as JSON null. */
    public CanonicalWriter string(String name, String value) {
        key(name);
        stringValue(value);
        return this;
    }

    /**
     * A string member whose value object comes back often (a session's username, a policy version): its bytes
     * are kept by identity and copied next time.
     */
    public CanonicalWriter stableString(Key name, String value) {
        key(name);
        if (value == null) {
            raw(NULL);
        } else {
            cached(value, CanonicalWriter::quoted);
        }
        return this;
    }

    public CanonicalWriter number(Key name, long value) {
        key(name);
        number(value);
        return this;
    }

    public CanonicalWriter number(String name, long value) {
        key(name);
        number(value);
        return this;
    }

    public CanonicalWriter bool(Key name, boolean value) {
        key(name);
        raw(value ? TRUE : FALSE);
        return this;
    }

    public CanonicalWriter bool(String name, boolean value) {
        key(name);
        raw(value ? TRUE : FALSE);
        return this;
    }

    /** A member whose value is already canonical JSON ({@link CanonicalJson#encode} of a node). */
    CanonicalWriter encoded(String name, byte[] value) {
        key(name);
        raw(value);
        return this;
    }

    /** An array of strings (none null). */
    public CanonicalWriter strings(Key name, List<String> values) {
        key(name);
        stringArray(values);
        return this;
    }

    /** An array of strings (none null). */
    public CanonicalWriter strings(String name, List<String> values) {
        key(name);
        stringArray(values);
        return this;
    }

    /** {@link #strings}, for an immutable list that comes back by identity (a statement shape's tables). */
    public CanonicalWriter stableStrings(Key name, List<String> values) {
        key(name);
        cached(values, CanonicalWriter::stringArray);
        return this;
    }

    /**
     * An array of objects from an immutable value that comes back by identity (a result's column list):
     * {@code elements} writes them ({@link #element()} ... {@link #end()} each) the first time, its bytes are
     * copied afterwards.
     */
    public <T> CanonicalWriter stableArray(Key name, T value, BiConsumer<CanonicalWriter, T> elements) {
        key(name);
        byte[] bytes = known.get(value);
        if (bytes != null) {
            raw(bytes);
            return this;
        }
        int start = len;
        open('[');
        elements.accept(this, value);
        end();
        remember(value, start);
        return this;
    }

    /** Opens an object member; close it with {@link #end()}. */
    public CanonicalWriter object(Key name) {
        key(name);
        open('{');
        return this;
    }

    /** Opens an object member; close it with {@link #end()}. */
    public CanonicalWriter object(String name) {
        key(name);
        open('{');
        return this;
    }

    /** Opens an array member whose elements are objects ({@link #element()}); close it with {@link #end()}. */
    public CanonicalWriter array(Key name) {
        key(name);
        open('[');
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

    private void key(Key name) {
        if (depth == 0) {
            headerUpTo(name.headerRank);
        }
        assert inOrder(name.name);
        byte[] m = name.member;
        ensure(m.length + 1);
        if (!empty[depth]) {
            buf[len++] = ',';
        }
        empty[depth] = false;
        System.arraycopy(m, 0, buf, len, m.length);
        len += m.length;
    }

    private void key(String name) {
        if (depth == 0) {
            int rank = 0;
            while (rank < HEADER.length && HEADER[rank].compareTo(name) < 0) {
                rank++;
            }
            assert rank == HEADER.length || !HEADER[rank].equals(name) : event.type() + " writes the header key "
                    + name;
            headerUpTo(rank);
        }
        assert inOrder(name);
        ensure(1);
        if (!empty[depth]) {
            buf[len++] = ',';
        }
        empty[depth] = false;
        quoted(name);
        put(':');
    }

    private boolean inOrder(String name) {
        assert lastKey[depth] == null || lastKey[depth].compareTo(name) < 0
                : "keys out of order in " + (event == null ? "record" : event.type()) + ": " + lastKey[depth]
                + " then " + name;
        lastKey[depth] = name;
        return true;
    }

    /** Writes the header keys before the {@code rank}-th (all that remain when rank is their number). */
    private void headerUpTo(int rank) {
        while (nextHeader < rank) {
            int h = nextHeader++;
            byte[] m = HEADER_MEMBERS[h];
            ensure(m.length + 1);
            if (!empty[0]) {
                buf[len++] = ',';
            }
            empty[0] = false;
            System.arraycopy(m, 0, buf, len, m.length);
            len += m.length;
            assert inOrder(HEADER[h]);
            switch (h) {
                case 0 -> uuid(event.id());
                case 1 -> {
                    // Room for 64 digits, left as they are: the chain writes the previous hash over them.
                    ensure(HASH_LENGTH + 2);
                    buf[len++] = '"';
                    prevAt = len;
                    len += HASH_LENGTH;
                    buf[len++] = '"';
                }
                case 2 -> number(AuditEvent.SCHEMA_VERSION);
                case 3 -> {
                    ensure(seqWidth);
                    seqAt = len;
                    len += seqWidth;
                }
                case 4 -> cached(event.session(), CanonicalWriter::quoted);
                case 5 -> timestamp(event.ts());
                default -> quoted(event.type());
            }
        }
    }

    // ---- values ---------------------------------------------------------------------------------------------

    private void stringValue(String value) {
        if (value == null) {
            raw(NULL);
        } else {
            quoted(value);
        }
    }

    private void stringArray(List<String> values) {
        put('[');
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                put(',');
            }
            quoted(values.get(i));
        }
        put(']');
    }

    /** Writes {@code value} from its cached bytes, or with {@code write} and remembers them. */
    private <T> void cached(T value, BiConsumer<CanonicalWriter, T> write) {
        byte[] bytes = known.get(value);
        if (bytes != null) {
            raw(bytes);
            return;
        }
        int start = len;
        write.accept(this, value);
        remember(value, start);
    }

    private void remember(Object value, int start) {
        if (len - start <= EncodedValues.MAX_BYTES) {
            known.put(value, Arrays.copyOfRange(buf, start, len));
        }
    }

    private void number(long value) {
        if (value == Long.MIN_VALUE) {
            ascii(Long.toString(value));
            return;
        }
        ensure(20);
        if (value < 0) {
            buf[len++] = '-';
            value = -value;
        }
        int digits = RecordTemplate.decimalLength(Math.max(1, value));
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
        if (days != day) {
            LocalDate date = LocalDate.ofEpochDay(days);
            int year = date.getYear();
            if (year < 0 || year > 9999) {
                quoted(Timestamps.format(ts));
                return;
            }
            // The date changes once a day: its bytes are kept and copied.
            int at = len;
            ensure(12);
            buf[len++] = '"';
            digits(year, 4);
            buf[len++] = '-';
            digits(date.getMonthValue(), 2);
            buf[len++] = '-';
            digits(date.getDayOfMonth(), 2);
            buf[len++] = 'T';
            System.arraycopy(buf, at, dayBytes, 0, 12);
            len = at;
            day = days;
        }
        ensure(30);
        System.arraycopy(dayBytes, 0, buf, len, 12);
        len += 12;
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

    /**
     * A JSON string with {@link CanonicalJson}'s escapes, encoded as UTF-8. Runs of plain ASCII are found first
     * and copied in bulk (a Latin-1 string's bytes are its chars); only escapes and non-ASCII go char by char.
     */
    @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): the low byte of each char, no copy
    private void quoted(String s) {
        int n = s.length();
        ensure(n + 2);
        buf[len++] = '"';
        int i = 0;
        while (i < n) {
            int run = i;
            while (run < n && plain(s.charAt(run))) {
                run++;
            }
            if (run > i) {
                s.getBytes(i, run, buf, len);
                len += run - i;
            }
            if (run == n) {
                break;
            }
            i = special(s, run, s.charAt(run)) + 1;
        }
        put('"');
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

    private void raw(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
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
