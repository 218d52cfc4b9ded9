package dev.warden.audit.witness;

import dev.warden.audit.sink.AppendOnlyTables;
import dev.warden.config.Secret;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;

/**
 * Heads in a table {@code (chain, seq, hash, ts, key_id, signature)}, one row per checkpoint. Put it in a
 * database the log's host cannot rewrite (ideally not the audited one): a role that may only INSERT and SELECT
 * is enough. Triggers refuse UPDATE, DELETE and TRUNCATE, as for the audit table.
 */
public final class PostgresWitnessStore implements WitnessStore {

    private final Secret url;
    private final String table;
    /** {@link #table} with its schema, once a connection has resolved it ({@link AppendOnlyTables#pinSearchPath}). */
    private String qualified;
    private Connection connection;
    /** See {@link #caution()}; read at each connection. */
    private volatile String caution;

    public PostgresWitnessStore(Secret url, String table) {
        this.url = url;
        this.table = table;
    }

    /**
     * {@code postgres:table at host:port/database} (the URL without its parameters: never a password), so a verifier
     * sees which server it trusted (a helper's pass pointed a locator file at a look-alike table elsewhere).
     */
    @Override
    public String name() {
        String where = url.reveal();
        int params = where.indexOf('?');
        where = params < 0 ? where : where.substring(0, params);
        int at = where.indexOf('@');
        where = at < 0 ? where : where.substring(0, where.indexOf("//") + 2) + where.substring(at + 1);
        return "postgres:" + table + " at " + where.replaceFirst("^jdbc:postgresql://", "");
    }

    @Override
    public Optional<String> caution() {
        return Optional.ofNullable(caution);
    }

    /**
     * Whether the connected role can rewrite the witness table: a superuser, or a member of the role that owns the
     * table or its schema (an owner may disable the append-only triggers, a schema's owner drop the table; in
     * PostgreSQL 15 the owner of a database owns its {@code public} schema). A helper's pass (a119) did so with the
     * demo's witness credentials, and a cut log then verified against the witness.
     */
    private static boolean mayRewrite(Connection c, String qualified) throws SQLException {
        try (PreparedStatement q = c.prepareStatement("SELECT r.rolsuper OR pg_catalog.pg_has_role(current_user, "
                + "t.relowner, 'USAGE') OR pg_catalog.pg_has_role(current_user, n.nspowner, 'USAGE') FROM "
                + "pg_catalog.pg_class t JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace, pg_catalog.pg_roles "
                + "r WHERE t.oid = pg_catalog.to_regclass(?::pg_catalog.text) AND r.rolname = current_user")) {
            q.setString(1, qualified);
            try (ResultSet rs = q.executeQuery()) {
                return !rs.next() || rs.getBoolean(1);
            }
        }
    }

    /** How many of the append-only triggers ({@link AppendOnlyTables#refuseChanges}) the table has switched on. */
    private static int guardsOn(Connection c, String qualified) throws SQLException {
        try (PreparedStatement q = c.prepareStatement("SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = "
                + "pg_catalog.to_regclass(?::pg_catalog.text) AND tgname LIKE '%append_only%' "
                + "AND tgenabled <> 'D'")) {
            q.setString(1, qualified);
            try (ResultSet rs = q.executeQuery()) {
                return rs.next() ? rs.getInt(1) : 0;
            }
        }
    }

