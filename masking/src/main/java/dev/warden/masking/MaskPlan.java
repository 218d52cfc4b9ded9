package dev.warden.masking;

import dev.warden.config.MaskingSettings.MaskingRule.Strategy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * What to do with each column of one result: keep, mask every value, or scan values. Made by
 * {@link Masker#plan}; immutable except for its per-column counters of detector hits, so use one plan for
 * one result stream, on one thread (the channel's event loop).
 */
public final class MaskPlan {

    enum Action { KEEP, MASK, SCAN }

    private final ResultColumn[] columns;
    private final PgType[] types;
    private final Action[] actions;
    private final Treatment[] treatments;
    private final List<ColumnDecision> decisions;
    private final ValueMasker values;
    private final Set<String> detectors;
    private final Function<String, Treatment> forHit;
    private final long[] hits;
    /** Per column masked whole: its replacement when it does not depend on the value (NULL), else null. */
    private final byte[][] constants;
    /**
     * Per column: what its NULL is sent as, or null to send NULL. A masked column is masked to the same text whatever
     * it holds, NULL included: a NULL relayed as NULL next to {@code [redacted]} for every value let
     * {@code CASE WHEN <bit of the SSN> THEN 'x' END} read each value bit by bit, every row in one statement (a
     * helper's pass, a140 F4), through a view's column or a table's column named {@code ssn} too (a141 F1, F3).
     * Where the masked value is NULL itself (numbers, dates...), NULL stays NULL.
     */
    private final byte[][] nullsAs;
    private final boolean masksNothing;
    private final boolean notice;
    /** The encoding of the session's text values (its client_encoding), see {@link #useEncoding}. */
    private TextEncoding encoding = TextEncoding.UTF8;
    private final boolean[] masksNulls;
    /** Values of direct buffers are copied here to be read; results never alias it. */
    private byte[] scratch = new byte[256];

    MaskPlan(List<ResultColumn> columns, Action[] actions, Treatment[] treatments, List<ColumnDecision> decisions,
             ValueMasker values, Set<String> detectors, Function<String, Treatment> forHit, boolean notice) {
        this(columns, actions, treatments, decisions, values, detectors, forHit, notice, new boolean[columns.size()]);
    }

    /** As above; {@code masksNulls} says which columns' NULLs are masked too (see {@link #nullsAs}). */
    MaskPlan(List<ResultColumn> columns, Action[] actions, Treatment[] treatments, List<ColumnDecision> decisions,
             ValueMasker values, Set<String> detectors, Function<String, Treatment> forHit, boolean notice,
             boolean[] masksNulls) {
        this.notice = notice;
        this.columns = columns.toArray(new ResultColumn[0]);
        this.types = new PgType[this.columns.length];
        for (int i = 0; i < types.length; i++) {
            types[i] = PgType.of(this.columns[i].typeOid());
        }
        this.actions = actions;
        this.treatments = treatments;
        this.decisions = List.copyOf(decisions);
        this.values = values;
        this.detectors = detectors;
        this.forHit = forHit;
        this.hits = new long[this.columns.length];
        this.constants = new byte[this.columns.length][];
        for (int i = 0; i < constants.length; i++) {
            constants[i] = actions[i] == Action.MASK ? values.constantReplacement(treatments[i], types[i]) : null;
        }
        this.masksNulls = masksNulls;
        this.nullsAs = new byte[this.columns.length][];
        fillNullsAs();
        boolean nothing = true;
        for (Action a : actions) {
            nothing &= a == Action.KEEP;
        }
        this.masksNothing = nothing;
    }

    private void fillNullsAs() {
        for (int i = 0; i < nullsAs.length; i++) {
            if (actions[i] != Action.MASK || !masksNulls[i]) {
                continue;
            }
            Strategy s = treatments[i].strategy();
            byte[] as = constants[i] != null ? constants[i] : s == Strategy.REDACT || s == Strategy.FIXED
                    ? values.maskWhole(treatments[i], types[i], columns[i].typeModifier(), columns[i].binary(),
                    new byte[0], 0, 0, encoding) : null;
            nullsAs[i] = as == ValueMasker.SQL_NULL ? null : as;
        }
    }

    /**
     * Masks text values as {@code encoding}'s (the session's client_encoding, which the server converts every text
     * value into): set before each result, since a session may change it between two uses of one plan.
     */
    public void useEncoding(TextEncoding encoding) {
        if (encoding != this.encoding) {
            this.encoding = encoding;
            fillNullsAs();
        }
    }

    /** True when no column is masked or scanned: relay DataRows and CopyData untouched, without decoding. */
    public boolean masksNothing() {
        return masksNothing;
    }

    /**
     * The text of the NoticeResponse that tells the client this result was altered: the masked columns, each
     * with its strategy and the rule that chose it. Empty when no column is masked whole or the policy turned
     * the notice off ({@code masking.notice: off}). Columns that are only scanned are not named: whether a
     * value matches is known row by row, after the notice would have to be sent.
     */
    public java.util.Optional<String> notice() {
        if (!notice) {
            return java.util.Optional.empty();
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < actions.length; i++) {
            if (actions[i] == Action.MASK) {
                text.append(text.length() == 0 ? "" : ", ").append(columns[i].name()).append(" (")
                        .append(decisions.get(i).strategy()).append(", rule ").append(decisions.get(i).rule())
                        .append(')');
            }
        }
        return text.length() == 0 ? java.util.Optional.empty()
                : java.util.Optional.of("Warden masked columns of this result: " + text);
    }

    /** One decision per column, in column order. */
    public List<ColumnDecision> decisions() {
        return decisions;
    }

    /** How many values of {@code column} a value detector masked so far. */
    public long detectedValues(int column) {
        return hits[column];
    }

    public int columnCount() {
        return columns.length;
    }

    /**
     * Masks one DataRow message ({@code 'D'}, int32 length, int16 count, then per field int32 length, -1 for
     * NULL, and the bytes) starting at the reader index.
     *
     * <p>Ownership: {@code frame} is never released, retained or moved. When nothing changed the result is
     * {@code frame} itself (no copy). When no replacement is longer than the value it replaces (NULL, a masked
     * number, most string strategies), the row is rewritten inside {@code frame}'s own bytes and the result is
     * {@code frame}, shorter (its writer index lowered): {@code frame} must then end where the message ends, and
     * must be the caller's to change (it is, for a slice of what was read). Otherwise the result is a new buffer
     * from {@code alloc} that the caller owns, and the caller still releases {@code frame}: {@code out =
     * plan.maskDataRow(in, alloc); if (out != in) in.release();}.
     *
     * @throws MalformedRowException when the message is not a DataRow of this plan's column count
     */
    public ByteBuf maskDataRow(ByteBuf frame, ByteBufAllocator alloc) {
        if (masksNothing) {
            return frame;
        }
        int start = frame.readerIndex();
        if (frame.readableBytes() < 7 || frame.getByte(start) != 'D') {
            throw new MalformedRowException("not a DataRow message");
        }
        int limit = start + 1 + frame.getInt(start + 1);
        if (limit > frame.writerIndex() || limit < start + 7) {
            throw new MalformedRowException("DataRow length does not match the buffer");
        }
        int count = frame.getUnsignedShort(start + 5);
        if (count != columns.length) {
            throw new MalformedRowException("DataRow has " + count + " fields; the result has " + columns.length
                    + " columns");
        }
        // While no replacement is longer than its value, the row is rewritten in its own buffer: unchanged bytes
        // move left over what was cut, so masking a row copies and allocates nothing. The first longer one
        // moves what was rewritten so far into a new buffer, which takes the rest.
        boolean inPlace = limit == frame.writerIndex() && !frame.isReadOnly();
        int written = start;
        ByteBuf out = null;
        int copied = start;
        int p = start + 7;
        try {
            for (int i = 0; i < count; i++) {
                if (p + 4 > limit) {
                    throw new MalformedRowException("DataRow field " + i + " is truncated");
                }
                int length = frame.getInt(p);
                int data = p + 4;
                if (length < 0) {
                    byte[] as = nullsAs[i];
                    if (as != null) {
                        // Longer than the NULL it replaces: the row goes on in a new buffer.
                        if (out == null) {
                            out = alloc.buffer(limit - start + 32 + as.length);
                            out.writeBytes(frame, start, written - start);
                        }
                        out.writeBytes(frame, copied, p - copied);
                        out.writeInt(as.length).writeBytes(as);
                        copied = data;
                    }
                    p = data;
                    continue;
                }
                if (data + length > limit) {
                    throw new MalformedRowException("DataRow field " + i + " is truncated");
                }
                byte[] replacement = actions[i] == Action.KEEP ? null : replacement(frame, i, data, length);
                if (replacement != null) {
                    int size = replacement == ValueMasker.SQL_NULL ? 0 : replacement.length;
                    if (out == null && inPlace && size <= length) {
                        moveLeft(frame, copied, written, p - copied);
                        written += p - copied;
                        frame.setInt(written, replacement == ValueMasker.SQL_NULL ? -1 : size);
                        frame.setBytes(written + 4, replacement, 0, size);
                        written += 4 + size;
                    } else {
                        if (out == null) {
                            out = alloc.buffer(limit - start + 32);
                            out.writeBytes(frame, start, written - start);
                        }
                        out.writeBytes(frame, copied, p - copied);
                        if (replacement == ValueMasker.SQL_NULL) {
                            out.writeInt(-1);
                        } else {
                            out.writeInt(replacement.length).writeBytes(replacement);
                        }
                    }
                    copied = data + length;
                }
                p = data + length;
            }
        } catch (RuntimeException e) {
            if (out != null) {
                out.release(); // a row that does not read: the caller ends the session, nothing is sent
            }
            throw e;
        }
        if (out == null) {
            if (copied != start) {
                moveLeft(frame, copied, written, limit - copied);
                written += limit - copied;
                frame.setInt(start + 1, written - start - 1);
                frame.writerIndex(written);
            }
            return frame;
        }
        out.writeBytes(frame, copied, limit - copied);
        out.setInt(out.readerIndex() + 1, out.readableBytes() - 1);
        return out;
    }

    /** The masked value of field {@code i} (null: unchanged); the value is read only when the result needs it. */
    private byte[] replacement(ByteBuf frame, int i, int data, int length) {
        if (constants[i] != null) {
            return constants[i];
        }
        if (frame.hasArray()) {
            return maskValue(i, frame.array(), frame.arrayOffset() + data, length, columns[i].binary());
        }
        if (scratch.length < length) {
            scratch = new byte[Math.max(length, scratch.length * 2)];
        }
        frame.getBytes(data, scratch, 0, length);
        return maskValue(i, scratch, 0, length, columns[i].binary());
    }

    /** Moves {@code n} bytes to a lower index of the same buffer; front to back, so overlap is safe. */
    private static void moveLeft(ByteBuf b, int from, int to, int n) {
        if (from == to) {
            return;
        }
        int i = 0;
        for (; i + Long.BYTES <= n; i += Long.BYTES) {
            b.setLong(to + i, b.getLong(from + i));
        }
        for (; i < n; i++) {
            b.setByte(to + i, b.getByte(from + i));
        }
    }

    /** Masks one non-NULL value of {@code column}; null = unchanged, {@link ValueMasker#SQL_NULL} = NULL. */
    byte[] maskValue(int column, byte[] v, int off, int len, boolean binary) {
        switch (actions[column]) {
            case MASK:
                return values.maskWhole(treatments[column], types[column], columns[column].typeModifier(), binary, v,
                        off, len, encoding);
            case SCAN:
                if (binary && !types[column].textLike()) {
                    return null; // unknown binary encodings are never scanned, see Masker
                }
                return values.maskSpans(types[column], binary, v, off, len, detectors, forHit, hits, column, encoding);
            default:
                return null;
        }
    }

    /** What a NULL of {@code column} is sent as (see {@link #nullsAs}); null: NULL. */
    byte[] nullAs(int column) {
        return nullsAs[column];
    }

    boolean keeps(int column) {
        return actions[column] == Action.KEEP;
    }
}
