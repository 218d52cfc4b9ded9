package dev.warden.masking;

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
    private final boolean masksNothing;
    private final boolean notice;
    /** Values of direct buffers are copied here to be read; results never alias it. */
    private byte[] scratch = new byte[256];

    MaskPlan(List<ResultColumn> columns, Action[] actions, Treatment[] treatments, List<ColumnDecision> decisions,
             ValueMasker values, Set<String> detectors, Function<String, Treatment> forHit, boolean notice) {
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
        boolean nothing = true;
        for (Action a : actions) {
            nothing &= a == Action.KEEP;
        }
        this.masksNothing = nothing;
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
     * {@code frame} itself (no copy); otherwise it is a new buffer from {@code alloc} that the caller owns, and
     * the caller still releases {@code frame}: {@code out = plan.maskDataRow(in, alloc); if (out != in)
     * in.release();}.
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
        ByteBuf out = null;
        int copied = start;
        int p = start + 7;
        for (int i = 0; i < count; i++) {
            if (p + 4 > limit) {
                throw new MalformedRowException("DataRow field " + i + " is truncated");
            }
            int length = frame.getInt(p);
            int data = p + 4;
            if (length < 0) {
                p = data;
                continue;
            }
            if (data + length > limit) {
                throw new MalformedRowException("DataRow field " + i + " is truncated");
            }
            if (actions[i] != Action.KEEP) {
                byte[] replacement;
                if (frame.hasArray()) {
                    replacement = maskValue(i, frame.array(), frame.arrayOffset() + data, length, columns[i].binary());
                } else {
                    if (scratch.length < length) {
                        scratch = new byte[Math.max(length, scratch.length * 2)];
                    }
                    frame.getBytes(data, scratch, 0, length);
                    replacement = maskValue(i, scratch, 0, length, columns[i].binary());
                }
                if (replacement != null) {
                    if (out == null) {
                        out = alloc.buffer(limit - start + 32);
                    }
                    out.writeBytes(frame, copied, p - copied);
                    if (replacement == ValueMasker.SQL_NULL) {
                        out.writeInt(-1);
                    } else {
                        out.writeInt(replacement.length).writeBytes(replacement);
                    }
                    copied = data + length;
                }
            }
            p = data + length;
        }
        if (out == null) {
            return frame;
        }
        out.writeBytes(frame, copied, limit - copied);
        out.setInt(out.readerIndex() + 1, out.readableBytes() - 1);
        return out;
    }

    /** Masks one non-NULL value of {@code column}; null = unchanged, {@link ValueMasker#SQL_NULL} = NULL. */
    byte[] maskValue(int column, byte[] v, int off, int len, boolean binary) {
        switch (actions[column]) {
            case MASK:
                return values.maskWhole(treatments[column], types[column], columns[column].typeModifier(), binary, v,
                        off, len);
            case SCAN:
                if (binary && !types[column].textLike()) {
                    return null; // unknown binary encodings are never scanned, see Masker
                }
                return values.maskSpans(types[column], binary, v, off, len, detectors, forHit, hits, column);
            default:
                return null;
        }
    }

    boolean keeps(int column) {
        return actions[column] == Action.KEEP;
    }
}
