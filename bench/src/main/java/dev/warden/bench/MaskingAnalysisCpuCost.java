package dev.warden.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The operations of {@link MaskingBenchmark} (ns per field) and {@link AnalyzerBenchmark} (ns per statement, each
 * of its statements cold and cached) in CPU time of the measuring thread, as {@link AuditRecordCpuCost} does for
 * the audit records: on the shared 2-core machine JMH's wall-clock figures moved by more than their own size
 * between runs. Prints one line per round; the first rounds include JIT compilation. For an A/B of builds, see
 * {@link CpuCostComparison}, which runs this class's rounds of several jars interleaved in one process.
 * Run: {@code java -cp bench/target/warden-bench.jar dev.warden.bench.MaskingAnalysisCpuCost}
 */
public final class MaskingAnalysisCpuCost {

    private static final int ROUNDS = 5;
    private static final int ROWS = 400_000;
    private static final int STATEMENTS = 20_000;
    private static final String[] ANALYZED = {"selectById", "joinWithCte", "insert10Values", "lexerDdl"};

    private final ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    private final MaskingBenchmark masking = new MaskingBenchmark();
    private final AnalyzerBenchmark[] analysis = new AnalyzerBenchmark[ANALYZED.length];
    private long keep;

    /** Sets the benchmarks up (their rows, statements and plans). */
    public MaskingAnalysisCpuCost() {
        masking.setUp();
        for (int i = 0; i < ANALYZED.length; i++) {
            analysis[i] = new AnalyzerBenchmark();
            analysis[i].statement = ANALYZED[i];
            analysis[i].setUp();
        }
    }

    /** The names of {@link #round}'s figures, in its order. */
    public static List<String> figures() {
        List<String> names = new ArrayList<>(List.of("scanNothingSensitive", "maskThreeColumns",
                "scanDisguisedSecrets"));
        for (String statement : ANALYZED) {
            names.add(statement + " cold");
            names.add(statement + " cached");
        }
        return names;
    }

    /**
     * One round: CPU ns per field of each masking operation over {@code rows} rows, then CPU ns per statement of
     * each analysed statement, cold and cached, over {@code statements} statements.
     */
    public double[] round(int rows, int statements) {
        double[] out = new double[3 + 2 * ANALYZED.length];
        double fields = (double) rows * MaskingBenchmark.FIELDS;
        long t0 = cpu.getCurrentThreadCpuTime();
        for (int i = 0; i < rows; i++) {
            keep += masking.scanNothingSensitive().readableBytes();
        }
        long t1 = cpu.getCurrentThreadCpuTime();
        for (int i = 0; i < rows; i++) {
            keep += masking.maskThreeColumns();
        }
        long t2 = cpu.getCurrentThreadCpuTime();
        for (int i = 0; i < rows; i++) {
            keep += masking.scanDisguisedSecrets();
        }
        long t3 = cpu.getCurrentThreadCpuTime();
        out[0] = (t1 - t0) / fields;
        out[1] = (t2 - t1) / fields;
        out[2] = (t3 - t2) / fields;
        for (int k = 0; k < ANALYZED.length; k++) {
            long a0 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < statements; i++) {
                keep += analysis[k].cold().statements().size();
            }
            long a1 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < statements; i++) {
                keep += analysis[k].cached().statements().size();
            }
            long a2 = cpu.getCurrentThreadCpuTime();
            out[3 + 2 * k] = (a1 - a0) / (double) statements;
            out[4 + 2 * k] = (a2 - a1) / (double) statements;
        }
        return out;
    }

    /** What the rounds computed, so that the JIT cannot drop their work. */
    public long checksum() {
        return keep;
    }

    public static void main(String[] args) {
        MaskingAnalysisCpuCost cost = new MaskingAnalysisCpuCost();
        List<String> names = figures();
        for (int round = 1; round <= ROUNDS; round++) {
            double[] figures = cost.round(ROWS, STATEMENTS);
            StringBuilder line = new StringBuilder("round " + round + ": CPU ns per field, then per statement:");
            for (int i = 0; i < figures.length; i++) {
                line.append(String.format(Locale.ROOT, "%s %s %.1f", i == 0 ? "" : ",", names.get(i), figures[i]));
            }
            System.out.println(line);
        }
        System.out.println("(checksum " + cost.checksum() + ")");
    }
}
