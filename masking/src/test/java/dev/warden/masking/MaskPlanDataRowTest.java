package dev.warden.masking;

import static dev.warden.masking.Fixtures.ALICE;
import static dev.warden.masking.Fixtures.bin;
import static dev.warden.masking.Fixtures.col;
import static dev.warden.masking.Fixtures.dataRow;
import static dev.warden.masking.Fixtures.fields;
import static dev.warden.masking.Fixtures.settings;
import static dev.warden.masking.Fixtures.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.config.MaskingSettings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MaskPlanDataRowTest {

    private final Masker masker = new Masker(settings());
    private final UnpooledByteBufAllocator alloc = UnpooledByteBufAllocator.DEFAULT;

    @Test
    void masksTextRowByteExact() {
        MaskPlan plan = masker.plan(List.of(col("users", "id", 23), col("users", "email", 25),
                col("users", "ssn", 25), col("users", "card_number", 1043)), ALICE);
        ByteBuf in = dataRow(utf8("7"), utf8("john.doe@acme.com"), utf8("123-45-6789"), utf8("4111111111111111"));
        ByteBuf out = plan.maskDataRow(in, alloc);
        assertSame(in, out, "no replacement is longer than its value: rewritten in place");
        ByteBuf expected = dataRow(utf8("7"), utf8("j***@acme.com"), utf8("[redacted]"), utf8("************1111"));
        assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(out));
        assertEquals(1, in.refCnt(), "the input is left to the caller");
        in.release();
    }

    /**
     * A masked column's NULL is sent as its values are (a140 F4, a141 F1 and F3: which rows were NULL was a bit the
     * statement chose); where the masked value is NULL itself, NULL stays NULL; a clear column keeps its NULL.
     */
    @Test
    void aMaskedColumnsNullIsMaskedAsItsValues() {
        MaskPlan plan = masker.plan(List.of(col("users", "id", 23), col("users", "ssn", 25), col("users", "note", 25)),
                ALICE);
        ByteBuf in = dataRow(null, null, null);
        ByteBuf out = plan.maskDataRow(in, alloc);
        assertEquals(ByteBufUtil.hexDump(dataRow(null, utf8("[redacted]"), null)), ByteBufUtil.hexDump(out));
        if (out != in) {
            out.release();
        }
        in.release();
    }

    /**
     * The relay hands the masker a slice of the buffer it read, with the next messages behind it: a row whose
     * replacements are no longer than its values is rewritten inside its own bytes, and nothing behind it moves.
     */
    @Test
    void shorterReplacementsRewriteTheRowInsideItsSliceOfADirectBuffer() {
        MaskPlan plan = intMasker().plan(List.of(col("accounts", "aid", 23), col("accounts", "abalance", 23),
                col("accounts", "filler", 25)), ALICE);
        ByteBuf read = PooledByteBufAllocator.DEFAULT.directBuffer();
        read.writeBytes(dataRow(utf8("1"), utf8("-4711"), utf8("padding"))).writeBytes(dataRow(utf8("next")));
        int rowLength = read.getInt(1) + 1;
        ByteBuf frame = read.retainedSlice(0, rowLength);
        ByteBuf out = plan.maskDataRow(frame, alloc);
        assertSame(frame, out);
        assertEquals(ByteBufUtil.hexDump(dataRow(null, null, utf8("padding"))), ByteBufUtil.hexDump(out));
        assertEquals(ByteBufUtil.hexDump(dataRow(utf8("next"))),
                ByteBufUtil.hexDump(read, rowLength, read.writerIndex() - rowLength), "the next message is intact");
        frame.release();
        read.release();
    }

    /** A longer replacement after one made in place: the row so far and the rest go to a new buffer. */
    @Test
    void aLongerReplacementAfterAShorterOneMovesTheRowToANewBuffer() {
        MaskPlan plan = intMasker().plan(List.of(col("accounts", "abalance", 23), col("users", "email", 25),
                col("accounts", "note", 25)), ALICE);
        ByteBuf in = PooledByteBufAllocator.DEFAULT.directBuffer();
        in.writeBytes(dataRow(utf8("123456"), utf8("a@b.co"), utf8("tail")));
        ByteBuf out = plan.maskDataRow(in, alloc);
        assertNotSame(in, out);
        assertEquals(ByteBufUtil.hexDump(dataRow(null, utf8("a***@b.co"), utf8("tail"))), ByteBufUtil.hexDump(out));
        out.release();
        in.release();
    }

    private static Masker intMasker() {
        return new Masker(settings(Fixtures.rule(new MaskingSettings.MaskingRule.TypeName("int4"),
                MaskingSettings.MaskingRule.Strategy.REDACT)));
    }

    @Test
    void unchangedRowsComeBackAsTheSameBufferWithoutCopying() {
        MaskPlan plan = masker.plan(List.of(col("products", "id", 23), col("products", "title", 25)), ALICE);
        ByteBuf in = dataRow(utf8("1"), utf8("Blue widget"));
        int reader = in.readerIndex();
        assertSame(in, plan.maskDataRow(in, alloc));
        assertEquals(reader, in.readerIndex());
        ByteBuf direct = PooledByteBufAllocator.DEFAULT.directBuffer();
        direct.writeBytes(dataRow(utf8("2"), utf8("Red widget")));
        assertSame(direct, plan.maskDataRow(direct, alloc));
        direct.release();
    }

    @Test
    void valueDetectionMasksOnlyTheValuesThatHit() {
        MaskPlan plan = masker.plan(List.of(col("tickets", "id", 23), col("tickets", "body", 25)), ALICE);
        ByteBuf clear = dataRow(utf8("1"), utf8("printer is broken"));
        assertSame(clear, plan.maskDataRow(clear, alloc));
        ByteBuf leaky = dataRow(utf8("2"), utf8("reach me at ann.lee@example.org or +44 20 7946 0958"));
        List<String> out = fields(plan.maskDataRow(leaky, alloc));
        assertEquals(List.of("2", "reach me at a***@example.org or ************0958"), out,
                "both the e-mail and the phone grouped by spaces inside the text are found");
        ByteBuf key = dataRow(utf8("3"), utf8("AKIAIOSFODNN7EXAMPLE"));
        assertEquals(List.of("3", "[redacted]"), fields(plan.maskDataRow(key, alloc)));
        assertEquals(3, plan.detectedValues(1));
        ByteBuf json = dataRow(utf8("4"), utf8("{\"card\": \"4242 4242 4242 4242\", \"ok\": true}"));
        assertEquals("{\"card\": \"***************4242\", \"ok\": true}", fields(plan.maskDataRow(json, alloc)).get(1));
    }

    @Test
    void binaryRowsOfMaskedNonTextTypesBecomeNullAndNullStaysNull() {
        MaskPlan plan = new Masker(settings(Fixtures.rule(new dev.warden.config.MaskingSettings.MaskingRule.TypeName("int4"),
                dev.warden.config.MaskingSettings.MaskingRule.Strategy.REDACT))).plan(List.of(
                bin("accounts", "balance", 23), bin("accounts", "email", 25), bin("accounts", "dob", 1082),
                bin("accounts", "phone", 25)), ALICE);
        ByteBuf in = dataRow(ByteBuffer.allocate(4).putInt(1234).array(), utf8("zoe@acme.com"),
                ByteBuffer.allocate(4).putInt(7000).array(), null);
        ByteBuf out = plan.maskDataRow(in, alloc);
        // A masked number or date is NULL, never a plausible 0 or 1970-01-01; text keeps its strategy.
        ByteBuf expected = dataRow(null, utf8("z***@acme.com"), null, null);
        assertEquals(ByteBufUtil.hexDump(expected), ByteBufUtil.hexDump(out));
    }

    @Test
    void nullStrategyTurnsValuesIntoNull() {
        MaskPlan plan = new Masker(settings(Fixtures.rule(
                new dev.warden.config.MaskingSettings.MaskingRule.Column(java.util.Optional.empty(), "users", "email"),
                dev.warden.config.MaskingSettings.MaskingRule.Strategy.NULL))).plan(List.of(col("users", "email", 25)), ALICE);
        assertEquals(Arrays.asList((String) null), fields(plan.maskDataRow(dataRow(utf8("a@b.co")), alloc)));
    }

    @Test
    void tokensMatchAcrossMaskersWithTheSameKey() {
        var rule = Fixtures.rule(new dev.warden.config.MaskingSettings.MaskingRule.Detector("email"),
                dev.warden.config.MaskingSettings.MaskingRule.Strategy.TOKENIZE);
        List<ResultColumn> cols = List.of(col("users", "email", 25));
        String a = fields(new Masker(settings(rule)).plan(cols, ALICE).maskDataRow(dataRow(utf8("x@y.com")), alloc)).get(0);
        String b = fields(new Masker(settings(rule)).plan(cols, ALICE).maskDataRow(dataRow(utf8("x@y.com")), alloc)).get(0);
        assertEquals(a, b);
        assertTrue(a.startsWith("tok_"));
        MaskingSettings noKey = MaskingSettings.defaults();
        var randomKey = new MaskingSettings(true, true, Set.of(), noKey.tokenKey(), List.of(rule), noKey.unmaskedFor());
        String c = fields(new Masker(randomKey).plan(cols, ALICE).maskDataRow(dataRow(utf8("x@y.com")), alloc)).get(0);
        String d = fields(new Masker(randomKey).plan(cols, ALICE).maskDataRow(dataRow(utf8("x@y.com")), alloc)).get(0);
        assertEquals(c, d, "without a key, tokens still match within the process");
    }

    /**
     * A row cut short after a replacement longer than its value was written to a new buffer: the new buffer is
     * released before the row is refused (the caller ends the session and sends nothing). Before, it was left held.
     */
    @Test
    void aRowCutShortAfterALongerReplacementLeavesNoBufferHeld() {
        var rule = Fixtures.rule(new dev.warden.config.MaskingSettings.MaskingRule.Detector("email"),
                dev.warden.config.MaskingSettings.MaskingRule.Strategy.TOKENIZE);
        MaskPlan plan = new Masker(settings(rule)).plan(List.of(col("users", "email", 25), col("users", "email", 25)),
                ALICE);
        ByteBuf row = dataRow(utf8("x@y.co"), utf8("q@r.io"));
        row.setInt(7 + 4 + 6, 100); // the second field's length runs past the row
        TrackingAllocator tracking = new TrackingAllocator();
        assertThrows(MalformedRowException.class, () -> plan.maskDataRow(row, tracking));
        assertEquals(1, tracking.made(), "the token is longer than the value: a new buffer took the row");
        assertEquals(0, tracking.held());
        assertEquals(1, row.refCnt(), "the input is left to the caller");
    }

    @Test
    void respectsTheReaderIndexAndRejectsMismatchedRows() {
        MaskPlan plan = masker.plan(List.of(col("users", "email", 25)), ALICE);
        ByteBuf framed = Unpooled.buffer().writeBytes(new byte[] {9, 9}).writeBytes(dataRow(utf8("q@r.io")));
        framed.readerIndex(2);
        assertEquals(List.of("q***@r.io"), fields(plan.maskDataRow(framed, alloc)));
        assertThrows(MalformedRowException.class, () -> plan.maskDataRow(dataRow(utf8("a"), utf8("b")), alloc));
        ByteBuf truncated = dataRow(utf8("q@r.io"));
        truncated.setInt(7, 100);
        assertThrows(MalformedRowException.class, () -> plan.maskDataRow(truncated, alloc));
    }

    @Test
    void maskedRowsNeverContainTheClearValue() {
        MaskPlan plan = masker.plan(List.of(col("users", "email", 25), col("users", "notes", 25)), ALICE);
        byte[] secret = utf8("john.doe@acme.com");
        ByteBuf out = plan.maskDataRow(dataRow(secret, utf8("cc john.doe@acme.com")), alloc);
        byte[] bytes = ByteBufUtil.getBytes(out);
        assertArrayEquals(new int[0], indexOf(bytes, secret));
    }

    private static int[] indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return new int[] {i};
            }
        }
        return new int[0];
    }
}