    @Override
    public synchronized void publish(WitnessHead head) throws IOException {
        try {
            Connection c = connection();
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + qualified
                    + " (chain, seq, hash, ts, key_id, signature) VALUES (?, ?, ?, ?, ?, ?) "
                    + "ON CONFLICT (chain, seq) DO NOTHING")) {
                insert.setString(1, head.chain());
                insert.setLong(2, head.seq());
                insert.setString(3, head.hash());
                insert.setObject(4, OffsetDateTime.ofInstant(head.ts(), ZoneOffset.UTC));
                insert.setString(5, head.keyId());
                insert.setString(6, head.signature());
                if (insert.executeUpdate() == 0) {
                    requireSame(c, head);
                }
            }
        } catch (SQLException e) {
            drop();
            throw new IOException(AppendOnlyTables.message(e), e);
        }
    }

    /**
     * The row at {@code head}'s chain and seq, there before it (a publish again after a restart, or someone who may
     * write the table): the same head, or an error. A row planted ahead of the log's checkpoints otherwise took
     * their places with no error, and every real head at those seqs was dropped unseen (a helper's attacker pass:
     * the demo once granted the witness table to the application roles).
     */
    private void requireSame(Connection c, WitnessHead head) throws SQLException, IOException {
        try (PreparedStatement select = c.prepareStatement("SELECT chain, seq, hash, ts, key_id, signature FROM "
                + qualified + " WHERE chain = ? AND seq = ?")) {
            select.setString(1, head.chain());
            select.setLong(2, head.seq());
            try (ResultSet rs = select.executeQuery()) {
                if (!rs.next()) {
                    throw new IOException("the witness store took no head at seq " + head.seq() + " of chain "
                            + head.chain() + " and holds none there");
                }
                WitnessHead there = head(rs);
                if (!there.hash().equals(head.hash()) || !there.signature().equals(head.signature())) {
                    throw new IOException("the witness store already holds another head at seq " + head.seq()
                            + " of chain " + head.chain() + " (hash " + there.hash() + ", key " + there.keyId()
                            + "): someone else wrote it, or this log was cut and continued after that head was "
                            + "witnessed; this checkpoint is not witnessed, and verify with the witness fails");
                }
            }
        }
    }

    @Override
    public synchronized Optional<WitnessHead> latest(String chain) throws IOException {
        try {
            Connection c = connection();
            try (PreparedStatement select = c.prepareStatement("SELECT chain, seq, hash, ts, key_id, signature FROM "
                    + qualified + " WHERE chain = ? ORDER BY seq DESC LIMIT 1")) {
                select.setString(1, chain);
                try (ResultSet rs = select.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    return Optional.of(head(rs));
                }
            }
        } catch (SQLException e) {
            drop();
            throw new IOException(AppendOnlyTables.message(e), e);
        }
    }

    /**
     * A connection of its own, read through a server-side cursor ({@code fetchSize} rows at a time), so neither
     * a long history nor a long read holds the publisher's connection.
     */
    @Override
    public synchronized Heads heads(String chain, long fromSeq) throws IOException {
        Connection c = null;
        try {
            connection();
            c = AppendOnlyTables.connect(url, "warden-witness");
            AppendOnlyTables.pinSearchPath(c, qualified);
            c.setAutoCommit(false);
            c.setReadOnly(true);
            PreparedStatement select = c.prepareStatement("SELECT chain, seq, hash, ts, key_id, signature FROM "
                    + qualified + " WHERE chain = ? AND seq >= ? ORDER BY seq");
            select.setFetchSize(FETCH_SIZE);
            select.setString(1, chain);
            select.setLong(2, fromSeq);
            ResultSet rs = select.executeQuery();
            Connection open = c;
            return new Heads() {
                @Override
                public WitnessHead next() throws IOException {
                    try {
                        return rs.next() ? head(rs) : null;
                    } catch (SQLException e) {
                        throw new IOException(AppendOnlyTables.message(e), e);
                    }
                }

                @Override
                public void close() {
                    try {
                        open.close();
                    } catch (SQLException e) {
                        // Read-only; nothing to keep.
                    }
                }
            };
        } catch (SQLException e) {
            drop();
            if (c != null) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // Already failing.
                }
            }
            throw new IOException(AppendOnlyTables.message(e), e);
        }
    }

    private static final int FETCH_SIZE = 1000;

    private static WitnessHead head(ResultSet rs) throws SQLException {
        return new WitnessHead(rs.getString(1), rs.getLong(2), rs.getString(3),
                rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getString(6));
    }

    private Connection connection() throws SQLException {
        if (connection != null) {
            return connection;
        }
        Connection c = AppendOnlyTables.connect(url, "warden-witness");
        try {
            qualified = AppendOnlyTables.pinSearchPath(c, table);
            createTableIfMissing(c);
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        connection = c;
        return c;
    }

    /**
     * Makes the table with its append-only triggers when it is missing (or the role may rewrite it anyway). A table
     * another role owns, to which this one may only append (the set-up the README describes), is left as it is.
     */
    private void createTableIfMissing(Connection c) throws SQLException {
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_advisory_xact_lock(hashtext('" + table + "'))");
            boolean exists;
            try (ResultSet rs = s.executeQuery("SELECT pg_catalog.to_regclass('" + qualified.replace("'", "''")
                    + "'::pg_catalog.text) IS NOT NULL")) {
                exists = rs.next() && rs.getBoolean(1);
            }
            if (!exists || mayRewrite(c, qualified)) {
                s.execute("CREATE TABLE IF NOT EXISTS " + qualified + " (chain text NOT NULL, seq bigint NOT NULL, "
                        + "hash text NOT NULL, ts timestamptz NOT NULL, key_id text NOT NULL, signature text NOT "
                        + "NULL, PRIMARY KEY (chain, seq))");
                AppendOnlyTables.refuseChanges(s, table, qualified, "witness", "", true);
            }
            caution = mayRewrite(c, qualified) ? "the witness table " + qualified + " can be rewritten by the role "
                    + "this connects as (it owns the table or its schema, or is a superuser): the heads prove only "
                    + "what that role's holders could not change; own it by another role and grant this one SELECT "
                    + "and INSERT only" : guardsOn(c, qualified) < 2 ? "the witness table " + qualified + " lacks its "
                    + "append-only triggers (or has them switched off): its owner may have changed heads" : null;
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    private void drop() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // Already broken; the next call connects again.
            }
            connection = null;
        }
    }

    @Override
    public synchronized void close() {
        drop();
    }
}
