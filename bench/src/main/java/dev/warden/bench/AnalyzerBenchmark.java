package dev.warden.bench;

import dev.warden.sql.Analysis;
import dev.warden.sql.Analyzer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Cost of {@link Analyzer#analyze} per statement: {@code cold} with the cache disabled (every call lexes and
 * parses), {@code cached} with a warm cache (every call lexes, renders the shape and looks it up). Each
 * invocation changes the statement's literals, as a real workload would, so the cached case measures a
 * same-shape hit, not a same-string one.
 *
 * <p>Run: {@code java -jar bench/target/warden-bench.jar AnalyzerBenchmark -f 1 -wi 2 -w 1 -i 3 -r 1 -tu us
 * -bm avgt}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class AnalyzerBenchmark {

    @Param({"selectById", "joinWithCte", "insert10Values", "lexerDdl"})
    public String statement;

    private Analyzer cold;
    private Analyzer cached;
    private String template;
    private int counter;

    @Setup
    public void setUp() {
        template = switch (statement) {
            case "selectById" -> "SELECT id, email, name FROM users WHERE id = %d";
            case "joinWithCte" -> "WITH recent AS (SELECT user_id, sum(total) AS spent FROM orders "
                    + "WHERE created_at > now() - interval '%d days' GROUP BY user_id) "
                    + "SELECT u.email, r.spent, a.city FROM users u JOIN recent r ON r.user_id = u.id "
                    + "LEFT JOIN addresses a ON a.user_id = u.id WHERE r.spent > 100 ORDER BY r.spent DESC LIMIT 50";
            case "insert10Values" -> "INSERT INTO events (a, b, c, d, e, f, g, h, i, j) "
                    + "VALUES (%d, 'x', 2, 'y', 4.5, true, 'z', 8, now(), 'w')";
            case "lexerDdl" -> "DROP TABLE IF EXISTS staging.import_%d, staging.errors CASCADE";
            default -> throw new IllegalArgumentException(statement);
        };
        cold = new Analyzer(0);
        cached = new Analyzer(10_000);
        cached.analyze(next());
    }

    private String next() {
        return String.format(template, ++counter);
    }

    @Benchmark
    public Analysis cold() {
        return cold.analyze(next());
    }

    @Benchmark
    public Analysis cached() {
        return cached.analyze(next());
    }
}
