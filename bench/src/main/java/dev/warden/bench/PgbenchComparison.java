package dev.warden.bench;

import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.config.AuditSettings;
import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import dev.warden.testkit.TestPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End-to-end throughput and latency of PostgreSQL alone, of PgBouncer and of Warden, measured with the real
 * {@code pgbench} in one interleaved run: every workload, protocol and client count runs on every path in turn
 * (direct, PgBouncer, Warden fsync, Warden write, direct…) so that drift on a small machine hits every path
 * alike. Each cell is the median over {@code --rounds} runs; before them each combination runs once untimed on
 * every path for {@code --warmup} seconds. Before the first cell, each Warden runs every workload and protocol at
 * the largest client count for {@code --jit-warmup} seconds in all: Warden is a long-running JVM, and a fresh one
 * spent up to a core of this 2-core machine in the JIT compiler for its first half minute of load (perf: the C2
 * compiler thread held 17 % of all CPU samples in a measured round after a 3 s warm-up, and TPS rose from round
 * to round), which measures the compiler rather than the proxy. Each path also runs {@code --prewarm} seconds
 * untimed right before each of its measured rounds: a Warden that idled through the other paths' rounds met the
 * new round's connections with compiled code that had never taken their branches; the JVM discarded dozens of hot
 * methods in the same millisecond (no class was loaded then), and their recompilation fell into the measured
 * round (PrintCompilation: about 800 compilations in its first 2 s; perf: the C2 thread 9 % of all CPU samples).
 *
 * <p>Paths: {@code direct} (pgbench to PostgreSQL with the upstream TLS setting); {@code PgBouncer} (session
 * mode, client TLS required, same upstream TLS; when {@code pgbouncer} is installed); and one Warden per
 * {@code --wardens} choice, each with every feature on (baseline guardrails plus rules, masking defaults plus a
 * rule on a column pgbench reads, approvals, write-ahead audit, client TLS): {@code fsync} and {@code write}
 * ({@code audit.durability}) audit to a file under {@code java.io.tmpdir}, {@code tmpfs} fsyncs under
 * {@code /dev/shm}. After the runs each audit log is verified. With {@code --pipe on}, also {@link TlsPipe}:
 * Warden's relay design (Netty, OpenSSL on both legs) with none of its features, the floor under Warden here.
 *
 * <p>Besides TPS (pgbench's own figure), each run logs every transaction ({@code pgbench -l}), from which the
 * report gives p50 and p99 latency and what each path adds to direct. A JFR recording over the measured rounds
 * gives Warden's top frames ({@code -Dwarden.bench.jfr=FILE} keeps it; otherwise it is deleted with the run's
 * temporary files).
 *
 * <p>Usage: {@code java -cp bench/target/warden-bench.jar dev.warden.bench.PgbenchComparison [--clients 1,16]
 * [--seconds 10] [--rounds 1] [--warmup 3] [--prewarm 2] [--jit-warmup 30] [--scale 10] [--workloads select,tpcb]
 * [--modes simple,prepared] [--upstream-tls require|disable] [--wardens fsync,write] [--pgbouncer auto|on|off] [--pipe on|off] [--jfr on|off]}. The report
 * prints the load average before and after: anything else running on the machine skews the comparison.
 */
public final class PgbenchComparison {

    private static final String BENCH_USER = "bench@example.com";
    private static final String ENVIRONMENT = "bench";
    private static final Pattern TPS = Pattern.compile("^tps = ([0-9.]+) \\(without initial connection time\\)",
            Pattern.MULTILINE);
    private static final Pattern LATENCY = Pattern.compile("^latency average = ([0-9.]+) ms", Pattern.MULTILINE);
    private static final Pattern TRANSACTIONS = Pattern.compile(
            "^number of transactions actually processed: (\\d+)", Pattern.MULTILINE);
    private static final Pattern FAILED = Pattern.compile("^number of failed transactions: (\\d+)", Pattern.MULTILINE);

    /** Longest single pgbench run of the JIT warm-up, in seconds. */
    private static final int JIT_WARMUP_RUN = 4;

    private PgbenchComparison() {
    }

