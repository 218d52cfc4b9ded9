package dev.warden.bench;

import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
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
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End-to-end throughput of Warden against PostgreSQL alone, measured with the real {@code pgbench}: the same
 * workload runs directly against PostgreSQL and through Warden, alternately (direct, Warden, direct, Warden…)
 * so that drift on a small machine (thermal, page cache, table bloat from TPC-B) hits every path alike. Each
 * cell of the table is the median over {@code --rounds} runs. Before the measured rounds, each workload and
 * protocol runs once untimed on every path for {@code --warmup} seconds, so Warden's JIT is warm (as it is in a
 * long-running proxy) and PostgreSQL's caches are hot for all.
 *
 * <p>Warden cannot run without its audit trail (a policy with only a stdout sink is refused as not durable), so
 * "audit off" is not a path. {@code --audit disk,tmpfs} runs one Warden per choice, side by side in this JVM,
 * each with the default audit settings (file sink, group commit 2 ms, write-ahead: every statement waits for its
 * {@code query} record to be fsync'd): {@code disk} writes under {@code java.io.tmpdir} (check that it is a real
 * disk: the report prints its file system type), {@code tmpfs} under {@code /dev/shm}, where fsync costs almost
 * nothing. disk against tmpfs is the price of durability; tmpfs against direct is the rest of Warden (TLS
 * termination, parsing, guardrails, the audit records themselves). After the runs each log is verified.
 *
 * <p>Everything is local: an embedded PostgreSQL (TLS on), an in-process OIDC issuer and Warden in this JVM,
 * and pgbench as a subprocess. The client, the proxy and the server share the machine's cores, so the
 * figures are a comparison, not a capacity: see {@code bench/README.md}.
 *
 * <p>Usage: {@code java -cp bench/target/warden-bench.jar dev.warden.bench.PgbenchComparison [--clients 16]
 * [--seconds 10] [--rounds 3] [--warmup 5] [--scale 10] [--workloads select,tpcb]
 * [--modes simple,prepared] [--upstream-tls require|disable] [--audit disk,tmpfs]}. The report also prints the
 * load average before and after: anything else running on the machine skews the comparison.
 */
public final class PgbenchComparison {

    private static final String BENCH_USER = "bench@example.com";
    private static final String ENVIRONMENT = "bench";
    private static final Pattern TPS = Pattern.compile("^tps = ([0-9.]+) \\(without initial connection time\\)",
            Pattern.MULTILINE);
    private static final Pattern LATENCY = Pattern.compile("^latency average = ([0-9.]+) ms", Pattern.MULTILINE);
    private static final Pattern FAILED = Pattern.compile("^number of failed transactions: (\\d+)", Pattern.MULTILINE);

    private PgbenchComparison() {
    }

