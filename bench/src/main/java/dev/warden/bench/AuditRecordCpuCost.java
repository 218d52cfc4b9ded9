package dev.warden.bench;

import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.event.RecordTemplate;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;

/**
 * The operations of {@link AuditRecordBenchmark} in CPU time of the measuring thread
 * ({@link ThreadMXBean#getCurrentThreadCpuTime}), which time spent waiting for a core does not inflate: on the
 * shared 2-core development machine JMH's wall-clock figures moved by a factor of three between runs. Prints
 * one line per round; the first rounds include JIT compilation.
 * Run: {@code java -cp bench/target/warden-bench.jar dev.warden.bench.AuditRecordCpuCost}
 */
public final class AuditRecordCpuCost {

    private static final int ROUNDS = 8;
    private static final int RECORDS = 200_000;
    private static final int TREE_RECORDS = 10_000;

    private AuditRecordCpuCost() {
    }

    public static void main(String[] args) {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        RecordChain chain = new RecordChain(AuditRecordBenchmark.FIRST_SEQ - 1, RecordChain.GENESIS);
        RecordTemplate template = RecordTemplate.of(AuditRecordBenchmark.query(), AuditRecordBenchmark.FIRST_SEQ);
        long keep = 0;
        for (int round = 1; round <= ROUNDS; round++) {
            long t0 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < RECORDS; i++) {
                keep += RecordTemplate.of(AuditRecordBenchmark.query(), AuditRecordBenchmark.FIRST_SEQ).bytes().length;
            }
            long t1 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < RECORDS; i++) {
                keep += RecordTemplate.of(AuditRecordBenchmark.result(i + 1), AuditRecordBenchmark.FIRST_SEQ)
                        .bytes().length;
            }
            long t2 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < RECORDS; i++) {
                keep += chain.append(template).seq();
            }
            long t3 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < TREE_RECORDS; i++) {
                keep += AuditRecordBenchmark.treeRecord().length;
            }
            long t4 = cpu.getCurrentThreadCpuTime();
            System.out.printf(Locale.ROOT, "round %d: CPU ns per record: build query %.0f, build result %.0f, "
                            + "link %.0f, tree query (before) %.0f%n", round, (t1 - t0) / (double) RECORDS,
                    (t2 - t1) / (double) RECORDS, (t3 - t2) / (double) RECORDS, (t4 - t3) / (double) TREE_RECORDS);
        }
        System.out.println("(checksum " + keep + ")");
    }
}
