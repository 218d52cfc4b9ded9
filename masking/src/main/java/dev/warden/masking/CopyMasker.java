package dev.warden.masking;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Masks a {@code COPY ... TO STDOUT} stream, row by row, with the plan of the copied columns (resolved by
 * the proxy from the COPY statement: CopyOutResponse only carries formats).
 *
 * <p>PostgreSQL sends one row per CopyData in text and CSV, but the protocol does not promise it, so rows
 * may be split anywhere: bytes after the last complete row are held back and sent with the next message.
 * A row is complete at its newline (in CSV, a newline outside quotes); a binary tuple when all its fields
 * have arrived. Held-back bytes are copied once; nothing else is buffered, so a stream of any size passes in
 * constant memory (plus the longest row). One instance per COPY; not thread-safe.
 *
 * <p>Text: fields split at the unescaped delimiter, de-escaped ({@code \n}, {@code \t}, octal, {@code \x}…),
 * masked as text-format values, escaped again; the null string stays. CSV: quoted fields are unquoted
 * (doubled quotes, or the ESCAPE character); masked values are written quoted, a NULL result as the null
 * string. Binary: the header passes through, each tuple's fields are masked as binary values, the trailer
 * passes through.
 */
public final class CopyMasker {

    private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};

    private enum Format { TEXT, CSV, BINARY }

    private final MaskPlan plan;
    private final Format format;
    private final byte delimiter;
    private final byte quote;
    private final byte escape;
    private final byte[] nullString;
    private byte[] pending = new byte[0];
    private int pendingLength;
    private boolean headerDone;
    private boolean trailerSeen;

    private CopyMasker(MaskPlan plan, Format format, char delimiter, char quote, char escape, String nullString) {
        if (delimiter > 127 || quote > 127 || escape > 127) {
            throw new IllegalArgumentException("COPY delimiter, quote and escape are single-byte characters");
        }
        this.plan = plan;
        this.format = format;
        this.delimiter = (byte) delimiter;
        this.quote = (byte) quote;
        this.escape = (byte) escape;
        this.nullString = nullString.getBytes(StandardCharsets.UTF_8);
        // In text format a value equal to a NULL string of the client's choosing is sent as it is, unmarked (only
        // \N cannot be a value: a backslash is doubled): such a field may be a value.
        this.nullMayBeValue = format == Format.TEXT && !"\\N".equals(nullString);
    }

    /**
     * A text COPY's field equal to the NULL string is read as a value in a masked column when the NULL string is
     * not {@code \N}: the server sends a value equal to it unmarked, so {@code NULL '034-77-2712'} kept that SSN,
     * and {@code NULL '0'} over {@code substr(ssn, 1, 1)} read each first digit (a helper's pass, a140 F5). A true
     * NULL there is then masked as a value.
     */
    private final boolean nullMayBeValue;

    /** COPY text format; PostgreSQL's defaults are a tab and {@code \N}. */
    public static CopyMasker text(MaskPlan plan, char delimiter, String nullString) {
        return new CopyMasker(plan, Format.TEXT, delimiter, '"', '"', nullString);
    }

    /** COPY CSV format; PostgreSQL's defaults are {@code ,}, {@code "}, escape = quote, and the empty string. */
    public static CopyMasker csv(MaskPlan plan, char delimiter, char quote, char escape, String nullString) {
        return new CopyMasker(plan, Format.CSV, delimiter, quote, escape, nullString);
    }

    /**
     * Has every text or CSV CopyData checked as UTF-8, the COPY's encoding as Warden knows it: the fields are split by
     * bytes, which is right for UTF-8 (a multibyte character's bytes are all above ASCII) and wrong for encodings
     * whose characters may end in an ASCII byte. A helper's pass (a127) changed the encoding where Warden did not see
     * it and shifted masked values into clear columns.
     */
    public CopyMasker requireUtf8() {
        utf8 = true;
        return this;
    }

    private boolean utf8;

    private static boolean validUtf8(ByteBuf buf, int from, int length) {
        int end = from + length;
        int i = from;
        while (i < end) {
            int b = buf.getByte(i) & 0xff;
            if (b < 0x80) {
                i++;
                continue;
            }
            int more = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
            if (more < 0 || i + more >= end) {
                return false;
            }
            for (int k = 1; k <= more; k++) {
                if ((buf.getByte(i + k) & 0xc0) != 0x80) {
                    return false;
                }
            }
            i += more + 1;
        }
        return true;
    }

    /** The plan this COPY is masked with (its notice names the masked columns). */
    public MaskPlan plan() {
        return plan;
    }

    public static CopyMasker binary(MaskPlan plan) {
        return new CopyMasker(plan, Format.BINARY, '\t', '"', '"', "");
    }

    /**
     * Masks one CopyData message ({@code 'd'}, int32 length, data) from the reader index. Returns
     * {@code message} itself when the plan masks nothing, null when every byte was held back for an
     * incomplete row, else a new CopyData message the caller owns. {@code message} is never released here.
     */
    public ByteBuf maskCopyData(ByteBuf message, ByteBufAllocator alloc) {
        if (plan.masksNothing()) {
            return message;
        }
        int start = message.readerIndex();
        if (message.readableBytes() < 5 || message.getByte(start) != 'd') {
            throw new MalformedRowException("not a CopyData message");
        }
        int length = message.getInt(start + 1) - 4;
        if (length < 0 || start + 5 + length > message.writerIndex()) {
            throw new MalformedRowException("CopyData length does not match the buffer");
        }
        if (utf8 && format != Format.BINARY && !validUtf8(message, start + 5, length)) {
            // A character of another encoding (Shift-JIS, Big5, GBK ...) whose second byte is a delimiter or a
            // backslash, which the server does not escape, would shift the fields this splits (see requireUtf8).
            throw new MalformedRowException("COPY data that is not UTF-8, though the COPY's encoding was");
        }
        append(message, start + 5, length);
        return drain(alloc, false);
    }

    /**
     * At CopyDone: the held-back bytes as a last CopyData message (a final text row without its newline is
     * masked), or null when there are none.
     *
     * @throws MalformedRowException when a binary tuple or a quoted CSV field was cut off
     */
    public ByteBuf finish(ByteBufAllocator alloc) {
        if (plan.masksNothing() || pendingLength == 0) {
            return null;
        }
        return drain(alloc, true);
    }

    private void append(ByteBuf src, int index, int length) {
        if (pendingLength + length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + length));
        }
        src.getBytes(index, pending, pendingLength, length);
        pendingLength += length;
    }

    private ByteBuf drain(ByteBufAllocator alloc, boolean last) {
        ByteBuf out = alloc.buffer(pendingLength + 64);
        int consumed;
        try {
            out.writeByte('d').writeInt(0);
            consumed = switch (format) {
                case TEXT, CSV -> lines(out, last);
                case BINARY -> tuples(out, last);
            };
        } catch (RuntimeException e) {
            out.release(); // the data does not read as COPY: the caller ends the session, nothing is sent
            throw e;
        }
        System.arraycopy(pending, consumed, pending, 0, pendingLength - consumed);
        pendingLength -= consumed;
        if (out.readableBytes() == 5) {
            out.release();
            return null;
        }
        out.setInt(out.readerIndex() + 1, out.readableBytes() - 1);
        return out;
    }

    // ---- text and CSV -------------------------------------------------------------------------------------

    private int lines(ByteBuf out, boolean last) {
        int rowStart = 0;
        boolean inQuotes = false;
        for (int i = 0; i < pendingLength; i++) {
            byte c = pending[i];
            if (format == Format.CSV && inQuotes && escape != quote && c == escape && i + 1 < pendingLength) {
                i++;
            } else if (format == Format.CSV && c == quote) {
                inQuotes = !inQuotes;
            } else if (c == '\n' && !inQuotes) {
                row(out, rowStart, i);
                out.writeByte('\n');
                rowStart = i + 1;
            }
        }
        if (last && rowStart < pendingLength) {
            if (inQuotes) {
                throw new MalformedRowException("COPY CSV data ends inside a quoted field");
            }
            row(out, rowStart, pendingLength);
            rowStart = pendingLength;
        }
        return rowStart;
    }

    private void row(ByteBuf out, int start, int end) {
        int lineEnd = end;
        boolean cr = format == Format.CSV && end > start && pending[end - 1] == '\r';
        if (cr) {
            lineEnd--;
        }
        if (lineEnd - start == 2 && pending[start] == '\\' && pending[start + 1] == '.') {
            out.writeBytes(pending, start, end - start); // end-of-data marker
            return;
        }
        int column = 0;
        int fieldStart = start;
        boolean inQuotes = false;
        for (int i = start; i <= lineEnd; i++) {
            boolean boundary = i == lineEnd;
            if (!boundary) {
                byte c = pending[i];
                if (format == Format.TEXT) {
                    if (c == '\\') {
                        i++;
                        continue;
                    }
                } else if (inQuotes && escape != quote && c == escape) {
                    i++;
                    continue;
                } else if (c == quote) {
                    inQuotes = !inQuotes;
                    continue;
                }
                boundary = c == delimiter && !inQuotes;
            }
            if (boundary) {
                if (column >= plan.columnCount()) {
                    throw new MalformedRowException("COPY row has more fields than the " + plan.columnCount()
                            + " copied columns");
                }
                if (column > 0) {
                    out.writeByte(delimiter);
                }
                field(out, column++, fieldStart, Math.min(i, lineEnd));
                fieldStart = i + 1;
            }
        }
        if (column != plan.columnCount()) {
            throw new MalformedRowException("COPY row has " + column + " fields; " + plan.columnCount()
                    + " columns were copied");
        }
        if (cr) {
            out.writeByte('\r');
        }
    }

    private void field(ByteBuf out, int column, int start, int end) {
        int length = end - start;
        boolean isNull = length == nullString.length && Arrays.equals(pending, start, end, nullString, 0, length)
                && (format == Format.TEXT || length == 0 || pending[start] != quote);
        if (plan.keeps(column) || isNull && !nullMayBeValue) {
            byte[] as = isNull && !plan.keeps(column) ? plan.nullAs(column) : null;
            if (as == null) {
                out.writeBytes(pending, start, length);
            } else if (format == Format.TEXT) {
                escapeText(out, as);
            } else {
                quoteCsv(out, as);
            }
            return;
        }
        byte[] value = format == Format.TEXT ? unescapeText(start, end) : unquoteCsv(start, end);
        byte[] masked = plan.maskValue(column, value, 0, value.length, false);
        if (masked == null) {
            out.writeBytes(pending, start, length);
        } else if (masked == ValueMasker.SQL_NULL) {
            out.writeBytes(nullString);
        } else if (format == Format.TEXT) {
            escapeText(out, masked);
        } else {
            quoteCsv(out, masked);
        }
    }

    private byte[] unescapeText(int start, int end) {
        byte[] v = new byte[end - start];
        int n = 0;
        for (int i = start; i < end; i++) {
            byte c = pending[i];
            if (c != '\\' || i + 1 >= end) {
                v[n++] = c;
                continue;
            }
            byte e = pending[++i];
            switch (e) {
                case 'b' -> v[n++] = '\b';
                case 'f' -> v[n++] = '\f';
                case 'n' -> v[n++] = '\n';
                case 'r' -> v[n++] = '\r';
                case 't' -> v[n++] = '\t';
                case 'v' -> v[n++] = 0x0b;
                case 'x' -> {
                    int value = 0;
                    int digits = 0;
                    while (digits < 2 && i + 1 < end && Character.digit(pending[i + 1], 16) >= 0) {
                        value = value * 16 + Character.digit(pending[++i], 16);
                        digits++;
                    }
                    v[n++] = digits == 0 ? (byte) 'x' : (byte) value;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int value = e - '0';
                        for (int k = 0; k < 2 && i + 1 < end && pending[i + 1] >= '0' && pending[i + 1] <= '7'; k++) {
                            value = value * 8 + (pending[++i] - '0');
                        }
                        v[n++] = (byte) value;
                    } else {
                        v[n++] = e;
                    }
                }
            }
        }
        return Arrays.copyOf(v, n);
    }

    private void escapeText(ByteBuf out, byte[] v) {
        for (byte c : v) {
            switch (c) {
                case '\\' -> out.writeByte('\\').writeByte('\\');
                case '\n' -> out.writeByte('\\').writeByte('n');
                case '\r' -> out.writeByte('\\').writeByte('r');
                case '\t' -> out.writeByte('\\').writeByte('t');
                case '\b' -> out.writeByte('\\').writeByte('b');
                case '\f' -> out.writeByte('\\').writeByte('f');
                case 0x0b -> out.writeByte('\\').writeByte('v');
                default -> {
                    if (c == delimiter) {
                        out.writeByte('\\');
                    }
                    out.writeByte(c);
                }
            }
        }
    }

    private byte[] unquoteCsv(int start, int end) {
        byte[] v = new byte[end - start];
        int n = 0;
        boolean inQuotes = false;
        for (int i = start; i < end; i++) {
            byte c = pending[i];
            if (inQuotes && c == escape && i + 1 < end && (escape != quote || pending[i + 1] == quote)) {
                v[n++] = pending[++i];
            } else if (c == quote) {
                inQuotes = !inQuotes;
            } else {
                v[n++] = c;
            }
        }
        return Arrays.copyOf(v, n);
    }

    private void quoteCsv(ByteBuf out, byte[] v) {
        out.writeByte(quote);
        for (byte c : v) {
            if (c == quote || c == escape) {
                out.writeByte(escape);
            }
            out.writeByte(c);
        }
        out.writeByte(quote);
    }

    // ---- binary -------------------------------------------------------------------------------------------

    private int tuples(ByteBuf out, boolean last) {
        int p = 0;
        if (!headerDone) {
            if (pendingLength < 19) {
                return incomplete(last, 0);
            }
            if (!Arrays.equals(pending, 0, 11, SIGNATURE, 0, 11)) {
                throw new MalformedRowException("binary COPY data does not start with the PGCOPY signature");
            }
            int flags = readInt(11);
            if ((flags & (1 << 16)) != 0) {
                throw new MalformedRowException("binary COPY with OIDs is not supported");
            }
            int extension = readInt(15);
            if (extension < 0 || pendingLength < 19 + extension) {
                return incomplete(last, 0);
            }
            out.writeBytes(pending, 0, 19 + extension);
            p = 19 + extension;
            headerDone = true;
        }
        while (p + 2 <= pendingLength && !trailerSeen) {
            short count = (short) (((pending[p] & 0xff) << 8) | (pending[p + 1] & 0xff));
            if (count == -1) {
                out.writeBytes(pending, p, 2);
                p += 2;
                trailerSeen = true;
                break;
            }
            if (count != plan.columnCount()) {
                throw new MalformedRowException("binary COPY tuple has " + count + " fields; " + plan.columnCount()
                        + " columns were copied");
            }
            int q = p + 2;
            boolean complete = true;
            for (int i = 0; i < count; i++) {
                if (q + 4 > pendingLength) {
                    complete = false;
                    break;
                }
                int length = readInt(q);
                q += 4 + Math.max(length, 0);
                if (q > pendingLength) {
                    complete = false;
                    break;
                }
            }
            if (!complete) {
                break;
            }
            out.writeBytes(pending, p, 2);
            q = p + 2;
            for (int i = 0; i < count; i++) {
                int length = readInt(q);
                int data = q + 4;
                byte[] masked = length < 0 ? plan.nullAs(i) : plan.maskValue(i, pending, data, length, true);
                if (masked == null) {
                    out.writeBytes(pending, q, 4 + Math.max(length, 0));
                } else if (masked == ValueMasker.SQL_NULL) {
                    out.writeInt(-1);
                } else {
                    out.writeInt(masked.length).writeBytes(masked);
                }
                q = data + Math.max(length, 0);
            }
            p = q;
        }
        if (trailerSeen && p < pendingLength) {
            throw new MalformedRowException("binary COPY data continues after its trailer");
        }
        return incomplete(last, p);
    }

    private int incomplete(boolean last, int consumed) {
        if (last && consumed < pendingLength) {
            throw new MalformedRowException("binary COPY data ends inside a tuple");
        }
        return consumed;
    }

    private int readInt(int i) {
        return ((pending[i] & 0xff) << 24) | ((pending[i + 1] & 0xff) << 16) | ((pending[i + 2] & 0xff) << 8)
                | (pending[i + 3] & 0xff);
    }
}
