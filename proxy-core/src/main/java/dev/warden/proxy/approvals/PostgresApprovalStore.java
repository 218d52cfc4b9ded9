package dev.warden.proxy.approvals;

import dev.warden.config.Secret;
import dev.warden.identity.Identity;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records in a PostgreSQL table that several Warden instances share. The compare-and-set is an
 * {@code UPDATE ... WHERE id = ? AND version = ?}; the table is created if missing.
 *
 * <p>Searches by requester, approver group and statement digest read the stored JSON ({@code record::jsonb}), so
 * the table keeps its columns and instances of an older version can share it; two partial indexes (pending
 * requests, approved ones by digest) keep those searches off the rest of the table. A new
 * request's bound on its requester's pending requests is checked and inserted in one transaction under an
 * advisory lock on the requester's name, so instances sharing the table cannot together exceed it.
 *
 * <p>One connection, used by one thread at a time, reopened after a failure: approval traffic is a few
 * statements a minute plus one poll every 500 ms per instance.
 */
final class PostgresApprovalStore implements ApprovalStore {

    private static final Logger log = LoggerFactory.getLogger(PostgresApprovalStore.class);

    /** The requester's user name, the subject and issuer, as the record stores them. */
    private static final String USERNAME = "(record::jsonb -> 'requester' ->> 'username')";
    /**
     * A user name with ASCII letters lower-cased and nothing else (as {@link ApprovalService#samePerson} compares):
     * {@code lower()} folds by the database's locale, where KELVIN SIGN is {@code k} (an attacker's pass, a147 F5).
     */
    private static final String FOLDED = "translate(%s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";
    private static final String SAME_PERSON = "(" + FOLDED.formatted(USERNAME) + " = " + FOLDED.formatted("?")
            + " OR ((record::jsonb -> 'requester' "
            + "->> 'subject') = ? AND (record::jsonb -> 'requester' ->> 'issuer') = ?))";
    private static final String DIGEST = "(record::jsonb ->> 'statement_sha256')";

    private final Secret url;
    /** The table's name as configured: the advisory lock's key, the same for every instance and version. */
    private final String configuredTable;
    /** As configured until the first connection; from then on qualified with its schema ({@link #pinSearchPath}). */
    private volatile String table;
    private Connection connection;

    PostgresApprovalStore(Secret url, String configured) throws IOException {
        this(url, configured, SOCKET_TIMEOUT_SECONDS);
    }

    /**
     * How long a read may wait on a silent server before the connection is given up (and opened again for the next
     * call). Every call holds this store's one connection under its monitor, on the threads that file, decide and
     * expire requests: before, one silent connection held every approval (and the admin API) for good.
     */
    static final int SOCKET_TIMEOUT_SECONDS = 30;

    private final int socketTimeoutSeconds;

