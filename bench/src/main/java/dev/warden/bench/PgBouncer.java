package dev.warden.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code pgbouncer} as the reference proxy: session mode (one server connection per client, as Warden
 * has), TLS required from clients (as Warden requires it), TLS to the server as the direct path has it. It
 * authenticates nobody ({@code auth_type = trust}), so its figure is the cost of a TLS-terminating relay alone.
 * PgBouncer refuses to run as root, so under root it is started with {@code -u nobody}.
 */
final class PgBouncer implements AutoCloseable {

    private final Process process;
    private final Path dir;
    private final int port;
    private final String version;

    private PgBouncer(Process process, Path dir, int port, String version) {
        this.process = process;
        this.dir = dir;
        this.port = port;
        this.version = version;
    }

    /** CPU time PgBouncer's process has used so far (user and system), or null when the system does not say. */
    java.time.Duration cpu() {
        return process.toHandle().info().totalCpuDuration().orElse(null);
    }

    static boolean installed() {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, "pgbouncer"))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin/pgbouncer"));
    }

    /** Starts PgBouncer in front of {@code database} on the server, connecting as {@code user} (trusted there). */
    static PgBouncer start(String serverHost, int serverPort, String database, String user, String serverTls)
            throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("warden-bench-pgbouncer-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        run(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-subj", "/CN=localhost", "-days", "2", "-keyout", "client.key", "-out", "client.crt");
        for (String f : List.of("client.key", "client.crt")) {
            Files.setPosixFilePermissions(dir.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(dir.resolve("userlist.txt"), "\"" + user + "\" \"\"\n");
        Files.writeString(dir.resolve("pgbouncer.ini"), String.join("\n", List.of(
                "[databases]",
                database + " = host=" + serverHost + " port=" + serverPort + " dbname=" + database + " user=" + user,
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                "listen_port = " + port,
                "unix_socket_dir =",
                "auth_type = trust",
                "auth_file = " + dir.resolve("userlist.txt"),
                "pool_mode = session",
                "max_client_conn = 200",
                "default_pool_size = 100",
                "client_tls_sslmode = require",
                "client_tls_key_file = " + dir.resolve("client.key"),
                "client_tls_cert_file = " + dir.resolve("client.crt"),
                "server_tls_sslmode = " + serverTls,
                "logfile = " + dir.resolve("pgbouncer.log"),
                "log_connections = 0",
                "log_disconnections = 0",
                "")));
        Files.writeString(dir.resolve("pgbouncer.log"), "");
        Files.setPosixFilePermissions(dir.resolve("pgbouncer.log"), PosixFilePermissions.fromString("rw-rw-rw-"));
        String version = run(dir, "pgbouncer", "--version").lines().findFirst().orElse("pgbouncer").trim();
        List<String> cmd = new ArrayList<>(List.of("pgbouncer"));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.addAll(List.of("-u", "nobody"));
        }
        cmd.add(dir.resolve("pgbouncer.ini").toString());
        Process process = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        PgBouncer bouncer = new PgBouncer(process, dir, port, version);
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("pgbouncer exited: " + Files.readString(dir.resolve("stdout.log"))
                        + Files.readString(dir.resolve("pgbouncer.log")));
            }
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return bouncer;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        bouncer.close();
        throw new IOException("pgbouncer did not listen on " + port);
    }

    int port() {
        return port;
    }

    String version() {
        return version;
    }

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        PgbenchComparison.deleteTree(dir);
    }
}
