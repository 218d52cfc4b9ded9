package dev.warden.testkit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL server for tests: the server in {@code WARDEN_TEST_PG_URL}
 * ({@code postgresql://user:password@host:port}) when set, else an embedded cluster started from the
 * binaries that ship in Maven jars. Share one per test class and give each test its own database.
 *
 * <p>The embedded cluster is configured like a production server would be: TLS on (a self-signed
 * certificate made with {@code openssl}), SCRAM and MD5 password roles with matching {@code pg_hba.conf}
 * lines, and trust for the superuser only.
 */
public final class TestPostgres implements AutoCloseable {

    /** Role that logs in with SCRAM-SHA-256. */
    public static final String SCRAM_USER = "warden_scram";
    /** Role that logs in with MD5. */
    public static final String MD5_USER = "warden_md5";
    /** Role that logs in with a cleartext password. */
    public static final String CLEARTEXT_USER = "warden_clear";
    /** Password of the three password roles. */
    public static final String PASSWORD = "upstream-s3cret";
    /** Role that needs TLS ({@code hostssl}) and trusts once it has it. */
    public static final String TLS_ONLY_USER = "warden_tls";

    private static final AtomicInteger DATABASES = new AtomicInteger();
    /** Set by the data directory customizer, which runs inside {@code start()} before it returns. */
    private static volatile Path lastCertificate;

    private final EmbeddedPostgres embedded;
    private final String host;
    private final int port;
    private final String superuser;
    private final String superuserPassword;
    private Path certificate;
    /** The copy of {@link #template} this cluster runs in, deleted when it stops; null when none. */
    private Path copiedDataDirectory;

    private TestPostgres(EmbeddedPostgres embedded, String host, int port, String superuser, String password) {
        this.embedded = embedded;
        this.host = host;
        this.port = port;
        this.superuser = superuser;
        this.superuserPassword = password;
    }

    public static TestPostgres start() {
        return start(java.util.Map.of());
    }

    /**
     * Whether the server runs here, started by this process (not {@code WARDEN_TEST_PG_URL}): its backends may be
     * signalled.
     */
    public boolean embedded() {
        return embedded != null;
    }

    /**
     * Like {@link #start()}, with PostgreSQL's own statement log on ({@code log_statement = all} through the
     * logging collector), so a test can prove what reached the server with {@link #serverLog()}. An external
     * server ({@code WARDEN_TEST_PG_URL}) must be configured so by whoever runs it.
     */
    public static TestPostgres startLoggingStatements() {
        return start(java.util.Map.of("logging_collector", "on", "log_statement", "all",
                "log_filename", "warden-test.log", "log_rotation_size", "0", "log_rotation_age", "0"));
    }

    /**
     * Like {@link #start()}, with two-phase commit on ({@code max_prepared_transactions}), so a test can PREPARE
     * TRANSACTION. An external server ({@code WARDEN_TEST_PG_URL}) must be configured so by whoever runs it.
     */
    public static TestPostgres startWithPreparedTransactions() {
        return start(java.util.Map.of("max_prepared_transactions", "10"));
    }

    private static TestPostgres start(java.util.Map<String, String> serverConfig) {
        String external = System.getenv("WARDEN_TEST_PG_URL");
        try {
            TestPostgres pg = external != null && !external.isBlank() ? external(external) : embedded(serverConfig);
            pg.createRoles();
            return pg;
        } catch (IOException | SQLException e) {
            throw new IllegalStateException("cannot start test PostgreSQL: " + e.getMessage(), e);
        }
    }

    private static TestPostgres external(String url) {
        java.net.URI uri = java.net.URI.create(url.replaceFirst("^postgres(ql)?://", "http://"));
        String[] userInfo = uri.getUserInfo() == null ? new String[] {"postgres", ""} : uri.getUserInfo().split(":", 2);
        return new TestPostgres(null, uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 5432,
                userInfo[0], userInfo.length > 1 ? userInfo[1] : "");
    }

    /**
     * A data directory as initdb left it (before {@link #configureDataDirectory}), kept from the first cluster this
     * JVM started; null until then. Each later cluster starts from a copy of it: initdb took about two of the
     * roughly two and a half seconds a test class spent starting its server, and about a hundred classes start
     * one. The copy is what initdb would make again: the same binaries with the same options (the server
     * settings are given when the server starts, not to initdb).
     */
    private static Path template;

    private static synchronized Path copyOfTemplate() throws IOException {
        if (template == null) {
            return null;
        }
        Path copy = Files.createTempDirectory("warden-test-pg-");
        copyTree(template, copy);
        return copy;
    }

    private static synchronized void keepAsTemplate(Path dataDir) {
        if (template != null) {
            return;
        }
        try {
            Path kept = Files.createTempDirectory("warden-test-pg-template-");
            copyTree(dataDir, kept);
            template = kept;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(kept)));
        } catch (IOException e) {
            // No template: every cluster runs initdb, as before.
        }
    }

    /** Copies a data directory, its permissions with it (the server refuses a directory others can read). */
    private static void copyTree(Path from, Path to) throws IOException {
        try (java.util.stream.Stream<Path> paths = Files.walk(from)) {
            for (Path source : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(source).toString());
                if (source.getFileName() != null && source.getFileName().toString().equals("epg-lock")) {
                    continue; // the embedded library's lock of the directory it runs in
                }
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                    Files.setPosixFilePermissions(target, Files.getPosixFilePermissions(source));
                } else {
                    Files.copy(source, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES,
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temporary directory
        }
    }

    private static TestPostgres embedded(java.util.Map<String, String> serverConfig) throws IOException {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder();
        serverConfig.forEach(builder::setServerConfig);
        Path copy = copyOfTemplate();
        if (copy != null) {
            builder.setDataDirectory(copy.toFile()).setCleanDataDirectory(false)
                    .setDataDirectoryCustomizer(TestPostgres::configureDataDirectory);
        } else {
            builder.setDataDirectoryCustomizer(dir -> {
                keepAsTemplate(dir.toPath());
                configureDataDirectory(dir);
            });
        }
        EmbeddedPostgres pg = builder
                .setServerConfig("ssl", "on")
                .setServerConfig("ssl_cert_file", "server.crt")
                .setServerConfig("ssl_key_file", "server.key")
                .setServerConfig("max_connections", "300")
                .setServerConfig("fsync", "off")
                .setServerConfig("synchronous_commit", "off")
                .setServerConfig("full_page_writes", "off")
                .start();
        TestPostgres started = new TestPostgres(pg, "127.0.0.1", pg.getPort(), "postgres", "");
        started.certificate = lastCertificate;
        started.copiedDataDirectory = copy;
        return started;
    }

    /** Runs after initdb: a server certificate and an explicit pg_hba.conf. */
    private static void configureDataDirectory(java.io.File dataDir) {
        Path dir = dataDir.toPath();
        try {
            run(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", "server.key", "-out", "server.crt");
            Path copy = Files.createTempFile("warden-test-pg-", ".crt");
            copy.toFile().deleteOnExit();
            Files.copy(dir.resolve("server.crt"), copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            lastCertificate = copy;
            Files.setPosixFilePermissions(dir.resolve("server.key"),
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            Files.writeString(dir.resolve("pg_hba.conf"), String.join("\n", List.of(
                    "local all all trust",
                    "host all " + SCRAM_USER + " 127.0.0.1/32 scram-sha-256",
                    "host all " + MD5_USER + " 127.0.0.1/32 md5",
                    "host all " + CLEARTEXT_USER + " 127.0.0.1/32 password",
                    "hostssl all " + TLS_ONLY_USER + " 127.0.0.1/32 trust",
                    "hostnossl all " + TLS_ONLY_USER + " 127.0.0.1/32 reject",
                    // Roles Warden provisions per identity (role_prefix wd_) prove their per-session password.
                    "host all /^wd_ 127.0.0.1/32 scram-sha-256",
                    "host all all 127.0.0.1/32 trust",
                    "host all all ::1/128 trust", "")));
        } catch (IOException e) {
            throw new IllegalStateException("cannot configure the test cluster: " + e.getMessage(), e);
        }
    }

    private static void run(Path dir, String... command) throws IOException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private void createRoles() throws SQLException {
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            for (String[] role : new String[][] {
                    {SCRAM_USER, "scram-sha-256"}, {MD5_USER, "md5"}, {CLEARTEXT_USER, "scram-sha-256"},
                    {TLS_ONLY_USER, "scram-sha-256"}}) {
                s.execute("SET password_encryption = '" + role[1] + "'");
                s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + role[0]
                        + "') THEN CREATE ROLE " + role[0] + " LOGIN SUPERUSER; END IF; END$$");
                s.execute("ALTER ROLE " + role[0] + " PASSWORD '" + PASSWORD + "'");
            }
        }
    }

    /** The embedded server's self-signed TLS certificate (CN and SAN localhost, 127.0.0.1), or null. */
    public Path certificate() {
        return certificate;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public String superuser() {
        return superuser;
    }

    public String superuserPassword() {
        return superuserPassword;
    }

    /** Creates a fresh, uniquely named database and returns its name. */
    public String createDatabase(String prefix) {
        String name = (prefix + "_" + DATABASES.incrementAndGet()).toLowerCase();
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
        }
        return name;
    }

    /** A direct connection (not through Warden) as the superuser. */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), superuser, superuserPassword);
    }

    /**
     * The server's current log file as text (read by the superuser with {@code pg_read_binary_file}), or an
     * exception when the server does not log through the collector (see {@link #startLoggingStatements()}).
     */
    public String serverLog() {
        try (Connection c = connect("postgres"); Statement s = c.createStatement();
             java.sql.ResultSet rs = s.executeQuery("SELECT pg_read_binary_file(pg_current_logfile())")) {
            rs.next();
            byte[] log = rs.getBytes(1);
            if (log == null) {
                throw new IllegalStateException("the server has no log file: start it with startLoggingStatements()");
            }
            return new String(log, java.nio.charset.StandardCharsets.UTF_8);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the server log: " + e.getMessage(), e);
        }
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database + "?sslmode=disable";
    }

    @Override
    public void close() {
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                throw new IllegalStateException("cannot stop test PostgreSQL", e);
            } finally {
                if (copiedDataDirectory != null) {
                    deleteTree(copiedDataDirectory);
                }
            }
        }
    }
}
