package dev.warden.proxy.demo;

import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import dev.warden.proxy.server.WardenServer;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running demo: PostgreSQL (embedded or {@code --upstream}), the development issuer and Warden, started in
 * that order and stopped in the reverse one. {@link #start} returns once a client can connect; the data directory
 * survives {@link #close}.
 */
final class Demo implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Demo.class);
    /** Files that mark a directory as a demo data directory, so {@code --fresh} never empties anything else. */
    private static final Set<String> DEMO_FILES = Set.of(DemoPolicy.FILE, DemoPolicy.PASSWORD_FILE, "postgres",
            "tokens", "audit", "approvals", "postgres.log", DemoPolicy.KEYS_DIR, DemoPolicy.WITNESS_URL_FILE);

    /** What the command line asked for; port 0 means any free port. */
    record Options(Path dataDir, int port, int adminPort, boolean fresh, Optional<URI> upstream) {
    }

    private final Options options;
    private DemoDatabase database;
    private DevelopmentIssuer issuer;
    private WardenServer warden;
    private dev.warden.proxy.server.PolicyWatcher watcher;
    private final Map<DemoUser, Path> tokenFiles = new LinkedHashMap<>();
    private final Map<DemoUser, String> tokens = new LinkedHashMap<>();
    private boolean firstStart;
    private int seededDatabases;
    private Duration startTime;

    private Demo(Options options) {
        this.options = options;
    }

    /** Starts everything; on failure stops what had started and rethrows. */
    static Demo start(Options options) throws Exception {
        long started = System.nanoTime();
        Demo demo = new Demo(options);
        try {
            demo.startAll();
        } catch (Exception e) {
            demo.close();
            throw e;
        }
        demo.startTime = Duration.ofNanos(System.nanoTime() - started);
        log.info("demo ready seconds={} first_start={} data_dir={}", demo.startTime.toMillis() / 1000.0,
                demo.firstStart, options.dataDir());
        return demo;
    }

    private void startAll() throws Exception {
        Path dir = options.dataDir().toAbsolutePath().normalize();
        if (options.fresh()) {
            deleteDemoDirectory(dir);
        }
        Files.createDirectories(dir);
        Path passwordFile = dir.resolve(DemoPolicy.PASSWORD_FILE);
        if (options.upstream().isPresent()) {
            database = DemoDatabase.external(options.upstream().get());
            writeSecret(passwordFile, database.password());
            firstStart = !Files.exists(dir.resolve(DemoPolicy.FILE));
        } else {
            Path pgDir = dir.resolve("postgres");
            firstStart = !Files.exists(pgDir.resolve("postgresql.conf"));
            String password = Files.exists(passwordFile)
                    ? Files.readString(passwordFile, StandardCharsets.UTF_8).strip() : randomSecret();
            writeSecret(passwordFile, password);
            quietEmbeddedPostgresLogs();
            database = DemoDatabase.embedded(pgDir, password, dir.resolve("postgres.log"));
        }
        seededDatabases = database.seed();

        // The signing key lives beside the log, never in it: whoever can rewrite the log must not re-sign it.
        Path keyFile = dir.resolve(DemoPolicy.KEYS_DIR).resolve(DemoPolicy.SIGNING_KEY_FILE);
        dev.warden.audit.chain.SigningKey key = dev.warden.audit.chain.SigningKey.loadOrGenerate(keyFile);
        Files.writeString(publicKeyFile(), key.publicKeyPem(), StandardCharsets.US_ASCII);
        // The witness keeps checkpoint heads in PostgreSQL, outside the log's directory.
        writeSecret(dir.resolve(DemoPolicy.WITNESS_URL_FILE), DemoPolicy.witnessUrl(database));

        // The issuer's URL (its port) stays from one start to the next: roles are bound to it.
        Path issuerPort = dir.resolve("issuer-port");
        int preferred = 0;
        if (Files.exists(issuerPort)) {
            try {
                preferred = Integer.parseInt(Files.readString(issuerPort, StandardCharsets.US_ASCII).strip());
            } catch (NumberFormatException | IOException unreadable) {
                preferred = 0;
            }
            if (preferred < 1024 || preferred > 65535) {
                preferred = 0; // not one this demo wrote (it binds an ephemeral port): any free one
            }
        }
        issuer = DevelopmentIssuer.start(preferred);
        Files.writeString(issuerPort, issuer.issuer().substring(issuer.issuer().lastIndexOf(':') + 1) + "\n",
                StandardCharsets.US_ASCII);
        Path policyFile = dir.resolve(DemoPolicy.FILE);
        Files.writeString(policyFile, DemoPolicy.render(issuer.issuer(), options.port(), options.adminPort(),
                database), StandardCharsets.UTF_8);
        Policy policy = PolicyLoader.load(policyFile);
        warden = WardenServer.start(policy);
        // As with serve: an edit to the demo's policy applies live, so the tour can show a rule change.
        watcher = dev.warden.proxy.server.PolicyWatcher.start(policyFile, warden);

        Path tokenDir = dir.resolve("tokens");
        Files.createDirectories(tokenDir);
        for (DemoUser user : DemoUser.ALL) {
            String token = issuer.mint(user);
            Path file = tokenDir.resolve(user.name() + ".jwt");
            writeSecret(file, token);
            tokens.put(user, token);
            tokenFiles.put(user, file);
        }
    }

    /** zonky logs every step of starting a cluster at INFO; the demo's own output says what matters. */
    private static void quietEmbeddedPostgresLogs() {
        org.slf4j.Logger zonky = LoggerFactory.getLogger("io.zonky");
        if (zonky instanceof ch.qos.logback.classic.Logger logback && !logback.isDebugEnabled()) {
            logback.setLevel(ch.qos.logback.classic.Level.WARN);
        }
    }

    private static String randomSecret() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Owner-only file: tokens and the upstream password are secrets even in a demo. */
    private static void writeSecret(Path file, String value) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, value + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** Empties {@code dir} for {@code --fresh}, but only if everything in it is something the demo writes. */
    private static void deleteDemoDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            Optional<Path> foreign = entries.filter(p -> !DEMO_FILES.contains(p.getFileName().toString())).findFirst();
            if (foreign.isPresent()) {
                throw new IOException("--fresh would delete " + dir + ", but " + foreign.get().getFileName()
                        + " there was not written by warden demo; remove the directory yourself or choose another "
                        + "--data-dir");
            }
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    Path dataDir() {
        return options.dataDir().toAbsolutePath().normalize();
    }

    Path policyFile() {
        return dataDir().resolve(DemoPolicy.FILE);
    }

    Path auditDir() {
        return dataDir().resolve("audit");
    }

    /** The public half of the audit signing key, for {@code warden audit verify --public-key}. */
    Path publicKeyFile() {
        return dataDir().resolve(DemoPolicy.KEYS_DIR).resolve(DemoPolicy.PUBLIC_KEY_FILE);
    }

    /** A file holding the JDBC URL of the witness table, for {@code warden audit verify --witness file:...}. */
    Path witnessUrlFile() {
        return dataDir().resolve(DemoPolicy.WITNESS_URL_FILE);
    }

    int port() {
        return warden.port();
    }

    int adminPort() {
        return warden.adminPort();
    }

    String issuerUrl() {
        return issuer.issuer();
    }

    DemoDatabase database() {
        return database;
    }

    Path tokenFile(DemoUser user) {
        return tokenFiles.get(user);
    }

    String token(DemoUser user) {
        return tokens.get(user);
    }

    boolean firstStart() {
        return firstStart;
    }

    int seededDatabases() {
        return seededDatabases;
    }

    /** From the call to {@link #start} until Warden accepted connections. */
    Duration startTime() {
        return startTime;
    }

    /** Stops Warden (running statements get two seconds), the issuer, then PostgreSQL. Safe to call twice. */
    @Override
    public synchronized void close() {
        if (watcher != null) {
            watcher.close();
            watcher = null;
        }
        if (warden != null) {
            warden.shutdown(Duration.ofSeconds(2));
            warden = null;
        }
        if (issuer != null) {
            issuer.close();
            issuer = null;
        }
        if (database != null) {
            database.close();
            database = null;
        }
    }
}
