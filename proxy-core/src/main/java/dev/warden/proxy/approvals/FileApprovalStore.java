package dev.warden.proxy.approvals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import dev.warden.audit.sink.OwnerOnlyFiles;
import java.nio.channels.FileChannel;
import dev.warden.identity.Identity;
import dev.warden.proxy.approvals.ApprovalRecord.Status;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON file per request, {@code <dir>/<id>.json}, replaced by writing a temporary file, fsync'ing it and
 * renaming it over the old one: a crash leaves either the old or the new record, never half of one. For one
 * Warden instance: the compare-and-set is only atomic within this process. Files are 0600, the directory 0700.
 *
 * <p>The files are read once, when the store opens, into a small index in memory (id, status, times, requester,
 * approver groups, statement digest; not the statement): listing, finding a requester's approvals and counting
 * their pending requests then read only the files they return, never every file on each call.
 */
final class FileApprovalStore implements ApprovalStore {

    private static final Logger log = LoggerFactory.getLogger(FileApprovalStore.class);

    private final Path dir;
    /** Every record's summary by id; guarded by {@code this}. */
    private final Map<String, Entry> index = new HashMap<>();

    /** What the index keeps of a record: enough to choose which files to read. */
    private record Entry(String id, Status status, Instant createdAt, Instant expiresAt, Identity requester,
                         Set<String> approvers, String statementSha256) {

        static Entry of(ApprovalRecord r) {
            ApprovalRequest q = r.request();
            return new Entry(q.id(), r.status(), q.createdAt(), q.expiresAt(), q.requester(), q.approvers(),
                    q.statementSha256());
        }
    }

    /** Newest first; equal creation times in the order of their ids, so every listing orders them alike. */
    private static final Comparator<Entry> NEWEST_FIRST = Comparator
            .comparing(Entry::createdAt, Comparator.reverseOrder())
            .thenComparing(Entry::id, Comparator.reverseOrder());

    /** Pending first (newest first: reads like an inbox), then decided ones, newest first. */
    private static final Comparator<Entry> PENDING_FIRST = Comparator.comparing((Entry e) -> e.status().terminal())
            .thenComparing(Entry::createdAt, Comparator.reverseOrder());

