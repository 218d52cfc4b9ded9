package dev.warden.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.event.AuditEvent;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.event.QueryEvent;
import dev.warden.audit.event.RecordTemplate;
import dev.warden.audit.event.ResultEvent;
import dev.warden.audit.event.Timestamps;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What one audit record costs, in nanoseconds, for a pgbench-like {@code query} record and its {@code result}:
 * <ul>
 *   <li>{@code buildQueryRecord}, {@code buildResultRecord}: the event and its canonical bytes, on the
 *       session's thread (what {@code GroupCommitLog.append} does before queueing), with the values a session
 *       repeats (its username, a statement shape's fact lists, a result shape's columns and tags) handed as the
 *       same instances, as {@code SessionAudit} hands them;</li>
 *   <li>{@code buildQueryRecordNewShape}: the same record with every list a new instance (a statement shape seen
 *       for the first time: nothing comes from the writer's cache);</li>
 *   <li>{@code linkRecord}: the writer's part: {@code prev} and {@code seq} written into the record's gaps,
 *       SHA-256 over the line;</li>
 *   <li>{@code treeQueryRecord}: the earlier way, for comparison: a Jackson tree, sorted keys, a random UUID.</li>
 * </ul>
 * Run: {@code java -jar bench/target/warden-bench.jar AuditRecordBenchmark -f 1 -wi 3 -w 1 -i 5 -r 1}. On a
 * machine shared with other work JMH's wall-clock times include waiting for a core; {@link AuditRecordCpuCost}
 * measures the same operations in CPU time.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AuditRecordBenchmark {

    private static final String SQL = "SELECT abalance FROM pgbench_accounts WHERE aid = 62377;";
    /** Where the chain starts: the seq stays 13 digits wide for any run, as the templates' gaps expect. */
    static final long FIRST_SEQ = 1_000_000_000_000L;
    private static final List<String> KINDS = List.of("SELECT");
    private static final List<String> TABLES = List.of("public.pgbench_accounts");
    private static final List<String> COLUMNS =
            List.of("public.pgbench_accounts.abalance", "public.pgbench_accounts.aid");
    private static final List<ResultEvent.Column> RESULT_COLUMNS =
            List.of(ResultEvent.Column.masked("abalance", "bench-abalance"));
    private static final List<String> TAGS = List.of("SELECT 1");

    private RecordChain chain;
    private RecordTemplate template;
    private long querySeq = 1;

    @Setup(Level.Trial)
    public void setUp() {
        chain = new RecordChain(FIRST_SEQ - 1, RecordChain.GENESIS);
        template = RecordTemplate.of(query(), FIRST_SEQ);
    }

    static QueryEvent query() {
        return QueryEvent.builder("c0ffee01-0001", "bench@example.com", "bench").statement(SQL)
                .fingerprint("a3f1c2d4e5b6a7f8").kinds(KINDS).tables(TABLES, List.of()).columns(COLUMNS, List.of())
                .policyVersion("9f2c41d0").simpleProtocol().build();
    }

    static QueryEvent queryNewShape() {
        return QueryEvent.builder("c0ffee01-0001", "bench@example.com", "bench").statement(SQL)
                .fingerprint("a3f1c2d4e5b6a7f8").kinds(List.of("SELECT"))
                .tables(List.of("public.pgbench_accounts"), List.of())
                .columns(List.of("public.pgbench_accounts.abalance", "public.pgbench_accounts.aid"), List.of())
                .policyVersion("9f2c41d0").simpleProtocol().build();
    }

    @Benchmark
    public RecordTemplate buildQueryRecord() {
        return RecordTemplate.of(query(), FIRST_SEQ);
    }

    @Benchmark
    public RecordTemplate buildQueryRecordNewShape() {
        return RecordTemplate.of(queryNewShape(), FIRST_SEQ);
    }

    @Benchmark
    public RecordTemplate buildResultRecord() {
        return RecordTemplate.of(result(querySeq++), FIRST_SEQ);
    }

    static ResultEvent result(long querySeq) {
        return ResultEvent.of("c0ffee01-0001", querySeq, 1, 41, RESULT_COLUMNS, 182, null, "SELECT 1", TAGS);
    }

    @Benchmark
    public ChainedRecord linkRecord() {
        return chain.append(template);
    }

    @Benchmark
    public byte[] treeQueryRecord() {
        return treeRecord();
    }

    static byte[] treeRecord() {
        AuditEvent event = new QueryEvent(UUID.randomUUID(), null, "c0ffee01-0001", "bench@example.com", "bench", SQL,
                "a3f1c2d4e5b6a7f8", List.of("SELECT"), List.of("public.pgbench_accounts"), List.of(),
                List.of("public.pgbench_accounts.abalance", "public.pgbench_accounts.aid"), List.of(),
                QueryEvent.Decision.ALLOW, null, null, "9f2c41d0", QueryEvent.Protocol.SIMPLE, null, null, null);
        ObjectNode record = CanonicalJson.object();
        record.put("schema_version", AuditEvent.SCHEMA_VERSION);
        record.put("id", event.id().toString());
        record.put("ts", Timestamps.format(event.ts()));
        record.put("session", event.session());
        record.put("seq", 1L);
        record.put("prev", RecordChain.GENESIS);
        record.put("type", event.type());
        event.writeFields(record);
        return CanonicalJson.encode(record);
    }
}
