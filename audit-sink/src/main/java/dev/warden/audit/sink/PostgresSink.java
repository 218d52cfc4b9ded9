package dev.warden.audit.sink;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.config.Secret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

/**
 * An append-only table in a separate audit database: {@code seq bigint primary key, ts, type, session,
 * record jsonb, hash text}. Triggers refuse UPDATE, DELETE and TRUNCATE (an owner can still drop them: the
 * database's own privileges must keep Warden's role from owning the table in earnest deployments). One
 * transaction per batch; durable once committed. {@code jsonb} does not keep the record's bytes, but the
 * canonical form is a function of the content, so re-encoding {@code record} reproduces {@code hash}.
 */
public final class PostgresSink implements AuditSink {

    private final Secret url;
    private final String table;
    /** {@link #table} with its schema, once a connection has resolved it ({@link AppendOnlyTables#pinSearchPath}). */
    private String qualified;
    private Connection connection;

    public PostgresSink(Secret url, String table) {
        this.url = url;
        this.table = table;
    }

    @Override
    public String name() {
        return "postgres:" + table;
    }

    @Override
    public boolean durable() {
        return true;
    }

    @Override
    public ChainPosition resume() throws IOException {
        try {
            Connection c = connection();
            // The last checkpoint by a backward scan of the seq order, which stops at the first one it meets.
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT t.seq, t.hash, t.type, c.seq AS signed_through, "
                         + "coalesce((c.record->>'final')::boolean, false) FROM " + qualified + " t LEFT JOIN LATERAL "
                         + "(SELECT seq, record FROM " + qualified + " WHERE type = 'checkpoint' ORDER BY seq DESC "
                         + "LIMIT 1) c ON true ORDER BY t.seq DESC LIMIT 1")) {
                ChainPosition position = ChainPosition.empty();
                if (rs.next()) {
                    long lastSeq = rs.getLong(1);
                    long signedThrough = rs.getLong(4);
                    boolean endsFinal = rs.getBoolean(5);
                    if (endsFinal && lastSeq > signedThrough) {
                        String where = name() + " seq " + (signedThrough + 1);
                        c.commit();
                        throw new RecordsAfterFinalCheckpointException(where, "cannot continue the chain: " + where
                                + " follows the final checkpoint of a clean stop (seq " + signedThrough + "), and "
                                + "Warden did not write it (a start writes a checkpoint first)");
                    }
                    position = new ChainPosition(lastSeq, rs.getString(2), rs.getString(3), signedThrough,
                            List.of(), endsFinal);
                }
                c.commit();
                return position;
            }
        } catch (SQLException e) {
            drop();
            throw new IOException(AppendOnlyTables.message(e), e);
        }
    }

    @Override
    public void write(List<ChainedRecord> records) throws IOException {
        if (records.isEmpty()) {
            return;
        }
        try {
            Connection c = connection();
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + qualified
                    + " (seq, ts, type, session, record, hash) VALUES (?, ?, ?, ?, ?::jsonb, ?)")) {
                for (ChainedRecord r : records) {
                    insert.setLong(1, r.seq());
                    insert.setObject(2, OffsetDateTime.ofInstant(r.ts(), ZoneOffset.UTC));
                    insert.setString(3, r.type());
                    insert.setString(4, r.session());
                    insert.setString(5, new String(r.line(), StandardCharsets.UTF_8));
                    insert.setString(6, r.hash());
                    insert.addBatch();
                }
                insert.executeBatch();
            }
            c.commit();
        } catch (SQLException e) {
            drop();
            throw new IOException(AppendOnlyTables.message(e), e);
        }
    }

    private Connection connection() throws SQLException {
        if (connection != null) {
            return connection;
        }
        Connection c = AppendOnlyTables.connect(url, "warden-audit");
        try {
            qualified = AppendOnlyTables.pinSearchPath(c, table);
            c.setAutoCommit(false);
            createTableIfMissing(c);
            c.commit();
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        connection = c;
        return c;
    }

    private void createTableIfMissing(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_advisory_xact_lock(hashtext('" + table + "'))");
            s.execute("CREATE TABLE IF NOT EXISTS " + qualified + " (seq bigint PRIMARY KEY, ts timestamptz NOT NULL, "
                    + "type text NOT NULL, session text NOT NULL, record jsonb NOT NULL, hash text NOT NULL)");
            AppendOnlyTables.refuseChanges(s, table, qualified, "audit", "_rows", true);
        }
    }

    private void drop() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // Already broken; the next write connects again.
            }
            connection = null;
        }
    }

    @Override
    public void close() {
        drop();
    }
}
