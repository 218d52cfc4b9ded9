package dev.warden.proxy.approvals;

import dev.warden.config.ApprovalSettings;
import dev.warden.identity.Identity;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where approval records live. Every change is a compare-and-set on {@link ApprovalRecord#version()}, so
 * concurrent deciders (two approvers, an approver and the expiry, two Warden instances) cannot both win.
 *
 * <p>"The same person" below is {@link ApprovalService#sameIdentity}: the same subject at the same issuer, or the
 * same user name without regard to case. Lookups that let a statement run ({@link #approved}) and the bound on
 * pending requests ({@link #create}) search the requester's own records directly: how many requests others have
 * filed never changes what they find (an attacker's flood of 200 pending requests once pushed every approved
 * grant out of a search of the newest 200 records).
 */
public interface ApprovalStore extends AutoCloseable {

    /**
     * Stores a new pending record, unless the same person already has {@code maxPending} pending requests that
     * have not expired at {@code now} (a request past its expiry counts no more, even if no instance has marked it
     * expired yet). The check and the insert are one step for this store's writers.
     *
     * @return false, having stored nothing, when the requester is at the bound
     */
    boolean create(ApprovalRecord record, int maxPending, Instant now) throws IOException;

    /** How many pending requests the same person as {@code requester} has that have not expired at {@code now}. */
    int pending(Identity requester, Instant now) throws IOException;

    /**
     * Replaces the stored record whose version is {@code next.version() - 1} by {@code next}.
     *
     * @return false if the stored version was another (someone else changed it first)
     */
    boolean update(ApprovalRecord next) throws IOException;

    Optional<ApprovalRecord> load(String id) throws IOException;

    /**
     * All pending records, then the most recently created decided ones, up to {@code limit} in all. Pending ones
     * take turns by requester (user name without case): every requester's newest, then every requester's second
     * newest, and so on, newest first within a turn; so a few people at their bound cannot fill the list. Ties of
     * creation time are broken by id, so the order is the same on every call.
     */
    List<ApprovalRecord> list(int limit) throws IOException;

    /**
     * As {@link #list(int)}, of the records {@code viewer} may see ({@link ApprovalService#visibleTo}: their own,
     * and those whose approver groups they are in), chosen before the limit is applied.
     */
    List<ApprovalRecord> list(Identity viewer, int limit) throws IOException;

    /**
     * The pending records {@code viewer} may see, of requests whose requester's user name equals {@code requester}
     * without case when it is given, newest first (creation time, then id), starting after the record {@code before}
     * when it is given (which must exist), up to {@code limit}. Keyed on what never changes (creation time and id), so
     * paging on with the last id of a page neither repeats nor skips a request that is still pending; newer requests
     * are on the first page.
     */
    List<ApprovalRecord> pendingPage(Identity viewer, Optional<String> requester, Optional<String> before, int limit)
            throws IOException;

    /**
     * The approved records of requests the same person as {@code requester} made for the execution whose SHA-256
     * is {@code statementSha256} ({@link ApprovalRequest#statementSha256()}), newest first, whatever their grant has
     * left: the caller checks environment, fingerprint and what is left under compare-and-set.
     */
    List<ApprovalRecord> approved(Identity requester, String statementSha256) throws IOException;

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