    /** Command-line options; defaults as in the class comment. */
    record Options(List<Integer> clients, int seconds, int rounds, int warmup, int prewarm, int jitWarmup, int scale,
                   List<Workload> workloads, List<String> modes, String upstreamTls, List<WardenVariant> wardens,
                   String pgbouncer, boolean jfr, boolean pipe) {

        static Options parse(String[] args) {
            Map<String, String> values = new LinkedHashMap<>(Map.of(
                    "clients", "1,16", "seconds", "10", "rounds", "1", "warmup", "3", "scale", "10",
                    "workloads", "select,tpcb", "modes", "simple,prepared", "upstream-tls", "require",
                    "wardens", "fsync,write", "pgbouncer", "auto"));
            values.put("jfr", "on");
            values.put("jit-warmup", "30");
            values.put("prewarm", "2");
            values.put("pipe", "off");
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (arg.equals("--help") || arg.equals("-h")) {
                    throw new IllegalArgumentException("usage");
                }
                String name = arg.startsWith("--") ? arg.substring(2) : arg;
                if (name.equals("audit")) {
                    name = "wardens"; // the option's earlier name
                }
                if (!arg.startsWith("--") || !values.containsKey(name)) {
                    throw new IllegalArgumentException("unknown option " + arg);
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                values.put(name, args[++i]);
            }
            List<Workload> workloads = new ArrayList<>();
            for (String name : values.get("workloads").split(",")) {
                workloads.add(Workload.named(name.trim()));
            }
            List<String> modes = new ArrayList<>();
            for (String mode : values.get("modes").split(",")) {
                String m = mode.trim();
                if (!List.of("simple", "extended", "prepared").contains(m)) {
                    throw new IllegalArgumentException("--modes: '" + m + "' is not simple, extended or prepared");
                }
                modes.add(m);
            }
            List<Integer> clients = new ArrayList<>();
            for (String c : values.get("clients").split(",")) {
                try {
                    clients.add(Integer.parseInt(c.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--clients: expected numbers, got '" + c + "'");
                }
                if (clients.get(clients.size() - 1) < 1) {
                    throw new IllegalArgumentException("--clients: at least 1");
                }
            }
            String tls = values.get("upstream-tls");
            if (!tls.equals("require") && !tls.equals("disable")) {
                throw new IllegalArgumentException("--upstream-tls: expected require or disable, got '" + tls + "'");
            }
            List<WardenVariant> wardens = new ArrayList<>();
            for (String name : values.get("wardens").split(",")) {
                WardenVariant variant = WardenVariant.named(name.trim());
                if (!wardens.contains(variant)) {
                    wardens.add(variant);
                }
            }
            String pgbouncer = values.get("pgbouncer");
            if (!List.of("auto", "on", "off").contains(pgbouncer)) {
                throw new IllegalArgumentException("--pgbouncer: expected auto, on or off");
            }
            String jfr = values.get("jfr");
            if (!List.of("on", "off").contains(jfr)) {
                throw new IllegalArgumentException("--jfr: expected on or off");
            }
            String pipe = values.get("pipe");
            if (!List.of("on", "off").contains(pipe)) {
                throw new IllegalArgumentException("--pipe: expected on or off");
            }
            return new Options(List.copyOf(clients), positive(values, "seconds"), positive(values, "rounds"),
                    atLeast(values, "warmup", 0), atLeast(values, "prewarm", 0), atLeast(values, "jit-warmup", 0),
                    atLeast(values, "scale", 1),
                    List.copyOf(workloads),
                    List.copyOf(modes), tls, List.copyOf(wardens), pgbouncer, jfr.equals("on"),
                    pipe.equals("on"));
        }

        private static int positive(Map<String, String> values, String key) {
            return atLeast(values, key, 1);
        }

        private static int atLeast(Map<String, String> values, String key, int min) {
            try {
                int value = Integer.parseInt(values.get(key));
                if (value >= min) {
                    return value;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException("--" + key + ": expected an integer >= " + min + ", got '"
                    + values.get(key) + "'");
        }
    }

    enum Workload {
        SELECT("select", "select-only (-S)", List.of("-S")),
        TPCB("tpcb", "TPC-B (default)", List.of());

        final String name;
        final String label;
        final List<String> flags;

        Workload(String name, String label, List<String> flags) {
            this.name = name;
            this.label = label;
            this.flags = flags;
        }

        static Workload named(String name) {
            for (Workload w : values()) {
                if (w.name.equals(name)) {
                    return w;
                }
            }
            throw new IllegalArgumentException("--workloads: '" + name + "' is not select or tpcb");
        }
    }

    /** A Warden configuration: where its file audit sink writes and with which {@code audit.durability}. */
    enum WardenVariant {
        FSYNC("fsync", Path.of(System.getProperty("java.io.tmpdir")), AuditSettings.Durability.FSYNC),
        WRITE("write", Path.of(System.getProperty("java.io.tmpdir")), AuditSettings.Durability.WRITE),
        TMPFS("tmpfs", Path.of("/dev/shm"), AuditSettings.Durability.FSYNC),
        /** The Kafka sink alone (an in-process one-node KRaft broker, its log under java.io.tmpdir). */
        KAFKA("kafka", Path.of(System.getProperty("java.io.tmpdir")), AuditSettings.Durability.FSYNC);

        final String name;
        final Path parent;
        final AuditSettings.Durability durability;

        WardenVariant(String name, Path parent, AuditSettings.Durability durability) {
            this.name = name;
            this.parent = parent;
            this.durability = durability;
        }

        static WardenVariant named(String name) {
            if (name.equals("disk")) {
                return FSYNC; // the earlier name
            }
            for (WardenVariant s : values()) {
                if (s.name.equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("--wardens: '" + name + "' is not fsync, write, tmpfs or kafka");
        }
    }

    /** One path a pgbench run can take. {@code warden} is null for direct and PgBouncer. */
    record Target(String label, WardenVariant warden) {
        static final Target DIRECT = new Target("direct", null);
        static final Target PGBOUNCER = new Target("PgBouncer (session, client TLS)", null);
        /** {@link TlsPipe}: Warden's relay design with none of its features. */
        static final Target PIPE = new Target("TLS pipe (Netty, no features)", null);

        static Target warden(WardenVariant variant) {
            return new Target("Warden, durability " + variant.name + (variant == WardenVariant.TMPFS ? " (tmpfs)"
                    : ""), variant);
        }
    }

    /** A running Warden and where its audit trail goes. */
    record AuditedWarden(WardenServer server, Path auditDir, String fileSystem) {
    }

    /**
     * One round. {@code proxyCpuUs}: CPU time (user and system) of the proxy's process per transaction during
     * the round, NaN for direct or when unknown. For Warden that is this JVM, which runs nothing else then (the
     * harness waits for pgbench); PostgreSQL and pgbench are other processes. {@code relayCpuUs}: of that, the
     * CPU of the proxy's own threads (event loops and {@code warden-*}, or the pipe's), without the JIT compiler,
     * the GC and the harness: NaN for PgBouncer and direct (see {@link #relayThreadsCpu}).
     */
    record Run(double tps, double latencyMs, LatencyLog latencies, double proxyCpuUs, double relayCpuUs) {

        Run withProxyCpu(Duration cpu, Duration relay, long transactions) {
            return new Run(tps, latencyMs, latencies, perTransaction(cpu, transactions),
                    perTransaction(relay, transactions));
        }

        private static double perTransaction(Duration cpu, long transactions) {
            return cpu == null || transactions <= 0 ? Double.NaN : cpu.toNanos() / 1000.0 / transactions;
        }
    }

    /** One pgbench invocation: its arguments, the environment it adds, and how to print it without secrets. */
    record Invocation(List<String> command, Map<String, String> env, String printable) {
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println((e.getMessage().equals("usage") ? "" : e.getMessage() + "\n")
                    + "usage: PgbenchComparison [--clients 1,16] [--seconds 10] [--rounds 1] [--warmup 3] [--prewarm 2] [--jit-warmup 30]"
                    + " [--scale 10]"
                    + " [--workloads select,tpcb] [--modes simple,prepared] [--upstream-tls require|disable]"
                    + " [--wardens fsync,write,tmpfs,kafka] [--pgbouncer auto|on|off] [--pipe on|off] [--jfr on|off]");
            System.exit(2);
            return;
        }
        // As `warden serve` runs it (see LeakDetection).
        dev.warden.proxy.server.LeakDetection.forServing();
        System.exit(new PgbenchComparison().run(options));
    }

    private int run(Options options) throws Exception {
        boolean withBouncer = options.pgbouncer().equals("on")
                || options.pgbouncer().equals("auto") && PgBouncer.installed();
        log("starting PostgreSQL, OIDC issuer, " + (withBouncer ? "PgBouncer and " : "") + options.wardens().size()
                + " Warden(s)");
        Map<Target, AuditedWarden> wardens = new LinkedHashMap<>();
        boolean stopped = false;
        Path logDir = Files.createTempDirectory("warden-bench-latency-");
        PgBouncer bouncer = null;
        TlsPipe pipe = null;
        try (TestPostgres pg = TestPostgres.start(); TestOidcIssuer issuer = TestOidcIssuer.start();
             KafkaBroker kafka = options.wardens().contains(WardenVariant.KAFKA) ? KafkaBroker.start() : null) {
            String database = pg.createDatabase("bench");
            for (WardenVariant variant : options.wardens()) {
                Path dir = Files.createTempDirectory(variant.parent, "warden-bench-audit-");
                Policy policy = policy(pg, issuer, database, options.upstreamTls(), dir, variant,
                        variant == WardenVariant.KAFKA ? kafka.bootstrapServers() : null);
                wardens.put(Target.warden(variant), new AuditedWarden(WardenServer.start(policy), dir,
                        Files.getFileStore(dir).type()));
            }
            String token = issuer.token().email(BENCH_USER).groups("eng")
                    .expiresAt(Instant.now().plus(Duration.ofHours(2))).sign();
            // Direct runs use the same TLS setting as Warden's upstream, so both paths pay for the same crypto.
            String directConn = "host=" + pg.host() + " port=" + pg.port() + " dbname=" + database + " user="
                    + pg.superuser() + " sslmode=" + options.upstreamTls();
            Map<String, String> directEnv = pg.superuserPassword().isEmpty() ? Map.of()
                    : Map.of("PGPASSWORD", pg.superuserPassword());
            List<Target> targets = new ArrayList<>();
            targets.add(Target.DIRECT);
            String bouncerConn = null;
            if (withBouncer) {
                bouncer = PgBouncer.start(pg.host(), pg.port(), database, pg.superuser(), options.upstreamTls());
                bouncerConn = "host=127.0.0.1 port=" + bouncer.port() + " dbname=" + database + " user="
                        + pg.superuser() + " sslmode=require";
                targets.add(Target.PGBOUNCER);
            }
            String pipeConn = null;
            if (options.pipe()) {
                pipe = TlsPipe.start(pg.host(), pg.port(), options.upstreamTls().equals("require"));
                pipeConn = "host=127.0.0.1 port=" + pipe.port() + " dbname=" + database + " user=" + pg.superuser()
                        + " sslmode=require";
                targets.add(Target.PIPE);
            }
            targets.addAll(wardens.keySet());

            Invocation init = new Invocation(List.of("pgbench", "-i", "-q", "-s", Integer.toString(options.scale()),
                    directConn), directEnv, "pgbench -i -q -s " + options.scale() + " '" + directConn + "'");
            log("initialising: " + init.printable());
            execute(init, Duration.ofMinutes(30));

            Path jfrFile = Path.of(System.getProperty("warden.bench.jfr",
                    logDir.resolve("warden-bench.jfr").toString()));
            // Before the JIT warm-up: starting a recording discards every compiled method (see JfrSummary).
            JfrSummary jfr = options.jfr() ? JfrSummary.start(jfrFile) : null;
            jitWarmup(options, wardens, token);
            if (pipeConn != null) {
                // The pipe's code runs in this JVM too, and is compiled the same way before it is measured.
                for (Workload workload : options.workloads()) {
                    for (String mode : options.modes()) {
                        int clients = options.clients().stream().mapToInt(Integer::intValue).max().orElse(1);
                        int seconds = Math.max(1, options.jitWarmup() / 3 / options.workloads().size()
                                / options.modes().size());
                        execute(bench(workload, mode, clients, seconds, pipeConn, directEnv, "", null),
                                Duration.ofSeconds(seconds + 120L));
                    }
                }
                log(Target.PIPE.label() + ": JIT warm-up done");
            }
            if (jfr != null) {
                jfr.measureFromNow();
            }
            String loadBefore = loadAverage();
            Map<String, List<Run>> results = new LinkedHashMap<>();
            Map<String, String> commands = new LinkedHashMap<>();
            int sequence = 0;
            for (Workload workload : options.workloads()) {
                for (String mode : options.modes()) {
                    for (int clients : options.clients()) {
                        String bc = bouncerConn;
                        String pc = pipeConn;
                        TriFunction pgbench = (target, seconds, logPrefix) -> {
                            if (target.equals(Target.DIRECT)) {
                                return bench(workload, mode, clients, seconds, directConn, directEnv, "", logPrefix);
                            }
                            if (target.equals(Target.PGBOUNCER)) {
                                return bench(workload, mode, clients, seconds, bc, Map.of(), "", logPrefix);
                            }
                            if (target.equals(Target.PIPE)) {
                                return bench(workload, mode, clients, seconds, pc, directEnv, "", logPrefix);
                            }
                            return bench(workload, mode, clients, seconds, "host=127.0.0.1 port="
                                    + wardens.get(target).server().port() + " dbname=" + ENVIRONMENT + " user="
                                    + BENCH_USER + " sslmode=require", Map.of("PGPASSWORD", token),
                                    "PGPASSWORD=<token> ", logPrefix);
                        };
                        if (options.warmup() > 0) {
                            for (Target target : targets) {
                                execute(pgbench.apply(target, options.warmup(), null),
                                        Duration.ofSeconds(options.warmup() + 120L));
                            }
                            log(workload.name + " " + mode + " c" + clients + " warmed up");
                        }
                        for (int round = 1; round <= options.rounds(); round++) {
                            for (Target target : targets) {
                                if (options.prewarm() > 0) {
                                    // Right before the path's round, so its JIT state is the one it runs with.
                                    execute(pgbench.apply(target, options.prewarm(), null),
                                            Duration.ofSeconds(options.prewarm() + 120L));
                                }
                                String prefix = logDir.resolve("run" + (++sequence)).toString();
                                Invocation invocation = pgbench.apply(target, options.seconds(), prefix);
                                String key = key(workload, mode, clients, target);
                                commands.putIfAbsent(workload.name + "/" + mode + "/" + clients + "/"
                                        + target.label(), invocation.printable());
                                Duration cpuBefore = proxyCpu(target, bouncer);
                                Duration relayBefore = relayCpu(target);
                                String output = execute(invocation, Duration.ofSeconds(options.seconds() + 120L));
                                Duration cpuAfter = proxyCpu(target, bouncer);
                                Duration relayAfter = relayCpu(target);
                                Run result = parse(output, LatencyLog.readAndDelete(logDir, "run" + sequence))
                                        .withProxyCpu(cpuBefore == null || cpuAfter == null ? null
                                                : cpuAfter.minus(cpuBefore), relayBefore == null || relayAfter == null
                                                ? null : relayAfter.minus(relayBefore), transactions(output));
                                results.computeIfAbsent(key, k -> new ArrayList<>()).add(result);
                                log(String.format(Locale.ROOT, "%s %s c%d round %d/%d %s: tps=%.1f p50=%.3f "
                                                + "p99=%.3f ms proxy-cpu=%.1f us/txn relay-threads=%.1f us/txn",
                                        workload.name, mode, clients, round, options.rounds(), target.label(),
                                        result.tps(), result.latencies().p50Ms(), result.latencies().p99Ms(),
                                        result.proxyCpuUs(), result.relayCpuUs()));
                            }
                        }
                    }
                }
            }
            String profile = jfr == null ? "" : jfr.stopAndSummarise();
            String loadAfter = loadAverage();
            // The audit writer's counters: how many batches an event loop wrote itself, and how many fsyncs.
            wardens.forEach((t, w) -> log("audit counters of " + t.label() + ": " + w.server().auditStats()));
            // Stopping writes each log's final checkpoint, so verify covers every record.
            wardens.values().forEach(w -> w.server().close());
            stopped = true;
            Map<Target, String> audits = new LinkedHashMap<>();
            for (Map.Entry<Target, AuditedWarden> w : wardens.entrySet()) {
                log("verifying the audit log of " + w.getKey().label() + " in " + w.getValue().auditDir());
                VerifyReport report = w.getKey().warden() == WardenVariant.KAFKA
                        ? kafka.verify(w.getValue().auditDir().resolve(BENCH_KEY))
                        : AuditVerifier.verify(w.getValue().auditDir(), null);
                audits.put(w.getKey(), String.format(Locale.ROOT, "%s: %s (%s), %d records in %d files (%d bytes), %s",
                        w.getKey().label(), w.getValue().auditDir(), w.getValue().fileSystem(), report.records(),
                        report.files(), treeBytes(w.getValue().auditDir()),
                        report.passed() ? "verify passed" : "VERIFY FAILED: " + report.problem().get()));
            }
            System.out.println(report(options, targets, results, commands, audits, init, loadBefore, loadAfter,
                    bouncer == null ? "not run" : bouncer.version(), profile));
            return 0;
        } finally {
            if (bouncer != null) {
                bouncer.close();
            }
            if (pipe != null) {
                pipe.close();
            }
            for (AuditedWarden w : wardens.values()) {
                if (!stopped) {
                    w.server().close();
                }
                deleteTree(w.auditDir());
            }
            // pgbench's logs are read and gone by now; the recording is here only when no file was named.
            deleteTree(logDir);
        }
    }

    /** The pgbench command for one target: (target, seconds, log prefix or null). */
    @FunctionalInterface
    private interface TriFunction {
        Invocation apply(Target target, int seconds, String logPrefix);
    }

    private static String key(Workload workload, String mode, int clients, Target target) {
        return workload.name + "/" + mode + "/" + clients + "/" + target.label();
    }

    /** The bytes of the files under {@code dir} (the audit log's, with its key): -1 when it cannot be read. */
    static long treeBytes(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            return -1;
        }
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log("could not delete " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Runs every workload and protocol through each Warden at the largest client count, {@code --jit-warmup}
     * seconds in all per Warden, so that the measured rounds see compiled code (see the class comment).
     */
    private static void jitWarmup(Options options, Map<Target, AuditedWarden> wardens, String token)
            throws IOException, InterruptedException {
        int combinations = options.workloads().size() * options.modes().size();
        int each = options.jitWarmup() / combinations;
        if (each == 0) {
            return;
        }
        int clients = options.clients().stream().mapToInt(Integer::intValue).max().orElse(1);
        // Runs of at most JIT_WARMUP_RUN seconds: each measured round opens and closes connections, and code
        // compiled while none did deoptimized when they did (unstable_if traps in the TLS and decoder paths).
        int runs = (each + JIT_WARMUP_RUN - 1) / JIT_WARMUP_RUN;
        for (Map.Entry<Target, AuditedWarden> w : wardens.entrySet()) {
            for (Workload workload : options.workloads()) {
                for (String mode : options.modes()) {
                    for (int run = 0; run < runs; run++) {
                        int seconds = each / runs + (run < each % runs ? 1 : 0);
                        execute(bench(workload, mode, clients, seconds, "host=127.0.0.1 port="
                                + w.getValue().server().port() + " dbname=" + ENVIRONMENT + " user=" + BENCH_USER
                                + " sslmode=require", Map.of("PGPASSWORD", token), "PGPASSWORD=<token> ", null),
                                Duration.ofSeconds(seconds + 120L));
                    }
                }
            }
            log(w.getKey().label() + ": JIT warm-up done (" + each * combinations + " s at c" + clients + ")");
        }
    }

    /**
     * {@code -Dwarden.bench.rate=N}: the measured rounds run at N transactions per second in all ({@code pgbench
     * -R}), so each path's CPU per transaction is compared at one load instead of at saturation, where it moves
     * with everything else the two cores run. Empty (the default): as fast as each path goes.
     */
    private static final String RATE = System.getProperty("warden.bench.rate", "");

    private static Invocation bench(Workload workload, String mode, int clients, int seconds, String conn,
                                    Map<String, String> env, String shownEnv, String logPrefix) {
        List<String> cmd = new ArrayList<>(List.of("pgbench", "-n", "-c", Integer.toString(clients),
                "-j", Integer.toString(Math.min(2, clients)), "-T", Integer.toString(seconds)));
        cmd.addAll(workload.flags);
        cmd.addAll(List.of("-M", mode));
        if (logPrefix != null && !RATE.isEmpty()) {
            cmd.addAll(List.of("-R", RATE));
        }
        String shown = shownEnv + String.join(" ", cmd) + (logPrefix == null ? "" : " -l") + " '" + conn + "'";
        if (logPrefix != null) {
            cmd.addAll(List.of("-l", "--log-prefix=" + logPrefix));
        }
        cmd.add(conn);
        return new Invocation(List.copyOf(cmd), env, shown);
    }

    /** The 1-, 5- and 15-minute load averages, or "?" where /proc is not there. */
    private static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    private static final String BENCH_KEY = "bench-signing-key.pem";

    private static Policy policy(TestPostgres pg, TestOidcIssuer issuer, String database, String upstreamTls,
                                 Path auditDir, WardenVariant variant, String kafkaBootstrap) throws Exception {
        // Every feature on: the baseline guardrails and two rules of our own, masking defaults plus a rule on a
        // column pgbench reads (abalance, so every -S result is masked), approvals, the write-ahead audit.
        // The Kafka variant: the only durable sink is the topic (the key is written beside the log's dir).
        String sinks = kafkaBootstrap == null ? "[ { type: file, dir: \"${AUDIT_DIR}\" } ]"
                : "[ { type: kafka, bootstrap_servers: \"" + kafkaBootstrap + "\", topic: " + KafkaBroker.TOPIC
                + ", linger: " + System.getProperty("warden.bench.kafkaLinger", "0ms") + " } ]\n"
                + "  signing_key: \"${AUDIT_DIR}/" + BENCH_KEY + "\"\n  instance: bench-kafka";
        if (kafkaBootstrap != null) {
            dev.warden.audit.chain.SigningKey.loadOrGenerate(auditDir.resolve(BENCH_KEY));
        }
        // Flow mappings: "${PG_PORT}" is quoted, or YAML would read the '{' as the start of a nested mapping.
        String yaml = """
                listen:
                  address: 127.0.0.1:0
                identity:
                  issuers:
                    - issuer: ${ISSUER}
                      audience: warden
                environments:
                  %s:
                    upstream: { host: "${PG_HOST}", port: "${PG_PORT}", database: %s, user: %s, password_env: UPSTREAM_PASSWORD, tls: %s, allow_superuser: true }
                    allow: [ { groups: [eng] } ]
                guardrails:
                  baseline: %s
                  rules:
                    - { name: branches-ddl-reviewed, match: { statements: [ALTER, CREATE], tables: ["public.pgbench_branches"] }, action: require_approval, approvers: [dba] }
                    - { name: no-history-delete, match: { statements: [DELETE], tables: ["public.pgbench_history"] }, action: block }
                masking:
                  defaults: %s
                  notice: %s
                  rules:
                    - { column: public.pgbench_accounts.%s, strategy: "null" }
                audit:
                  sinks: %s
                  group_commit: %s
                  durability: %s
                approvals:
                  store: { type: file, path: "${AUDIT_DIR}/../approvals" }
                """.formatted(ENVIRONMENT, database, TestPostgres.SCRAM_USER, upstreamTls,
                System.getProperty("warden.bench.baseline", "true"),
                System.getProperty("warden.bench.maskDefaults", "on"),
                System.getProperty("warden.bench.maskingNotice", "on"),
                System.getProperty("warden.bench.maskColumn", "abalance"), sinks,
                System.getProperty("warden.bench.groupCommit", "0"),
                variant.durability.name().toLowerCase(Locale.ROOT));
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("ISSUER", issuer.issuer());
        env.put("PG_HOST", pg.host());
        env.put("PG_PORT", Integer.toString(pg.port()));
        env.put("UPSTREAM_PASSWORD", TestPostgres.PASSWORD);
        env.put("AUDIT_DIR", auditDir.toString());
        return PolicyLoader.parse(yaml, Path.of("."), "bench-policy.yaml", env);
    }

    /**
     * Runs pgbench and returns its output without its NOTICE lines (Warden sends one per masked result). The
     * output goes to a file, not to a pipe this JVM reads: Warden runs in this JVM, and reading a line per
     * transaction while it runs was counted as Warden's CPU (about 4 µs per transaction at c16, perf).
     */
    private static String execute(Invocation invocation, Duration timeout) throws IOException, InterruptedException {
        Path file = Files.createTempFile("warden-pgbench-", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(invocation.command()).redirectErrorStream(true)
                    .redirectOutput(file.toFile());
            pb.environment().remove("PGSERVICEFILE");
            pb.environment().remove("PGPASSWORD");
            pb.environment().putAll(invocation.env());
            Process process = pb.start();
            process.getOutputStream().close();
            boolean exited = process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS);
            if (!exited) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            String output = withoutNotices(file);
            if (!exited) {
                throw new IllegalStateException("timed out: " + invocation.printable() + "\n" + output);
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("exit " + process.exitValue() + ": " + invocation.printable() + "\n"
                        + output);
            }
            return output;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The file's lines except NOTICE ones, which are counted in a last line when there were any. */
    private static String withoutNotices(Path file) throws IOException {
        StringBuilder kept = new StringBuilder();
        long notices = 0;
        try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
            for (String line : (Iterable<String>) lines::iterator) {
                if (line.startsWith("NOTICE:")) {
                    notices++;
                } else {
                    kept.append(line).append('\n');
                }
            }
        }
        if (notices > 0) {
            kept.append("(").append(notices).append(" NOTICE lines not shown)\n");
        }
        return kept.toString();
    }

    /** CPU time used so far by the process that serves {@code target}; null for direct or when unknown. */
    private static Duration proxyCpu(Target target, PgBouncer bouncer) {
        if (target.equals(Target.DIRECT)) {
            return null;
        }
        if (target.equals(Target.PGBOUNCER)) {
            return bouncer == null ? null : bouncer.cpu();
        }
        return ProcessHandle.current().info().totalCpuDuration().orElse(null);
    }

    /** {@link #relayThreadsCpu} for a path that runs in this JVM; null for direct and PgBouncer. */
    private static Duration relayCpu(Target target) {
        return target.equals(Target.DIRECT) || target.equals(Target.PGBOUNCER) ? null : relayThreadsCpu();
    }

    /**
     * Kernel names (cut at 15 characters) of the threads that relay: Netty's event loops (Warden's and the pipe's)
     * and Warden's own ({@code warden-audit-writer}, {@code warden-blocking}, ...).
     */
    private static final List<String> RELAY_THREADS = List.of("multiThreadIoEv", "warden-", "tls-pipe");

    /**
     * CPU time (user and system) of this JVM's relaying threads so far, from {@code /proc/self/task/<tid>/stat}
     * (clock ticks of 10 ms, {@code CLK_TCK} 100); null where that cannot be read. It leaves out the JIT compiler
     * threads, whose work in a measured round (code compiled again after a deoptimization) moved the whole
     * process's figure by tens of µs per transaction between runs of one build, and the GC and the harness. A
     * relaying thread that ends during a round loses its last ticks (the event loops live as long as the server).
     */
    static Duration relayThreadsCpu() {
        Path tasks = Path.of("/proc/self/task");
        long ticks = 0;
        try (java.util.stream.Stream<Path> list = Files.list(tasks)) {
            for (Path task : (Iterable<Path>) list::iterator) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException gone) {
                    continue; // the thread ended meanwhile
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                if (open < 0 || close < open) {
                    continue;
                }
                String name = stat.substring(open + 1, close);
                if (RELAY_THREADS.stream().noneMatch(name::startsWith)) {
                    continue;
                }
                // After the name: state is field 3, utime 14 and stime 15 (proc(5)).
                String[] fields = stat.substring(close + 2).split(" ");
                ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return Duration.ofMillis(ticks * 10);
    }

    private static long transactions(String output) {
        Matcher m = TRANSACTIONS.matcher(output);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    static Run parse(String output, LatencyLog latencies) {
        Matcher tps = TPS.matcher(output);
        Matcher latency = LATENCY.matcher(output);
        if (!tps.find() || !latency.find()) {
            throw new IllegalStateException("pgbench output has no tps or latency line:\n" + output);
        }
        Matcher failed = FAILED.matcher(output);
        if (failed.find() && !failed.group(1).equals("0")) {
            throw new IllegalStateException("pgbench reported failed transactions:\n" + output);
        }
        return new Run(Double.parseDouble(tps.group(1)), Double.parseDouble(latency.group(1)), latencies,
                Double.NaN, Double.NaN);
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static String report(Options options, List<Target> targets, Map<String, List<Run>> results,
                                 Map<String, String> commands, Map<Target, String> audits, Invocation init,
                                 String loadBefore, String loadAfter, String bouncerVersion, String profile) {
        StringBuilder out = new StringBuilder();
        out.append("\n## pgbench: direct, PgBouncer and Warden with every feature on\n\n");
        out.append(String.format(Locale.ROOT, "%s, %d cores, Java %s, TLS provider %s, transport %s; %d round(s) of %d s each "
                        + "(after a %d s warm-up, %d s untimed right before each round, and %d s of JIT warm-up for each Warden), interleaved over %d paths; scale %d; upstream TLS %s; client TLS "
                        + "to PgBouncer and Warden: require; %s; load average before %s, after %s%n%n",
                ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                Runtime.getRuntime().availableProcessors(), Runtime.version(),
                dev.warden.proxy.server.TlsProvider.get(),
                dev.warden.proxy.server.Transport.chosen().label(), options.rounds(), options.seconds(), options.warmup(),
                options.prewarm(), options.jitWarmup(), targets.size(), options.scale(), options.upstreamTls(), bouncerVersion, loadBefore, loadAfter));
        out.append("Latency from pgbench's per-transaction log (`-l`), nearest rank; \"added\" is the path's "
                + "percentile minus direct's.\n\n");
        out.append("| workload | protocol | clients | path | TPS (median) | vs direct | vs PgBouncer | p50 ms | p99 ms "
                + "| added p50 µs | added p99 µs | proxy CPU µs/txn | relay threads µs/txn | TPS per round |\n");
        out.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Workload workload : options.workloads()) {
            for (String mode : options.modes()) {
                for (int clients : options.clients()) {
                    List<Run> direct = results.get(key(workload, mode, clients, Target.DIRECT));
                    double directTps = median(direct.stream().map(Run::tps).toList());
                    double directP50 = median(direct.stream().map(r -> r.latencies().p50Ms()).toList());
                    double directP99 = median(direct.stream().map(r -> r.latencies().p99Ms()).toList());
                    List<Run> bouncer = results.get(key(workload, mode, clients, Target.PGBOUNCER));
                    double bouncerTps = bouncer == null ? Double.NaN : median(bouncer.stream().map(Run::tps).toList());
                    for (Target target : targets) {
                        List<Run> runs = results.get(key(workload, mode, clients, target));
                        double tps = median(runs.stream().map(Run::tps).toList());
                        double p50 = median(runs.stream().map(r -> r.latencies().p50Ms()).toList());
                        double p99 = median(runs.stream().map(r -> r.latencies().p99Ms()).toList());
                        boolean isDirect = target.equals(Target.DIRECT);
                        double cpu = median(runs.stream().map(Run::proxyCpuUs).toList());
                        double relay = median(runs.stream().map(Run::relayCpuUs).toList());
                        out.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %.0f | %.2f | %s | %.3f | %.3f "
                                        + "| %s | %s | %s | %s | %s |%n", workload.label, mode, clients, target.label(), tps,
                                tps / directTps, Double.isNaN(bouncerTps) ? "-"
                                        : String.format(Locale.ROOT, "%.2f", tps / bouncerTps), p50, p99,
                                isDirect ? "-" : String.format(Locale.ROOT, "%.0f", (p50 - directP50) * 1000),
                                isDirect ? "-" : String.format(Locale.ROOT, "%.0f", (p99 - directP99) * 1000),
                                Double.isNaN(cpu) ? "-" : String.format(Locale.ROOT, "%.0f", cpu),
                                Double.isNaN(relay) ? "-" : String.format(Locale.ROOT, "%.0f", relay),
                                perRound(runs)));
                    }
                }
            }
        }
        out.append("\nAudit logs (file sink, verified after the runs):\n\n");
        audits.values().forEach(a -> out.append("    ").append(a).append('\n'));
        if (!profile.isEmpty()) {
            out.append("\n").append(profile);
        }
        out.append("\nCommands (PGPASSWORD is an OIDC token for ").append(BENCH_USER).append(", group eng):\n\n");
        out.append("    ").append(init.printable()).append('\n');
        commands.values().forEach(c -> out.append("    ").append(c).append('\n'));
        return out.toString();
    }

    private static String perRound(List<Run> runs) {
        return String.join(", ", runs.stream().map(r -> String.format(Locale.ROOT, "%.0f", r.tps())).toList());
    }

    private static void log(String message) {
        System.err.println("[pgbench-comparison] " + message);
    }
}
