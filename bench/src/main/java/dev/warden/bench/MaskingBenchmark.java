package dev.warden.bench;

import dev.warden.config.MaskingSettings;
import dev.warden.config.Secret;
import dev.warden.masking.MaskContext;
import dev.warden.masking.MaskPlan;
import dev.warden.masking.Masker;
import dev.warden.masking.ResultColumn;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The DataRow masking path, in nanoseconds per field (each row has {@value #FIELDS} text fields):
 * <ul>
 *   <li>{@code scanNothingSensitive}: no sensitive column, value detection on: every value is scanned;</li>
 *   <li>{@code relayValueDetectionOff}: the same row with value detection off: {@code masksNothing()}, so the
 *       proxy relays the frame untouched (measured: the check and the identity return);</li>
 *   <li>{@code maskThreeColumns}: email, card_number and ssn masked by name, seven other columns scanned.</li>
 * </ul>
 * Run: {@code java -jar bench/target/warden-bench.jar MaskingBenchmark -f 1 -wi 2 -w 1 -i 3 -r 1 -tu ns -bm avgt}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MaskingBenchmark {

    static final int FIELDS = 10;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private MaskPlan scanPlan;
    private MaskPlan relayPlan;
    private MaskPlan maskPlan;
    private ByteBuf plainRow;
    private ByteBuf sensitiveRow;
    private ByteBuf disguisedRow;
    /** The row each masking invocation works on: a copy of one of the rows above. */
    private final ByteBuf work = PooledByteBufAllocator.DEFAULT.directBuffer(512);

    @Setup(Level.Trial)
    public void setUp() {
        MaskContext context = new MaskContext("alice@acme.com", Set.of("eng"), false, "prod", Set.of());
        List<ResultColumn> plain = new ArrayList<>();
        String[] plainValues = {"Blue widget", "In stock", "Warehouse 7, aisle 3", "Ships in 2 days", "SKU-4471",
                "Medium", "cotton blend", "2024-11-03", "Reviewed by QA", "Made in Portugal"};
        for (int i = 0; i < FIELDS; i++) {
            plain.add(ResultColumn.fromTable("public", "products", "c" + i, "c" + i, 25, -1, (short) 0));
        }
        MaskingSettings on = new MaskingSettings(true, true, Set.of(), Secret.of("bench-key-0123456789"), List.of(),
                MaskingSettings.Exemption.NOBODY);
        MaskingSettings off = new MaskingSettings(true, false, Set.of(), Secret.of("bench-key-0123456789"), List.of(),
                MaskingSettings.Exemption.NOBODY);
        scanPlan = new Masker(on).plan(plain, context);
        relayPlan = new Masker(off).plan(plain, context);
        plainRow = row(plainValues);

        List<ResultColumn> customers = new ArrayList<>(plain.subList(0, FIELDS - 3));
        customers.add(ResultColumn.fromTable("public", "customers", "email", "email", 25, -1, (short) 0));
        customers.add(ResultColumn.fromTable("public", "customers", "card_number", "card_number", 25, -1, (short) 0));
        customers.add(ResultColumn.fromTable("public", "customers", "ssn", "ssn", 25, -1, (short) 0));
        maskPlan = new Masker(on).plan(customers, context);
        String[] values = plainValues.clone();
        values[7] = "john.doe@acme.com";
        values[8] = "4111111111111111";
        values[9] = "123-45-6789";
        sensitiveRow = row(values);
        // Free text where secrets hide behind case, prefixes, suffixes and other separators (issue 13, item 6).
        disguisedRow = row(new String[] {"Blue widget", "contact: ANN.LEE@ACME.COM1", "Warehouse 7, aisle 3",
                "ssn123.45.6789x", "SKU-4471", "paid 4111 1111 1111 1111.", "cotton blend", "2024-11-03",
                "key akiaiosfodnn7example", "Made in Portugal"});
        if (!relayPlan.masksNothing() || scanPlan.maskDataRow(plainRow, alloc) != plainRow) {
            throw new IllegalStateException("benchmark set-up is wrong");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        work.release();
        plainRow.release();
        sensitiveRow.release();
        disguisedRow.release();
    }

    private ByteBuf row(String[] values) {
        ByteBuf b = alloc.directBuffer();
        b.writeByte('D').writeInt(0).writeShort(values.length);
        for (String v : values) {
            byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
            b.writeInt(bytes.length).writeBytes(bytes);
        }
        b.setInt(1, b.writerIndex() - 1);
        return b;
    }

    @Benchmark
    @OperationsPerInvocation(FIELDS)
    public ByteBuf scanNothingSensitive() {
        return scanPlan.maskDataRow(plainRow, alloc);
    }

    @Benchmark
    @OperationsPerInvocation(FIELDS)
    public ByteBuf relayValueDetectionOff() {
        return relayPlan.masksNothing() ? plainRow : relayPlan.maskDataRow(plainRow, alloc);
    }

    @Benchmark
    @OperationsPerInvocation(FIELDS)
    public int maskThreeColumns() {
        return maskedSize(maskPlan, sensitiveRow);
    }

    private int maskedSize(MaskPlan plan, ByteBuf row) {
        // Masking may rewrite a row in its own buffer (as the relay's rows are, once read): each invocation masks
        // a fresh copy in a reused buffer, which costs one memcpy of the row (about 150 bytes).
        work.clear().writeBytes(row, row.readerIndex(), row.readableBytes());
        ByteBuf out = plan.maskDataRow(work, alloc);
        int size = out.readableBytes();
        if (out != work) {
            out.release();
        }
        return size;
    }

    /** Value detection over free text with disguised secrets: four of ten values hit and are masked. */
    @Benchmark
    @OperationsPerInvocation(FIELDS)
    public int scanDisguisedSecrets() {
        return maskedSize(scanPlan, disguisedRow);
    }
}
