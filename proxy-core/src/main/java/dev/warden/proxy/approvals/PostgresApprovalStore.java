package dev.warden.proxy.approvals;

import dev.warden.config.Secret;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records in a PostgreSQL table that several Warden instances share. The compare-and-set is an
 * {@code UPDATE ... WHERE id = ? AND version = ?}; the table is created if missing.
 *
 * <p>One connection, used by one thread at a time, reopened after a failure: approval traffic is a few
 * statements a minute plus one poll every 500 ms per instance.
 */
final class PostgresApprovalStore implements ApprovalStore {

    private static final Logger log = LoggerFactory.getLogger(PostgresApprovalStore.class);

    private final Secret url;
    private final String table;
    private Connection connection;

    PostgresApprovalStore(Secret url, String table) throws IOException {
        this.url = url;
        this.table = table;
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
            return null;
        });
    }

    @Override
    public void create(ApprovalRecord record) throws IOException {
        run(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO " + table
                    + " (id, status, version, created_at, record) VALUES (?, ?, ?, ?, ?)")) {
                s.setString(1, record.id());
                s.setString(2, record.status().name());
                s.setLong(3, record.version());
                s.setTimestamp(4, Timestamp.from(record.request().createdAt()));
                s.setString(5, ApprovalJson.write(record));
                s.executeUpdate();
            }
            return null;
        });
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
        List<String> rows = run(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT record FROM " + table
                    + " ORDER BY (status = 'PENDING') DESC, created_at DESC LIMIT ?")) {
                s.setInt(1, limit);
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
        return pendingFirst(records, limit);
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

    /** Pending first (oldest wait first would hide new ones; newest first reads like an inbox), then decided. */
    static List<ApprovalRecord> pendingFirst(List<ApprovalRecord> records, int limit) {
        List<ApprovalRecord> sorted = new ArrayList<>(records);
        sorted.sort(java.util.Comparator.comparing((ApprovalRecord r) -> r.status().terminal())
                .thenComparing(FileApprovalStore.newestFirst()));
        return sorted.size() <= limit ? sorted : List.copyOf(sorted.subList(0, limit));
    }

    private interface Work<T> {
        T apply(Connection c) throws SQLException;
    }

    private synchronized <T> T run(Work<T> work) throws IOException {
        try {
            if (connection == null || connection.isClosed()) {
                connection = DriverManager.getConnection(url.reveal());
                connection.setAutoCommit(true);
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
