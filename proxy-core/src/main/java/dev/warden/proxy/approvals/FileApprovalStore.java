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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON file per request, {@code <dir>/<id>.json}, replaced by writing a temporary file, fsync'ing it and
 * renaming it over the old one: a crash leaves either the old or the new record, never half of one. For one
 * Warden instance: the compare-and-set is only atomic within this process. Files are 0600, the directory 0700.
 */
final class FileApprovalStore implements ApprovalStore {

    private static final Logger log = LoggerFactory.getLogger(FileApprovalStore.class);

    private final Path dir;

    FileApprovalStore(Path dir) throws IOException {
        this.dir = dir;
        OwnerOnlyFiles.createDirectories(dir);
    }

    @Override
    public synchronized void create(ApprovalRecord record) throws IOException {
        Path file = file(record.id());
        if (Files.exists(file)) {
            throw new IOException("approval " + record.id() + " already exists");
        }
        write(record);
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
            return Optional.of(ApprovalJson.read(Files.readString(file(id), StandardCharsets.UTF_8)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public synchronized List<ApprovalRecord> list(int limit) throws IOException {
        List<ApprovalRecord> all = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "apr_*.json")) {
            for (Path file : files) {
                try {
                    all.add(ApprovalJson.read(Files.readString(file, StandardCharsets.UTF_8)));
                } catch (IOException e) {
                    // One damaged file must not hide every other request.
                    log.warn("approval file unreadable file={} error={}", file, e.getMessage());
                }
            }
        }
        return PostgresApprovalStore.pendingFirst(all, limit);
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
    }

    static Comparator<ApprovalRecord> newestFirst() {
        return Comparator.comparing((ApprovalRecord r) -> r.request().createdAt()).reversed();
    }
}
