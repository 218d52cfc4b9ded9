package dev.warden.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;

/**
 * The operations of {@link MaskingBenchmark} (ns per field) and {@link AnalyzerBenchmark} (ns per statement, each
 * of its statements cold and cached) in CPU time of the measuring thread, as {@link AuditRecordCpuCost} does for
 * the audit records: on the shared 2-core machine JMH's wall-clock figures moved by more than their own size
 * between runs. Prints one line per round; the first rounds include JIT compilation. For an A/B, run the jars of
 * both builds alternately.
 * Run: {@code java -cp bench/target/warden-bench.jar dev.warden.bench.MaskingAnalysisCpuCost}
 */
public final class MaskingAnalysisCpuCost {

    private static final int ROUNDS = 5;
    private static final int ROWS = 400_000;
    private static final int STATEMENTS = 20_000;
    private static final String[] ANALYZED = {"selectById", "joinWithCte", "insert10Values", "lexerDdl"};

    private MaskingAnalysisCpuCost() {
    }

    public static void main(String[] args) {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        MaskingBenchmark masking = new MaskingBenchmark();
        masking.setUp();
        AnalyzerBenchmark[] analysis = new AnalyzerBenchmark[ANALYZED.length];
        for (int i = 0; i < ANALYZED.length; i++) {
            analysis[i] = new AnalyzerBenchmark();
            analysis[i].statement = ANALYZED[i];
            analysis[i].setUp();
        }
        long keep = 0;
        for (int round = 1; round <= ROUNDS; round++) {
            StringBuilder line = new StringBuilder("round " + round + ": CPU ns per field:");
            long t0 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < ROWS; i++) {
                keep += masking.scanNothingSensitive().readableBytes();
            }
            long t1 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < ROWS; i++) {
                keep += masking.maskThreeColumns();
            }
            long t2 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < ROWS; i++) {
                keep += masking.scanDisguisedSecrets();
            }
            long t3 = cpu.getCurrentThreadCpuTime();
            double fields = (double) ROWS * MaskingBenchmark.FIELDS;
            line.append(String.format(Locale.ROOT, " scanNothingSensitive %.1f, maskThreeColumns %.1f, "
                    + "scanDisguisedSecrets %.1f; per statement:", (t1 - t0) / fields, (t2 - t1) / fields,
                    (t3 - t2) / fields));
            for (int k = 0; k < ANALYZED.length; k++) {
                long a0 = cpu.getCurrentThreadCpuTime();
                for (int i = 0; i < STATEMENTS; i++) {
                    keep += analysis[k].cold().statements().size();
                }
                long a1 = cpu.getCurrentThreadCpuTime();
                for (int i = 0; i < STATEMENTS; i++) {
                    keep += analysis[k].cached().statements().size();
                }
                long a2 = cpu.getCurrentThreadCpuTime();
                line.append(String.format(Locale.ROOT, " %s cold %.0f cached %.0f", ANALYZED[k],
                        (a1 - a0) / (double) STATEMENTS, (a2 - a1) / (double) STATEMENTS));
            }
            System.out.println(line);
        }
        System.out.println("(checksum " + keep + ")");
    }
}
