package dev.warden.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Percentiles of pgbench's per-transaction log ({@code -l}): one line per transaction, {@code client_id
 * transaction_no time script_no time_epoch time_us}, where the third field is the latency in microseconds.
 * pgbench reports only the mean; the proxy's cost shows in the median and the tail.
 */
record LatencyLog(long count, double p50Ms, double p99Ms) {

    /** Reads and deletes every {@code prefix.*} file pgbench wrote in {@code dir}. */
    static LatencyLog readAndDelete(Path dir, String prefix) throws IOException {
        long[] values = new long[1 << 16];
        int n = 0;
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.getFileName().toString().startsWith(prefix + ".")).toList();
        }
        for (Path file : files) {
            try (Stream<String> lines = Files.lines(file)) {
                for (String line : (Iterable<String>) lines::iterator) {
                    String[] fields = line.split(" ");
                    if (fields.length < 3) {
                        continue;
                    }
                    if (n == values.length) {
                        values = Arrays.copyOf(values, n * 2);
                    }
                    values[n++] = Long.parseLong(fields[2]);
                }
            }
            Files.delete(file);
        }
        if (n == 0) {
            return new LatencyLog(0, Double.NaN, Double.NaN);
        }
        Arrays.sort(values, 0, n);
        return new LatencyLog(n, values[percentileIndex(n, 0.50)] / 1000.0, values[percentileIndex(n, 0.99)] / 1000.0);
    }

    /** Nearest-rank percentile. */
    static int percentileIndex(int n, double p) {
        return Math.max(0, Math.min(n - 1, (int) Math.ceil(p * n) - 1));
    }
}
