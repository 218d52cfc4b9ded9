package dev.warden.bench;

import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import dev.warden.testkit.TestOidcIssuer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Is Warden transparent? Runs PostgreSQL's own regression SQL twice, in the order of its schedule: with psql
 * straight into one cluster, and with psql through Warden into a second, identical cluster. Each file's output
 * (what {@code pg_regress} would compare with its expected file) is normalised for what legitimately differs
 * (ports, scratch paths, the identity's login name) and compared byte for byte between the two paths.
 *
 * <p>The regression sources are never part of this repository: {@code bench/transparency.sh} fetches the
 * PostgreSQL 15 source tarball from Debian, builds {@code regress.so} and passes the directories here.
 *
 * <p>Both clusters are made with the installed PostgreSQL binaries ({@code --bin}), run as the {@code postgres}
 * system user when this JVM runs as root, and are configured as {@code pg_regress --temp-instance} configures its
 * own (C locale, UTF8, {@code max_prepared_transactions}), with the same environment for psql (time zone,
 * date style, {@code PGOPTIONS}, {@code PG_ABS_SRCDIR}...). Warden runs in this JVM with a pass-through policy:
 * no baseline guardrails, and masking chosen by {@code --masking}:
 * <ul>
 *   <li>{@code exempt}: masking at its defaults, the identity exempt (the relay alone is under test);</li>
 *   <li>{@code defaults}: masking at its defaults for a non-exempt identity;</li>
 *   <li>{@code off}: {@code masking: { defaults: off, value_detection: off }} for a non-exempt identity.</li>
 * </ul>
 *
 * <p>Usage: {@code java -cp bench/target/warden-bench.jar dev.warden.bench.TransparencyHarness --regress
 * <src/test/regress> --libdir <dir with regress.so> [--bin /usr/lib/postgresql/15/bin] [--masking exempt]
 * [--only test1,test2] [--out target/transparency]}; {@code --only} keeps the schedule's order and always runs
 * {@code test_setup} first. Exit status 0 when every file is identical.
 */
public final class TransparencyHarness {

    private static final String USER = "regress@example.com";
    private static final String DATABASE = "regression";
    private static final Duration FILE_TIMEOUT = Duration.ofMinutes(5);
    private static final boolean RUNNING_AS_ROOT = "root".equals(System.getProperty("user.name"));

    private TransparencyHarness() {
    }

    record Options(Path regress, Path libdir, Path bin, String masking, List<String> only, Path out) {

        static Options parse(String[] args) {
            Map<String, String> values = new LinkedHashMap<>();
            values.put("bin", "/usr/lib/postgresql/15/bin");
            values.put("masking", "exempt");
            values.put("only", "");
            values.put("out", "target/transparency");
            values.put("regress", null);
            values.put("libdir", null);
            for (int i = 0; i < args.length; i++) {
                String key = args[i].startsWith("--") ? args[i].substring(2) : "";
                if (!values.containsKey(key) || i + 1 >= args.length) {
                    throw new IllegalArgumentException("unknown option or missing value: " + args[i]);
                }
                values.put(key, args[++i]);
            }
            if (values.get("regress") == null || values.get("libdir") == null) {
                throw new IllegalArgumentException("--regress and --libdir are required");
            }
            String masking = values.get("masking");
            if (!List.of("exempt", "defaults", "off").contains(masking)) {
                throw new IllegalArgumentException("--masking: expected exempt, defaults or off, got '" + masking + "'");
            }
            List<String> only = values.get("only").isBlank() ? List.of() : List.of(values.get("only").split(","));
            return new Options(Path.of(values.get("regress")).toAbsolutePath(),
                    Path.of(values.get("libdir")).toAbsolutePath(), Path.of(values.get("bin")), masking, only,
                    Path.of(values.get("out")).toAbsolutePath());
        }
    }

    /** One file's outcome: identical, or different with the number of differing lines of the diff. */
    record Verdict(String test, boolean identical, int diffLines, boolean directAsExpected, Duration took) {
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("transparency: " + e.getMessage());
            System.err.println("usage: TransparencyHarness --regress <src/test/regress> --libdir <dir of regress.so>"
                    + " [--bin <postgres bin dir>] [--masking exempt|defaults|off] [--only a,b] [--out dir]");
            System.exit(2);
            return;
        }
        System.exit(run(options));
    }

    static int run(Options options) throws Exception {
        List<String> tests = schedule(options.regress().resolve("parallel_schedule"));
        if (!options.only().isEmpty()) {
            // Every file needs the tables test_setup makes, so it always runs first (and is compared too).
            tests = tests.stream().filter(t -> t.equals("test_setup") || options.only().contains(t)).toList();
        }
        Path scratch = Files.createTempDirectory("warden-transparency-");
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.createDirectories(options.out());
        log("scratch " + scratch + ", " + tests.size() + " files, masking " + options.masking());
        try {
            return runIn(scratch, tests, options);
        } finally {
            deleteTree(scratch);
        }
    }

    private static int runIn(Path scratch, List<String> tests, Options options) throws Exception {
        try (Cluster direct = Cluster.start(options.bin(), scratch.resolve("direct"));
             Cluster proxied = Cluster.start(options.bin(), scratch.resolve("proxied"));
             TestOidcIssuer issuer = TestOidcIssuer.start()) {
            WardenServer warden = WardenServer.start(policy(issuer, proxied, options.masking(), scratch));
            try {
                String token = issuer.token().email(USER).groups("regress")
                        .expiresAt(Instant.now().plus(Duration.ofHours(6))).sign();
                Side directSide = new Side("direct", direct, options, scratch.resolve("direct-out"),
                        "host=127.0.0.1 port=" + direct.port() + " user=postgres dbname=" + DATABASE, Map.of());
                Side wardenSide = new Side("warden", proxied, options, scratch.resolve("warden-out"),
                        "host=127.0.0.1 port=" + warden.port() + " user=" + USER + " dbname=" + DATABASE
                                + " sslmode=require", Map.of("PGPASSWORD", token));
                List<Verdict> verdicts = new ArrayList<>();
                for (String test : tests) {
                    verdicts.add(compare(test, directSide, wardenSide, options, warden.port()));
                }
                return report(verdicts, options);
            } finally {
                warden.close();
            }
        }
    }

    private static Verdict compare(String test, Side direct, Side warden, Options options, int wardenPort)
            throws Exception {
        Instant start = Instant.now();
        CompletableFuture<String> a = CompletableFuture.supplyAsync(() -> direct.run(test));
        CompletableFuture<String> b = CompletableFuture.supplyAsync(() -> warden.run(test));
        String directOut = normalise(a.get(), direct, wardenPort);
        String wardenOut = normalise(b.get(), warden, wardenPort);
        Duration took = Duration.between(start, Instant.now());
        boolean asExpected = matchesExpected(options.regress().resolve("expected"), test, directOut);
        Path directFile = options.out().resolve(test + ".direct.out");
        Path wardenFile = options.out().resolve(test + ".warden.out");
        Path diffFile = options.out().resolve(test + ".diff");
        Files.deleteIfExists(diffFile);
        if (directOut.equals(wardenOut)) {
            Files.deleteIfExists(wardenFile);
            if (asExpected) {
                Files.deleteIfExists(directFile);
            } else {
                Files.writeString(directFile, directOut);
            }
            System.out.printf("%-32s identical  (%d ms)%s%n", test, took.toMillis(), asExpected ? ""
                    : "  [the direct run itself differs from PostgreSQL's expected output]");
            return new Verdict(test, true, 0, asExpected, took);
        }
        Files.writeString(directFile, directOut);
        Files.writeString(wardenFile, wardenOut);
        Process diff = new ProcessBuilder("diff", "-u", directFile.toString(), wardenFile.toString())
                .redirectOutput(diffFile.toFile()).start();
        diff.waitFor(1, TimeUnit.MINUTES);
        int lines = (int) Files.readAllLines(diffFile).stream()
                .filter(l -> (l.startsWith("+") || l.startsWith("-")) && !l.startsWith("+++") && !l.startsWith("---"))
                .count();
        System.out.printf("%-32s DIFFERENT  (%d diff lines, %s) (%d ms)%n", test, lines, diffFile, took.toMillis());
        return new Verdict(test, false, lines, asExpected, took);
    }

    /**
     * Whether the direct run reproduces one of PostgreSQL's expected outputs (test.out or an alternative
     * test_N.out): a check of the harness itself, since a set-up mistake (a missing regress.so, a wrong time
     * zone) would make both paths fail alike and still compare equal.
     */
    private static boolean matchesExpected(Path expectedDir, String test, String directOut) throws IOException {
        for (String suffix : List.of("", "_0", "_1", "_2", "_3", "_4", "_5")) {
            Path candidate = expectedDir.resolve(test + suffix + ".out");
            if (Files.exists(candidate) && Files.readString(candidate).equals(directOut)) {
                return true;
            }
        }
        return false;
    }

    /** What may legitimately differ: ports, each side's scratch directory and the login name. */
    private static String normalise(String output, Side side, int wardenPort) {
        return output.replace(side.builddir().toString(), "@abs_builddir@")
                .replace(side.cluster().dataDir().toString(), "@datadir@")
                .replace(USER, "postgres")
                .replace("port=" + side.cluster().port(), "port=@port@")
                .replace("port=" + wardenPort, "port=@port@")
                .replace("\"" + side.cluster().port() + "\"", "\"@port@\"")
                .replace("\"" + wardenPort + "\"", "\"@port@\"");
    }

    private static int report(List<Verdict> verdicts, Options options) {
        long identical = verdicts.stream().filter(Verdict::identical).count();
        System.out.println();
        System.out.printf("transparency (masking %s): %d of %d files identical through Warden; the direct run"
                        + " matched PostgreSQL's expected output in %d%n", options.masking(), identical, verdicts.size(),
                verdicts.stream().filter(Verdict::directAsExpected).count());
        verdicts.stream().filter(v -> !v.identical()).forEach(v ->
                System.out.printf("  different: %-28s %5d diff lines  %s%n", v.test(), v.diffLines(),
                        options.out().resolve(v.test() + ".diff")));
        return identical == verdicts.size() ? 0 : 1;
    }

    /** The test names of a pg_regress schedule, in order ("test: a b c" lines; comments skipped). */
    static List<String> schedule(Path file) throws IOException {
        List<String> tests = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            String trimmed = line.strip();
            if (trimmed.startsWith("test:")) {
                for (String name : trimmed.substring(5).strip().split("\\s+")) {
                    if (!name.isEmpty()) {
                        tests.add(name);
                    }
                }
            }
        }
        return tests;
    }

    private static Policy policy(TestOidcIssuer issuer, Cluster upstream, String masking, Path scratch)
            throws Exception {
        String maskingYaml = switch (masking) {
            case "exempt" -> "masking: { unmasked_for: { groups: [regress] } }";
            case "defaults" -> "masking: { defaults: on, value_detection: on }";
            default -> "masking: { defaults: off, value_detection: off }";
        };
        String yaml = """
                listen:
                  address: 127.0.0.1:0
                identity:
                  issuers:
                    - issuer: ${ISSUER}
                      audience: warden
                environments:
                  %s:
                    upstream: { host: 127.0.0.1, port: "${PG_PORT}", database: %s, user: postgres, password_env: UPSTREAM_PASSWORD, tls: disable, allow_superuser: true }
                    allow: [ { groups: [regress] } ]
                    baseline_guardrails: false
                %s
                audit:
                  sinks: [ { type: file, dir: "${SCRATCH}/audit" } ]
                approvals:
                  store: { type: file, path: "${SCRATCH}/approvals" }
                """.formatted(DATABASE, DATABASE, maskingYaml);
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("ISSUER", issuer.issuer());
        env.put("PG_PORT", Integer.toString(upstream.port()));
        env.put("UPSTREAM_PASSWORD", "unused-trust-auth");
        env.put("SCRATCH", scratch.toString());
        return PolicyLoader.parse(yaml, Path.of("."), "transparency-policy.yaml", env);
    }

    /** One path into a cluster: the psql connection string, extra environment and a private build directory. */
    record Side(String name, Cluster cluster, Options options, Path builddir, String conninfo,
                Map<String, String> extraEnv) {

        Side {
            try {
                Files.createDirectories(builddir.resolve("results"));
                for (Path dir : List.of(builddir, builddir.resolve("results"))) {
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Runs one file as pg_regress does and returns psql's stdout and stderr, interleaved. */
        String run(String test) {
            Path input = options.regress().resolve("sql").resolve(test + ".sql");
            ProcessBuilder pb = new ProcessBuilder(options.bin().resolve("psql").toString(), "-X", "-a", "-q",
                    "-d", conninfo, "-v", "HIDE_TABLEAM=on", "-v", "HIDE_TOAST_COMPRESSION=on")
                    .redirectInput(input.toFile()).redirectErrorStream(true);
            Map<String, String> env = pb.environment();
            env.keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("LC_") || k.equals("LANG")
                    || k.equals("LANGUAGE"));
            env.put("LANG", "C");
            env.put("LC_MESSAGES", "C");
            env.put("PGTZ", "America/Los_Angeles");
            env.put("PGDATESTYLE", "Postgres, MDY");
            env.put("PGOPTIONS", " -c intervalstyle=postgres_verbose");
            env.put("PGAPPNAME", "pg_regress/" + test);
            env.put("PG_ABS_SRCDIR", options.regress().toString());
            env.put("PG_ABS_BUILDDIR", builddir.toString());
            env.put("PG_LIBDIR", options.libdir().toString());
            env.put("PG_DLSUFFIX", ".so");
            env.putAll(extraEnv);
            try {
                Process p = pb.start();
                CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
                    try {
                        return p.getInputStream().readAllBytes();
                    } catch (IOException e) {
                        return ("[harness: cannot read psql output: " + e.getMessage() + "]").getBytes();
                    }
                });
                if (!p.waitFor(FILE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return new String(out.get(), StandardCharsets.UTF_8) + "\n[harness: timed out after "
                            + FILE_TIMEOUT + "]\n";
                }
                return new String(out.get(), StandardCharsets.UTF_8);
            } catch (Exception e) {
                return "[harness: psql failed: " + e + "]";
            }
        }
    }

    /** A PostgreSQL cluster made with the installed binaries, as pg_regress makes its temporary instance. */
    record Cluster(Path bin, Path dataDir, int port) implements AutoCloseable {

        static Cluster start(Path bin, Path dataDir) throws Exception {
            Files.createDirectories(dataDir);
            if (RUNNING_AS_ROOT) {
                exec(List.of("chown", "postgres:postgres", dataDir.toString()), Duration.ofMinutes(1));
            }
            exec(asPostgres(List.of(bin.resolve("initdb").toString(), "-D", dataDir.toString(), "-U", "postgres",
                    "--no-sync", "-E", "UTF8", "--locale=C", "-A", "trust")), Duration.ofMinutes(3));
            int port = freePort();
            Files.writeString(dataDir.resolve("postgresql.conf"), String.join("\n", List.of(
                    "", "port = " + port, "listen_addresses = '127.0.0.1'",
                    "unix_socket_directories = '" + dataDir + "'", "max_prepared_transactions = 2",
                    "max_connections = 100", "fsync = off", "synchronous_commit = off", "full_page_writes = off",
                    "log_autovacuum_min_duration = 0", "log_checkpoints = on", "log_line_prefix = '%m %b[%p] %q%a '",
                    "log_lock_waits = on", "log_temp_files = 128kB", "")),
                    java.nio.file.StandardOpenOption.APPEND);
            exec(asPostgres(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-w", "-t", "120",
                    "-l", dataDir.resolve("server.log").toString(), "start")), Duration.ofMinutes(3));
            Cluster cluster = new Cluster(bin, dataDir, port);
            for (String sql : List.of(
                    "CREATE DATABASE \"" + DATABASE + "\" TEMPLATE=template0",
                    "ALTER DATABASE \"" + DATABASE + "\" SET lc_messages TO 'C'",
                    "ALTER DATABASE \"" + DATABASE + "\" SET lc_monetary TO 'C'",
                    "ALTER DATABASE \"" + DATABASE + "\" SET lc_numeric TO 'C'",
                    "ALTER DATABASE \"" + DATABASE + "\" SET lc_time TO 'C'",
                    "ALTER DATABASE \"" + DATABASE + "\" SET bytea_output TO 'hex'",
                    "ALTER DATABASE \"" + DATABASE + "\" SET timezone_abbreviations TO 'Default'")) {
                exec(List.of(bin.resolve("psql").toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                        "host=127.0.0.1 port=" + port + " user=postgres dbname=postgres", "-c", sql),
                        Duration.ofMinutes(1));
            }
            return cluster;
        }

        @Override
        public void close() {
            try {
                exec(asPostgres(List.of(bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "fast",
                        "-w", "stop")), Duration.ofMinutes(2));
            } catch (Exception e) {
                log("cannot stop the cluster in " + dataDir + ": " + e.getMessage());
            }
        }

        /** PostgreSQL refuses to run as root: when we are root, the server's tools run as postgres. */
        private static List<String> asPostgres(List<String> command) {
            if (!RUNNING_AS_ROOT) {
                return command;
            }
            List<String> wrapped = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
            wrapped.addAll(command);
            return wrapped;
        }

        private static int freePort() throws IOException {
            try (ServerSocket socket = new ServerSocket(0)) {
                return socket.getLocalPort();
            }
        }
    }

    private static String exec(List<String> command, Duration timeout) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getInputStream().readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " timed out");
        }
        String text = new String(out.get(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + text);
        }
        return text;
    }

    /** The clusters and build directories go once both clusters are stopped; the outputs stay in --out. */
    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            log("cannot delete " + root + ": " + e.getMessage());
        }
    }

    private static void log(String message) {
        System.err.println("[transparency] " + message);
    }
}