    PostgresApprovalStore(Secret url, String configured, int socketTimeoutSeconds) throws IOException {
        this.url = url;
        this.socketTimeoutSeconds = socketTimeoutSeconds;
        this.configuredTable = configured;
        this.table = configured;
        run(c -> {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS " + table + " (id text PRIMARY KEY, status text NOT NULL, "
                        + "version bigint NOT NULL, created_at timestamptz NOT NULL, "
                        + "updated_at timestamptz NOT NULL DEFAULT now(), record text NOT NULL)");
            } catch (SQLException e) {
                // Two instances starting together may race on CREATE TABLE; the loser sees a duplicate.
                if (!"23505".equals(e.getSQLState()) && !"42P07".equals(e.getSQLState())) {
                    throw e;
                }
            }
            String bare = table.substring(table.lastIndexOf('.') + 1);
            for (String index : List.of(
                    // Pending rows are few (each person has a bound), so counting a requester's reads only them.
                    "CREATE INDEX IF NOT EXISTS " + bare + "_pending ON " + table + " (created_at) WHERE status = "
                            + "'PENDING'",
                    "CREATE INDEX IF NOT EXISTS " + bare + "_approved_by_digest ON " + table + " (" + DIGEST
                            + ") WHERE status = 'APPROVED'")) {
                try (Statement s = c.createStatement()) {
                    s.execute(index);
                } catch (SQLException e) {
                    if (!"23505".equals(e.getSQLState()) && !"42P07".equals(e.getSQLState())) {
                        throw e;
                    }
                }
            }
            return null;
        });
    }

    @Override
    public boolean create(ApprovalRecord record, int maxPending, Instant now) throws IOException {
        Identity requester = record.request().requester();
        return run(c -> {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement lock = c.prepareStatement(
                        "SELECT pg_advisory_xact_lock(hashtext(?), hashtext(" + FOLDED.formatted("?") + "))")) {
                    lock.setString(1, configuredTable);
                    lock.setString(2, requester.username());
                    lock.execute();
                }
                if (pending(c, requester, now) >= maxPending) {
                    c.rollback();
                    return false;
                }
                try (PreparedStatement s = c.prepareStatement("INSERT INTO " + table
                        + " (id, status, version, created_at, record) VALUES (?, ?, ?, ?, ?)")) {
                    s.setString(1, record.id());
                    s.setString(2, record.status().name());
                    s.setLong(3, record.version());
                    s.setTimestamp(4, Timestamp.from(record.request().createdAt()));
                    s.setString(5, ApprovalJson.write(record));
                    s.executeUpdate();
                }
                c.commit();
                return true;
            } catch (SQLException e) {
                try {
                    c.rollback();
                } catch (SQLException also) {
                    e.addSuppressed(also);
                }
                throw e;
            } finally {
                // A broken connection fails here too; run() then closes it and the next call opens another.
                c.setAutoCommit(true);
            }
        });
    }

    @Override
    public int pending(Identity requester, Instant now) throws IOException {
        return run(c -> pending(c, requester, now));
    }

    private int pending(Connection c, Identity requester, Instant now) throws SQLException {
        try (PreparedStatement count = c.prepareStatement("SELECT count(*) FROM " + table
                + " WHERE status = 'PENDING' AND " + SAME_PERSON
                + " AND (record::jsonb ->> 'expires_at')::timestamptz > ?")) {
            int i = samePerson(count, 1, requester);
            count.setObject(i, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
            try (ResultSet rs = count.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** Sets the parameters of {@link #SAME_PERSON} from {@code first}; returns the next parameter's index. */
    private static int samePerson(PreparedStatement s, int first, Identity who) throws SQLException {
        s.setString(first, who.username());
        s.setString(first + 1, who.subject());
        s.setString(first + 2, who.issuer());
        return first + 3;
    }

    @Override
    public boolean update(ApprovalRecord next) throws IOException {
        return run(c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE " + table
                    + " SET status = ?, version = ?, record = ?, updated_at = now() WHERE id = ? AND version = ?")) {
                s.setString(1, next.status().name());
                s.setLong(2, next.version());
                s.setString(3, ApprovalJson.write(next));
                s.setString(4, next.id());
                s.setLong(5, next.version() - 1);
                return s.executeUpdate() == 1;
            }
        });
    }

    @Override
    public Optional<ApprovalRecord> load(String id) throws IOException {
        if (!ApprovalRequest.isValidId(id)) {
            return Optional.empty();
        }
        String json = run(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT record FROM " + table + " WHERE id = ?")) {
                s.setString(1, id);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? rs.getString(1) : null;
                }
            }
        });
        return json == null ? Optional.empty() : Optional.of(ApprovalJson.read(json));
    }

    @Override
    public List<ApprovalRecord> list(int limit) throws IOException {
        return select(listed("true"), s -> {
            s.setInt(1, limit);
            s.setInt(2, limit);
        });
    }

    @Override
    public List<ApprovalRecord> list(Identity viewer, int limit) throws IOException {
        return select(listed(VISIBLE), s -> {
            int i = visibleTo(s, visibleTo(s, 1, viewer), viewer);
            s.setInt(i, limit);
            s.setInt(i + 1, limit);
        });
    }

    /**
     * {@link ApprovalStore#list(int)}'s order in SQL: pending rows numbered by requester, newest first, and listed by
     * that turn; then the newest decided ones. Parameters: {@code where}'s twice, then two limits.
     */
    private String listed(String where) {
        return "SELECT record FROM (SELECT record, 0 AS part, row_number() OVER (PARTITION BY "
                + FOLDED.formatted(USERNAME)
                + " ORDER BY created_at DESC, id COLLATE \"C\" DESC) AS turn, created_at, id FROM " + table
                + " WHERE status = 'PENDING' AND " + where
                + " UNION ALL (SELECT record, 1, 0, created_at, id FROM " + table + " WHERE status <> 'PENDING' AND "
                + where + " ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT ?)) listed"
                + " ORDER BY part, turn, created_at DESC, id COLLATE \"C\" DESC LIMIT ?";
    }

    @Override
    public List<ApprovalRecord> pendingPage(Identity viewer, Optional<String> requester, Optional<String> before,
                                            int limit) throws IOException {
        if (before.isPresent() && load(before.get()).isEmpty()) {
            throw new IOException("no approval request " + before.get() + " to page on from");
        }
        // The cursor's position is read in the same statement, from the column the order uses.
        return select("SELECT record FROM " + table + " WHERE status = 'PENDING' AND " + VISIBLE
                + (requester.isPresent() ? " AND " + FOLDED.formatted(USERNAME) + " = " + FOLDED.formatted("?") : "")
                + (before.isPresent() ? " AND (created_at, id COLLATE \"C\") < (SELECT created_at, id COLLATE \"C\""
                        + " FROM " + table + " WHERE id = ?)" : "")
                + " ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT ?", s -> {
                    int i = visibleTo(s, 1, viewer);
                    if (requester.isPresent()) {
                        s.setString(i++, requester.get());
                    }
                    if (before.isPresent()) {
                        s.setString(i++, before.get());
                    }
                    s.setInt(i, limit);
                });
    }

    /** Records {@code viewer} may see: their own, and those of their approver groups. */
    private static final String VISIBLE = "(" + SAME_PERSON + " OR EXISTS (SELECT 1 FROM "
            + "jsonb_array_elements_text(record::jsonb -> 'approvers') g WHERE g = ANY (?)))";

    /** Sets the parameters of {@link #VISIBLE} from {@code first}; returns the next parameter's index. */
    private static int visibleTo(PreparedStatement s, int first, Identity viewer) throws SQLException {
        int i = samePerson(s, first, viewer);
        s.setArray(i, s.getConnection().createArrayOf("text", viewer.groups().toArray()));
        return i + 1;
    }

    @Override
    public List<ApprovalRecord> approved(Identity requester, String statementSha256) throws IOException {
        return select("SELECT record FROM " + table + " WHERE status = 'APPROVED' AND " + DIGEST + " = ? AND "
                + SAME_PERSON + " ORDER BY created_at DESC", s -> {
                    s.setString(1, statementSha256);
                    samePerson(s, 2, requester);
                });
    }

    private interface Parameters {
        void set(PreparedStatement s) throws SQLException;
    }

    private List<ApprovalRecord> select(String sql, Parameters parameters) throws IOException {
        List<String> rows = run(c -> {
            try (PreparedStatement s = c.prepareStatement(sql)) {
                parameters.set(s);
                List<String> out = new ArrayList<>();
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
                return out;
            }
        });
        List<ApprovalRecord> records = new ArrayList<>();
        for (String json : rows) {
            records.add(ApprovalJson.read(json));
        }
        return records;
    }

    @Override
    public boolean shared() {
        return true;
    }

    @Override
    public synchronized void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                log.debug("closing approvals connection failed error={}", e.getMessage());
            }
            connection = null;
        }
    }

    /**
     * The store's role owns the approvals table, so whatever runs as it can approve anything. The table may live in
     * the application's database, where an identity may create in a schema on this login's default search_path
     * ({@code public}): an operator {@code =(text, varchar)} or a function {@code translate(varchar, ...)} there is an
     * exact match for this store's {@code id = ?} and {@code translate(?, ...)} (pgJDBC sends strings as varchar) and would win over
     * pg_catalog's. So the table is qualified with the schema the default search_path gives it once, and the
     * connection then resolves every other name in pg_catalog alone.
     */
    private void pinSearchPath(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            if (table.indexOf('.') < 0) {
                try (java.sql.ResultSet rs = s.executeQuery(
                        "SELECT pg_catalog.quote_ident(pg_catalog.current_schema())")) {
                    String schema = rs.next() ? rs.getString(1) : null;
                    if (schema == null) {
                        throw new SQLException("no schema on the search_path of the approvals store's login holds "
                                + "table " + table + "; name it with its schema (approvals.store.table)", "3F000");
                    }
                    table = schema + "." + table;
                }
            }
            s.execute("SET search_path = pg_catalog");
        }
    }

    private interface Work<T> {
        T apply(Connection c) throws SQLException;
    }

    private synchronized <T> T run(Work<T> work) throws IOException {
        try {
            if (connection == null || connection.isClosed()) {
                connection = dev.warden.audit.sink.AppendOnlyTables.connect(url, "warden-approvals",
                        socketTimeoutSeconds);
                connection.setAutoCommit(true);
                pinSearchPath(connection);
            }
            return work.apply(connection);
        } catch (SQLException e) {
            close();
            // The message names the table and the SQLSTATE, never the URL (it may hold a password).
            throw new IOException("approvals table " + table + ": " + e.getMessage() + " (SQLSTATE "
                    + e.getSQLState() + ")", e);
        }
    }
}
