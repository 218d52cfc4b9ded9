package dev.warden.proxy.approvals;

import dev.warden.config.ApprovalSettings;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Where approval records live. Every change is a compare-and-set on {@link ApprovalRecord#version()}, so
 * concurrent deciders (two approvers, an approver and the expiry, two Warden instances) cannot both win.
 */
public interface ApprovalStore extends AutoCloseable {

    /** Stores a new record. */
    void create(ApprovalRecord record) throws IOException;

    /**
     * Replaces the stored record whose version is {@code next.version() - 1} by {@code next}.
     *
     * @return false if the stored version was another (someone else changed it first)
     */
    boolean update(ApprovalRecord next) throws IOException;

    Optional<ApprovalRecord> load(String id) throws IOException;

    /** All pending records, then the most recently created decided ones, up to {@code limit} in all. */
    List<ApprovalRecord> list(int limit) throws IOException;

    /** True when other Warden instances may change records behind this one's back (they must be polled). */
    boolean shared();

    @Override
    void close();

    /** The store the policy configures. */
    static ApprovalStore open(ApprovalSettings.Store config) throws IOException {
        if (config instanceof ApprovalSettings.Store.PostgresStore pg) {
            return new PostgresApprovalStore(pg.url(), pg.table());
        }
        return new FileApprovalStore(((ApprovalSettings.Store.FileStore) config).dir());
    }
}