    FileApprovalStore(Path dir) throws IOException {
        this.dir = dir;
        OwnerOnlyFiles.createDirectories(dir);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "apr_*.json")) {
            for (Path file : files) {
                try {
                    ApprovalRecord r = ApprovalJson.read(Files.readString(file, StandardCharsets.UTF_8));
                    if (file.getFileName().toString().equals(r.id() + ".json")) {
                        index.put(r.id(), Entry.of(r));
                    }
                } catch (IOException e) {
                    // One damaged file must not hide every other request.
                    log.warn("approval file unreadable file={} error={}", file, e.getMessage());
                }
            }
        }
    }

    @Override
    public synchronized boolean create(ApprovalRecord record, int maxPending, Instant now) throws IOException {
        Path file = file(record.id());
        if (Files.exists(file)) {
            throw new IOException("approval " + record.id() + " already exists");
        }
        if (pending(record.request().requester(), now) >= maxPending) {
            return false;
        }
        write(record);
        return true;
    }

    @Override
    public synchronized int pending(Identity requester, Instant now) {
        return (int) index.values().stream().filter(e -> e.status() == Status.PENDING && now.isBefore(e.expiresAt())
                && ApprovalService.sameIdentity(e.requester(), requester)).count();
    }

    @Override
    public synchronized boolean update(ApprovalRecord next) throws IOException {
        Optional<ApprovalRecord> current = load(next.id());
        if (current.isEmpty() || current.get().version() != next.version() - 1) {
            return false;
        }
        write(next);
        return true;
    }

    @Override
    public synchronized Optional<ApprovalRecord> load(String id) throws IOException {
        if (!ApprovalRequest.isValidId(id)) {
            return Optional.empty();
        }
        try {
            ApprovalRecord r = ApprovalJson.read(Files.readString(file(id), StandardCharsets.UTF_8));
            index.put(id, Entry.of(r));
            return Optional.of(r);
        } catch (NoSuchFileException e) {
            index.remove(id);
            return Optional.empty();
        }
    }

    @Override
    public synchronized List<ApprovalRecord> list(int limit) throws IOException {
        return read(inListOrder(index.values()), limit);
    }

    @Override
    public synchronized List<ApprovalRecord> list(Identity viewer, int limit) throws IOException {
        return read(inListOrder(index.values().stream()
                .filter(e -> ApprovalService.visibleTo(e.requester(), e.approvers(), viewer)).toList()), limit);
    }

    @Override
    public synchronized List<ApprovalRecord> pendingPage(Identity viewer, Optional<String> requester,
                                                         Optional<String> before, int limit) throws IOException {
        Optional<Entry> after = before.map(index::get);
        if (before.isPresent() && after.get() == null) {
            throw new IOException("no approval request " + before.get() + " to page on from");
        }
        return read(index.values().stream()
                .filter(e -> e.status() == Status.PENDING
                        && ApprovalService.visibleTo(e.requester(), e.approvers(), viewer)
                        && requester.map(name -> ApprovalService.samePerson(e.requester().username(), name)).orElse(true)
                        && after.map(cursor -> NEWEST_FIRST.compare(e, cursor) > 0).orElse(true))
                .sorted(NEWEST_FIRST).toList(), limit);
    }

    /**
     * Pending entries taking turns by requester (see {@link ApprovalStore#list(int)}), then decided ones newest first.
     */
    private static List<Entry> inListOrder(Collection<Entry> entries) {
        record Turn(Entry entry, int turn) {
        }
        Map<String, Integer> turns = new HashMap<>();
        List<Turn> pending = new ArrayList<>();
        List<Entry> decided = new ArrayList<>();
        for (Entry e : entries.stream().sorted(NEWEST_FIRST).toList()) {
            if (e.status().terminal()) {
                decided.add(e);
            } else {
                pending.add(new Turn(e, turns.merge(e.requester().username().toLowerCase(Locale.ROOT), 1,
                        Integer::sum)));
            }
        }
        List<Entry> out = new ArrayList<>(entries.size());
        pending.stream().sorted(Comparator.comparingInt(Turn::turn).thenComparing(Turn::entry, NEWEST_FIRST))
                .forEach(t -> out.add(t.entry()));
        out.addAll(decided);
        return out;
    }

    @Override
    public synchronized List<ApprovalRecord> approved(Identity requester, String statementSha256)
            throws IOException {
        return read(index.values().stream()
                .filter(e -> e.status() == Status.APPROVED && e.statementSha256().equals(statementSha256)
                        && ApprovalService.sameIdentity(e.requester(), requester))
                .sorted(PENDING_FIRST).toList(), Integer.MAX_VALUE);
    }

    /** The records of {@code entries}, in their order, up to {@code limit}; a damaged file is skipped. */
    private List<ApprovalRecord> read(List<Entry> entries, int limit) throws IOException {
        List<ApprovalRecord> out = new ArrayList<>();
        for (Entry e : entries) {
            if (out.size() >= limit) {
                break;
            }
            try {
                load(e.id()).ifPresent(out::add);
            } catch (IOException damaged) {
                // One damaged file must not hide every other request.
                log.warn("approval file unreadable approval={} error={}", e.id(), damaged.getMessage());
            }
        }
        return out;
    }

    @Override
    public boolean shared() {
        return false;
    }

    @Override
    public void close() {
    }

    private Path file(String id) {
        return dir.resolve(id + ".json");
    }

    /** Writes the record's file and its index entry. */
    private void write(ApprovalRecord record) throws IOException {
        Path target = file(record.id());
        Path temp = dir.resolve("." + record.id() + ".tmp");
        Files.deleteIfExists(temp);
        // Requests hold statements and names: readable by the owner only, from the first byte written.
        try (FileChannel channel = OwnerOnlyFiles.create(temp)) {
            channel.write(StandardCharsets.UTF_8.encode(ApprovalJson.write(record)));
            channel.force(true);
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        index.put(record.id(), Entry.of(record));
    }

    static Comparator<ApprovalRecord> newestFirst() {
        return Comparator.comparing((ApprovalRecord r) -> r.request().createdAt()).reversed();
    }
}