    /** Command-line options; defaults as in the class comment. */
    record Options(int clients, int seconds, int rounds, int warmup, int scale, List<Workload> workloads,
                   List<String> modes, String upstreamTls, List<AuditStore> audit) {

        static Options parse(String[] args) {
            Map<String, String> values = new LinkedHashMap<>(Map.of(
                    "clients", "16", "seconds", "10", "rounds", "3", "warmup", "5", "scale", "10",
                    "workloads", "select,tpcb", "modes", "simple,prepared", "upstream-tls", "require",
                    "audit", "disk"));
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (arg.equals("--help") || arg.equals("-h")) {
                    throw new IllegalArgumentException("usage");
                }
                if (!arg.startsWith("--") || !values.containsKey(arg.substring(2))) {
                    throw new IllegalArgumentException("unknown option " + arg);
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                values.put(arg.substring(2), args[++i]);
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
            String tls = values.get("upstream-tls");
            if (!tls.equals("require") && !tls.equals("disable")) {
                throw new IllegalArgumentException("--upstream-tls: expected require or disable, got '" + tls + "'");
            }
            List<AuditStore> audit = new ArrayList<>();
            for (String name : values.get("audit").split(",")) {
                AuditStore store = AuditStore.named(name.trim());
                if (!audit.contains(store)) {
                    audit.add(store);
                }
            }
            return new Options(positive(values, "clients"), positive(values, "seconds"), positive(values, "rounds"),
                    atLeast(values, "warmup", 0), atLeast(values, "scale", 1), List.copyOf(workloads),
                    List.copyOf(modes), tls, List.copyOf(audit));
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

    /** Where a Warden's file audit sink writes. */
    enum AuditStore {
        DISK("disk", Path.of(System.getProperty("java.io.tmpdir"))),
        TMPFS("tmpfs", Path.of("/dev/shm"));

        final String name;
        final Path parent;

        AuditStore(String name, Path parent) {
            this.name = name;
            this.parent = parent;
        }

        static AuditStore named(String name) {
            for (AuditStore s : values()) {
                if (s.name.equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("--audit: '" + name + "' is not disk or tmpfs");
        }
    }

    /** One path a pgbench run can take: straight to PostgreSQL, or through a Warden auditing to {@code store}. */
    record Target(String label, AuditStore store) {
        static final Target DIRECT = new Target("direct", null);

        static Target warden(AuditStore store) {
            return new Target("Warden, audit on " + store.name, store);
        }
    }

    /** A running Warden and where its audit trail goes. */
    record AuditedWarden(WardenServer server, Path auditDir, String fileSystem) {
    }

    record Run(double tps, double latencyMs) {
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
                    + "usage: PgbenchComparison [--clients 16] [--seconds 10] [--rounds 3] [--warmup 5] [--scale 10]"
                    + " [--workloads select,tpcb] [--modes simple,prepared] [--upstream-tls require|disable]"
                    + " [--audit disk,tmpfs]");
            System.exit(2);
            return;
        }
        System.exit(new PgbenchComparison().run(options));
    }

    private int run(Options options) throws Exception {
        log("starting PostgreSQL, OIDC issuer and " + options.audit().size() + " Warden(s)");
        Map<Target, AuditedWarden> wardens = new LinkedHashMap<>();
        boolean stopped = false;
        try (TestPostgres pg = TestPostgres.start(); TestOidcIssuer issuer = TestOidcIssuer.start()) {
            String database = pg.createDatabase("bench");
            for (AuditStore store : options.audit()) {
                Path dir = Files.createTempDirectory(store.parent, "warden-bench-audit-");
                Policy policy = policy(pg, issuer, database, options.upstreamTls(), dir);
                wardens.put(Target.warden(store), new AuditedWarden(WardenServer.start(policy), dir,
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
            targets.addAll(wardens.keySet());

            Invocation init = new Invocation(List.of("pgbench", "-i", "-q", "-s", Integer.toString(options.scale()),
                    directConn), directEnv, "pgbench -i -q -s " + options.scale() + " '" + directConn + "'");
            log("initialising: " + init.printable());
            execute(init, Duration.ofMinutes(30));

            String loadBefore = loadAverage();
            Map<String, List<Run>> results = new LinkedHashMap<>();
            Map<String, String> commands = new LinkedHashMap<>();
            for (Workload workload : options.workloads()) {
                for (String mode : options.modes()) {
                    BiFunction<Target, Integer, Invocation> pgbench = (target, seconds) -> target.store() == null
                            ? bench(options, workload, mode, seconds, directConn, directEnv, "")
                            : bench(options, workload, mode, seconds, "host=127.0.0.1 port="
                                    + wardens.get(target).server().port() + " dbname=" + ENVIRONMENT + " user="
                                    + BENCH_USER + " sslmode=require", Map.of("PGPASSWORD", token),
                                    "PGPASSWORD=<token> ");
                    if (options.warmup() > 0) {
                        for (Target target : targets) {
                            execute(pgbench.apply(target, options.warmup()),
                                    Duration.ofSeconds(options.warmup() + 120L));
                        }
                        log(workload.name + " " + mode + " warmed up");
                    }
                    for (int round = 1; round <= options.rounds(); round++) {
                        for (Target target : targets) {
                            Invocation invocation = pgbench.apply(target, options.seconds());
                            String key = key(workload, mode, target);
                            commands.putIfAbsent(key, invocation.printable());
                            Run result = parse(execute(invocation, Duration.ofSeconds(options.seconds() + 120L)));
                            results.computeIfAbsent(key, k -> new ArrayList<>()).add(result);
                            log(String.format(Locale.ROOT, "%s %s round %d/%d %s: tps=%.1f latency=%.3f ms",
                                    workload.name, mode, round, options.rounds(), target.label(), result.tps(),
                                    result.latencyMs()));
                        }
                    }
                }
            }
            String loadAfter = loadAverage();
            // Stopping writes each log's final checkpoint, so verify covers every record.
            wardens.values().forEach(w -> w.server().close());
            stopped = true;
            Map<Target, String> audits = new LinkedHashMap<>();
            for (Map.Entry<Target, AuditedWarden> w : wardens.entrySet()) {
                log("verifying the audit log of " + w.getKey().label() + " in " + w.getValue().auditDir());
                VerifyReport report = AuditVerifier.verify(w.getValue().auditDir(), null);
                audits.put(w.getKey(), String.format(Locale.ROOT, "%s: %s (%s), %d records in %d files, %s",
                        w.getKey().label(), w.getValue().auditDir(), w.getValue().fileSystem(), report.records(),
                        report.files(), report.passed() ? "verify passed" : "VERIFY FAILED: " + report.problem().get()));
            }
            System.out.println(report(options, targets, results, commands, audits, init, loadBefore, loadAfter));
            return 0;
        } finally {
            for (AuditedWarden w : wardens.values()) {
                if (!stopped) {
                    w.server().close();
                }
                deleteTree(w.auditDir());
            }
        }
    }

    private static String key(Workload workload, String mode, Target target) {
        return workload.name + "/" + mode + "/" + target.label();
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log("could not delete " + dir + ": " + e.getMessage());
        }
    }

    private static Invocation bench(Options options, Workload workload, String mode, int seconds, String conn,
                                    Map<String, String> env, String shownEnv) {
        List<String> cmd = new ArrayList<>(List.of("pgbench", "-n", "-c", Integer.toString(options.clients()),
                "-j", "2", "-T", Integer.toString(seconds)));
        cmd.addAll(workload.flags);
        cmd.addAll(List.of("-M", mode));
        String shown = shownEnv + String.join(" ", cmd) + " '" + conn + "'";
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

    private static Policy policy(TestPostgres pg, TestOidcIssuer issuer, String database, String upstreamTls,
                                 Path auditDir) throws Exception {
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
                audit:
                  sinks: [ { type: file, dir: "${AUDIT_DIR}" } ]
                  group_commit: %s
                approvals:
                  store: { type: file, path: "${AUDIT_DIR}/../approvals" }
                """.formatted(ENVIRONMENT, database, TestPostgres.SCRAM_USER, upstreamTls,
                System.getProperty("warden.bench.groupCommit", "2ms"));
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("ISSUER", issuer.issuer());
        env.put("PG_HOST", pg.host());
        env.put("PG_PORT", Integer.toString(pg.port()));
        env.put("UPSTREAM_PASSWORD", TestPostgres.PASSWORD);
        env.put("AUDIT_DIR", auditDir.toString());
        return PolicyLoader.parse(yaml, Path.of("."), "bench-policy.yaml", env);
    }

    private static String execute(Invocation invocation, Duration timeout) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(invocation.command()).redirectErrorStream(true);
        pb.environment().remove("PGSERVICEFILE");
        pb.environment().remove("PGPASSWORD");
        pb.environment().putAll(invocation.env());
        Process process = pb.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("timed out: " + invocation.printable() + "\n" + output);
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException("exit " + process.exitValue() + ": " + invocation.printable() + "\n"
                    + output);
        }
        return output;
    }

    static Run parse(String output) {
        Matcher tps = TPS.matcher(output);
        Matcher latency = LATENCY.matcher(output);
        if (!tps.find() || !latency.find()) {
            throw new IllegalStateException("pgbench output has no tps or latency line:\n" + output);
        }
        Matcher failed = FAILED.matcher(output);
        if (failed.find() && !failed.group(1).equals("0")) {
            throw new IllegalStateException("pgbench reported failed transactions:\n" + output);
        }
        return new Run(Double.parseDouble(tps.group(1)), Double.parseDouble(latency.group(1)));
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static String report(Options options, List<Target> targets, Map<String, List<Run>> results,
                                 Map<String, String> commands, Map<Target, String> audits, Invocation init,
                                 String loadBefore, String loadAfter) {
        StringBuilder out = new StringBuilder();
        out.append("\n## pgbench: direct vs through Warden\n\n");
        out.append(String.format(Locale.ROOT, "%s, %d cores, Java %s; %d rounds of %d s each (after a %d s "
                        + "warm-up), interleaved over %d paths; scale %d; upstream TLS %s; client TLS to Warden: "
                        + "require; load average before %s, after %s%n%n",
                ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                Runtime.getRuntime().availableProcessors(), Runtime.version(), options.rounds(), options.seconds(),
                options.warmup(), targets.size(), options.scale(), options.upstreamTls(), loadBefore, loadAfter));
        out.append("| workload | protocol | clients | path | TPS (median) | vs direct | latency avg (ms) "
                + "| TPS per round |\n");
        out.append("|---|---|---:|---|---:|---:|---:|---|\n");
        for (Workload workload : options.workloads()) {
            for (String mode : options.modes()) {
                double directTps = median(results.get(key(workload, mode, Target.DIRECT)).stream().map(Run::tps)
                        .toList());
                for (Target target : targets) {
                    List<Run> runs = results.get(key(workload, mode, target));
                    double tps = median(runs.stream().map(Run::tps).toList());
                    out.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %.0f | %.2f | %.3f | %s |%n",
                            workload.label, mode, options.clients(), target.label(), tps, tps / directTps,
                            median(runs.stream().map(Run::latencyMs).toList()), perRound(runs)));
                }
            }
        }
        out.append("\nAudit logs (file sink, group commit 2 ms, write-ahead; verified after the runs):\n\n");
        audits.values().forEach(a -> out.append("    ").append(a).append('\n'));
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
