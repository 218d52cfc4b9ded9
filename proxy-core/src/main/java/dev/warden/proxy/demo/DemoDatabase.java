package dev.warden.proxy.demo;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The PostgreSQL behind the demo: an embedded cluster in {@code <data dir>/postgres} (kept between runs) with a
 * database per environment owned by a password role {@code warden}, or a server given as
 * {@code postgresql://user:password@host:port/db}, whose one database then serves both environments.
 */
final class DemoDatabase implements AutoCloseable {

    static final String ROLE = "warden";
    /** The roles the demo policy maps identities to (embedded cluster only): agents, the dba group, everyone else. */
    static final String READ_ONLY = "shop_readonly";
    static final String ADMIN = "shop_admin";
    static final String READ_WRITE = "shop_readwrite";
    /** Upstream database per Warden environment, for the embedded cluster. */
    static final Map<String, String> EMBEDDED_DATABASES = Map.of("staging", "shop_staging", "prod", "shop_prod");

    private final EmbeddedPostgres embedded;
    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String tls;
    private final Map<String, String> databases;

    private DemoDatabase(EmbeddedPostgres embedded, String host, int port, String user, String password, String tls,
                         Map<String, String> databases) {
        this.embedded = embedded;
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.tls = tls;
        this.databases = databases;
    }

    /**
     * Starts (initialising on first use) the cluster in {@code dir}, and makes sure the {@code warden} role has
     * {@code password} and owns one database per environment. Server output goes to {@code log}.
     */
    static DemoDatabase embedded(Path dir, String password, Path log) throws IOException, SQLException {
        Files.createDirectories(dir.getParent());
        EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setDataDirectory(dir)
                .setCleanDataDirectory(false)
                .setRegisterShutdownHook(false)
                .setServerConfig("listen_addresses", "127.0.0.1")
                .setServerConfig("max_connections", "100")
                .setDataDirectoryCustomizer(DemoDatabase::writeHba)
                .setOutputRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .setErrorRedirector(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        Map<String, String> databases = new LinkedHashMap<>();
        databases.put("staging", EMBEDDED_DATABASES.get("staging"));
        databases.put("prod", EMBEDDED_DATABASES.get("prod"));
        DemoDatabase db = new DemoDatabase(pg, "127.0.0.1", pg.getPort(), ROLE, password, "disable", databases);
        try {
            db.createRoleAndDatabases(dir);
        } catch (SQLException | RuntimeException e) {
            db.close();
            throw e;
        }
        return db;
    }

    /** A server the user runs; its database serves both environments. */
    static DemoDatabase external(URI url) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("postgresql") && !scheme.equals("postgres")) {
            throw new IllegalArgumentException("--upstream must look like postgresql://user:password@host:5432/db");
        }
        if (url.getHost() == null || url.getRawUserInfo() == null) {
            throw new IllegalArgumentException("--upstream needs a host and a user: "
                    + "postgresql://user:password@host:5432/db");
        }
        String[] userInfo = url.getRawUserInfo().split(":", 2);
        String user = URLDecoder.decode(userInfo[0], StandardCharsets.UTF_8);
        String password = userInfo.length > 1 ? URLDecoder.decode(userInfo[1], StandardCharsets.UTF_8) : "";
        if (password.isEmpty()) {
            throw new IllegalArgumentException("--upstream needs a password: Warden logs in with SCRAM, MD5 or a "
                    + "cleartext password (postgresql://user:password@host:5432/db)");
        }
        String path = url.getPath() == null ? "" : url.getPath().replaceFirst("^/", "");
        String database = path.isEmpty() ? user : URLDecoder.decode(path, StandardCharsets.UTF_8);
        String host = url.getHost();
        boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
        String tls = sslmode(url).orElse(loopback ? "disable" : "require");
        Map<String, String> databases = new LinkedHashMap<>();
        databases.put("staging", database);
        databases.put("prod", database);
        return new DemoDatabase(null, host, url.getPort() > 0 ? url.getPort() : 5432, user, password, tls,
                databases);
    }

    private static Optional<String> sslmode(URI url) {
        if (url.getRawQuery() == null) {
            return Optional.empty();
        }
        for (String pair : url.getRawQuery().split("&")) {
            String[] kv = pair.split("=", 2);
            if (kv[0].equals("sslmode") && kv.length == 2) {
                String mode = kv[1];
                if (!List.of("disable", "require", "verify-full").contains(mode)) {
                    throw new IllegalArgumentException("--upstream sslmode must be disable, require or verify-full");
                }
                return Optional.of(mode);
            }
        }
        return Optional.empty();
    }

    /**
     * Runs after initdb and at every start: the superuser is trusted on the machine itself while the demo starts
     * (to create the role and databases), everyone else logs in with SCRAM, as Warden does. Once the role and
     * databases are made, {@link #closeSuperuser} takes the trust away.
     */
    private static void writeHba(File dataDir) {
        writeHba(dataDir.toPath(), true);
    }

    private static void writeHba(Path dataDir, boolean trustSuperuser) {
        List<String> lines = new java.util.ArrayList<>(List.of("# Written by warden demo at every start; the "
                + "superuser's trust lines are removed once it started."));
        if (trustSuperuser) {
            lines.addAll(List.of("local all postgres trust", "host all postgres 127.0.0.1/32 trust",
                    "host all postgres ::1/128 trust"));
        }
        lines.addAll(List.of("local all all scram-sha-256", "host all all 127.0.0.1/32 scram-sha-256",
                "host all all ::1/128 scram-sha-256", ""));
        try {
            Files.writeString(dataDir.resolve("pg_hba.conf"), String.join("\n", lines));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write pg_hba.conf", e);
        }
    }

    /**
     * Ends the superuser's trust: a random password no one keeps, and pg_hba.conf without the trust lines,
     * reloaded. Before, any local process could log in as {@code postgres} over loopback TCP with no password for as
     * long as the demo ran, bypass Warden, and delete the witness's heads (a helper's pass, a135 F5).
     */
    private void closeSuperuser(Statement superuser, Path dataDir) throws SQLException {
        byte[] random = new byte[24];
        new java.security.SecureRandom().nextBytes(random);
        String secret = java.util.HexFormat.of().formatHex(random);
        superuser.execute("ALTER ROLE postgres PASSWORD '" + secret + "'");
        writeHba(dataDir, false);
        superuser.execute("SELECT pg_catalog.pg_reload_conf()");
    }

    private void createRoleAndDatabases(Path dataDir) throws SQLException {
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?sslmode=disable";
        try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement s = c.createStatement()) {
            s.execute("SET password_encryption = 'scram-sha-256'");
            s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + ROLE + "') THEN "
                    + "CREATE ROLE " + ROLE + " LOGIN; END IF; END$$");
            // The password lives in the data directory; setting it at each start keeps the two in step.
            s.execute("ALTER ROLE " + ROLE + " PASSWORD '" + password.replace("'", "''") + "'");
            // Least privilege: warden is no superuser; it may create the identities' own roles (CREATEROLE) and
            // grant them one of the mapped roles (ADMIN OPTION), which is all per-identity provisioning needs.
            s.execute("ALTER ROLE " + ROLE + " CREATEROLE");
            // What the README asks of a per-identity login: a DDL COMMIT ends the statement of another identity that
            // waits on its locks and takes no cancel (a loop catching query_canceled). Without it, such a loop made
            // every other identity's DDL COMMIT fail with ddl-commit-waits (a helper's pass, a142 F6).
            s.execute("GRANT pg_signal_backend TO " + ROLE);
            for (String role : List.of(READ_ONLY, READ_WRITE, ADMIN)) {
                s.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + role + "') THEN "
                        + "CREATE ROLE " + role + " NOLOGIN; END IF; END$$");
                s.execute("GRANT " + role + " TO " + ROLE + " WITH ADMIN OPTION");
            }
            for (String database : databases.values()) {
                boolean exists;
                try (var rs = s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + database + "'")) {
                    exists = rs.next();
                }
                if (!exists) {
                    s.execute("CREATE DATABASE " + database + " OWNER " + ROLE);
                }
            }
            if (dataDir != null) {
                closeSuperuser(s, dataDir);
            }
        }
    }

    /** Seeds every distinct database that has no {@code customers} table yet; returns how many it seeded. */
    int seed() throws SQLException {
        int seeded = 0;
        long seed = 42;
        for (String database : databases.values().stream().distinct().toList()) {
            try (Connection c = connect(database)) {
                if (ShopSeed.seedIfEmpty(c, seed++)) {
                    seeded++;
                }
                if (isEmbedded()) {
                    grantTablePrivileges(c);
                }
            }
        }
        return seeded;
    }

    /** What each mapped role may do with the shop's tables; warden owns them, so it grants. Idempotent. */
    private static void grantTablePrivileges(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("GRANT USAGE ON SCHEMA public TO " + READ_ONLY + ", " + READ_WRITE + ", " + ADMIN);
            // The shop's relations, which warden owns: not those an identity made in public (a helper's pass, a118:
            // GRANT ... ON ALL TABLES, refused for a masked dba's table, stopped the demo's next start).
            s.execute("DO $$DECLARE t text; BEGIN FOR t IN SELECT pg_catalog.quote_ident(c.relname) FROM "
                    + "pg_catalog.pg_class c WHERE c.relnamespace = 'public'::pg_catalog.regnamespace AND c.relkind IN "
                    + "('r', 'p', 'v', 'm', 'f') AND pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE') LOOP "
                    + "EXECUTE pg_catalog.format('GRANT SELECT ON public.%s TO " + READ_ONLY + "', t); "
                    + "EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.%s TO " + READ_WRITE
                    + "', t); EXECUTE pg_catalog.format('GRANT ALL ON public.%s TO " + ADMIN + "', t); END LOOP; END$$");
            s.execute("GRANT CREATE ON SCHEMA public TO " + ADMIN);
            // Temporary tables, views and functions only for the roles that may write: the read-only role (the AI
            // agent's) kept the database's default TEMP, which PUBLIC holds (a helper's pass, a146 F3).
            s.execute("DO $$BEGIN EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', "
                    + "pg_catalog.current_database()); EXECUTE pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO "
                    + READ_WRITE + ", " + ADMIN + "', pg_catalog.current_database()); END$$");
            // Not the audit witness's table, which sits here from the first start on: a helper's attacker pass
            // planted heads in it as carol (shop_readwrite), and the real checkpoints were dropped unseen.
            s.execute("DO $$BEGIN IF to_regclass('public.warden_audit_witness') IS NOT NULL THEN REVOKE ALL ON "
                    + "public.warden_audit_witness FROM " + READ_ONLY + ", " + READ_WRITE + ", " + ADMIN
                    + "; END IF; END$$");
        }
    }

    /** A direct connection as the upstream role, bypassing Warden. */
    Connection connect(String database) throws SQLException {
        String sslmode = tls.equals("disable") ? "disable" : "require";
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + database + "?sslmode="
                + sslmode, user, password);
    }

    boolean isEmbedded() {
        return embedded != null;
    }

    String host() {
        return host;
    }

    int port() {
        return port;
    }

    String user() {
        return user;
    }

    String password() {
        return password;
    }

    /** The policy's {@code upstream.tls}: disable, require or verify-full. */
    String tls() {
        return tls;
    }

    /** Upstream database per environment ({@code staging}, {@code prod}). */
    Map<String, String> databases() {
        return databases;
    }

    @Override
    public void close() {
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot stop the demo PostgreSQL", e);
            }
        }
    }
}
