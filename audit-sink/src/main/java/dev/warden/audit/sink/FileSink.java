package dev.warden.audit.sink;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.LogFiles.LogFile;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.chain.TornTail;
import dev.warden.audit.event.CanonicalJson;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * JSON lines in a directory, one {@code force} per batch. A file is written by one open only: every start and
 * every recovery from a failed write begins a new file, so a file that was once closed is never written again.
 */
public final class FileSink implements AuditSink {

    private final Path dir;
    private final long rotateBytes;
    private final Duration rotateInterval;
    private final AtomicLong forces = new AtomicLong();

    // Volatile: the audit log's writer may fsync (sync()) while another thread appends under the log's lock.
    private volatile FileChannel channel;
    private long size;
    private long openedAtNanos;
    private volatile boolean unsynced;
    /**
     * Lines are copied here and written from it: a direct buffer, reused, since the JDK copies a heap buffer into
     * a direct one for each write(2). One thread writes at a time: the log's writer, or an event loop holding the
     * log's lock ({@link #appendInline}).
     */
    private final ByteBuffer out = ByteBuffer.allocateDirect(64 * 1024);

    public FileSink(Path dir, long rotateBytes, Duration rotateInterval) {
        this.dir = dir;
        this.rotateBytes = rotateBytes;
        this.rotateInterval = rotateInterval;
    }

    @Override
    public String name() {
        return "file:" + dir;
    }

    @Override
    public boolean durable() {
        return true;
    }

    public Path dir() {
        return dir;
    }

    /** How many times the sink has called fsync on a log file. */
    public long forces() {
        return forces.get();
    }

    @Override
    public ChainPosition resume() throws IOException {
        closeChannel();
        OwnerOnlyFiles.createDirectories(dir);
        List<LogFile> files = LogFiles.list(dir);
        List<TornTail> torn = new ArrayList<>();
        for (int i = files.size() - 1; i >= 0; i--) {
            LogFiles.Ending ending = LogFiles.ending(files.get(i).path());
            if (ending.torn() != null) {
                torn.add(0, ending.torn());
            }
            if (ending.lastLine() != null) {
                ObjectNode last;
                try {
                    last = CanonicalJson.parse(ending.lastLine());
                } catch (IOException e) {
                    throw new IOException("cannot continue the log: the last record of " + files.get(i).name()
                            + " is not valid JSON; run 'warden audit verify'", e);
                }
                long seq = last.path("seq").asLong(-1);
                if (seq < 1) {
                    throw new IOException("cannot continue the log: the last record of " + files.get(i).name()
                            + " has no seq; run 'warden audit verify'");
                }
                String type = last.path("type").asText("");
                if (type.equals(RecordChain.CHECKPOINT)) {
                    return new ChainPosition(seq, CanonicalJson.sha256(ending.lastLine()), type, seq, torn,
                            last.path(RecordChain.FINAL).asBoolean(false));
                }
                long signedThrough = lastCheckpointSeq(files, i);
                return new ChainPosition(seq, CanonicalJson.sha256(ending.lastLine()), type,
                        Math.min(signedThrough, seq), torn);
            }
        }
        ChainPosition empty = ChainPosition.empty();
        return new ChainPosition(empty.lastSeq(), empty.lastHash(), "", 0, torn);
    }

    /**
     * The seq of the last checkpoint in {@code files[0..upTo]}, newest first; 0 if there is none.
     *
     * @throws RecordsAfterFinalCheckpointException when that checkpoint is a clean stop's final one: whatever
     *     follows it was not written by Warden (a start writes a checkpoint first), and is never adopted as a
     *     crash's unsigned tail
     */
    private static long lastCheckpointSeq(List<LogFile> files, int upTo) throws IOException {
        for (int i = upTo; i >= 0; i--) {
            java.util.Optional<LogFiles.LastCheckpoint> found = LogFiles.lastCheckpoint(files.get(i).path());
            if (found.isEmpty()) {
                continue;
            }
            LogFiles.LastCheckpoint checkpoint = found.get();
            if (checkpoint.fin()) {
                LogFile file = files.get(i);
                int line = LogFiles.lineAt(file.path(), checkpoint.endOffset());
                boolean sameFile = Files.size(file.path()) > checkpoint.endOffset() + 1;
                String next = sameFile ? file.name() + ":" + (line + 1) : files.get(i + 1).name() + ":1";
                throw new RecordsAfterFinalCheckpointException(next, "cannot continue the log: " + next
                        + " (seq " + (checkpoint.seq() + 1) + ") follows the final checkpoint of a clean stop ("
                        + file.name() + ":" + line + ", seq " + checkpoint.seq() + "), and Warden did not write it "
                        + "(a start writes a checkpoint first); run 'warden audit verify', and move the records "
                        + "after seq " + checkpoint.seq() + " out of the log directory to start");
            }
            return checkpoint.seq();
        }
        return 0;
    }

    @Override
    public void write(List<ChainedRecord> records) throws IOException {
        write(records, true);
    }

    /**
     * Writes records in order; with {@code force} they are fsync'd before this returns, without it they are in
     * the operating system's page cache (they survive the process, not the host) until {@link #sync}. A file
     * left for a new one is fsync'd first either way.
     */
    public void write(List<ChainedRecord> records, boolean force) throws IOException {
        write(records, force, true);
    }

    /**
     * Appends records to the open file without an fsync and never opens a new one: for a thread that must not
     * block on a file's creation or fsync (an event loop). The rotation size and interval are then soft: the
     * file may end one batch past them, and the next {@link #write} rotates. The caller checks {@link #room}
     * first; without an open file this fails and writes nothing.
     */
    public void appendInline(List<ChainedRecord> records) throws IOException {
        if (channel == null) {
            throw new IOException("no audit file is open");
        }
        write(records, false, false);
    }

    private void write(List<ChainedRecord> records, boolean force, boolean mayRotate) throws IOException {
        if (records.isEmpty()) {
            return;
        }
        try {
            int from = 0;
            while (from < records.size()) {
                if (channel == null || (mayRotate && rotationDue())) {
                    openNewFile(records.get(from).seq());
                }
                // Fill this file up to the rotation size (at least one record; all of them when it may not rotate),
                // then fsync it.
                int to = from;
                long bytes = 0;
                do {
                    bytes += records.get(to).line().length + 1;
                    to++;
                } while (to < records.size()
                        && (!mayRotate || size + bytes + records.get(to).line().length + 1 <= rotateBytes));
                for (int i = from; i < to; i++) {
                    byte[] line = records.get(i).line();
                    if (out.remaining() < line.length + 1) {
                        drain();
                    }
                    if (out.remaining() < line.length + 1) {
                        // Larger than the buffer: written from the heap (the JDK copies it once more).
                        writeFully(ByteBuffer.wrap(line));
                        out.put((byte) '\n');
                    } else {
                        out.put(line).put((byte) '\n');
                    }
                }
                drain();
                unsynced = true;
                if (force) {
                    force();
                }
                size += bytes;
                from = to;
            }
        } catch (IOException e) {
            // The file may now end in a partial line: never append to it again; resume() starts a new one.
            out.clear();
            closeChannel();
            throw new IOException(reason(e), e);
        }
    }

    /** Writes what {@link #out} holds, in as many write(2) calls as the kernel needs, and empties it. */
    private void drain() throws IOException {
        out.flip();
        try {
            writeFully(out);
        } finally {
            out.clear();
        }
    }

    private void writeFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /**
     * Makes everything written so far durable; a no-op when nothing is waiting. May run while another thread
     * writes (the log serializes writes, not syncs): what that write adds is left for the next sync. Holds this
     * sink's monitor, which closing the file waits for.
     */
    public void sync() throws IOException {
        synchronized (this) {
            FileChannel current = channel;
            if (current == null || !unsynced) {
                return;
            }
            unsynced = false;
            try {
                current.force(false);
                forces.incrementAndGet();
            } catch (IOException e) {
                unsynced = true;
                throw new IOException(reason(e), e);
            }
        }
    }

    /** How many bytes more go into the current file without opening a new one; -1 when one must be opened. */
    public long room() {
        return channel == null || rotationDue() ? -1 : rotateBytes - size;
    }

    /** Whether records were written since the last fsync. */
    public boolean unsynced() {
        return channel != null && unsynced;
    }

    private void force() throws IOException {
        channel.force(false);
        forces.incrementAndGet();
        unsynced = false;
    }

    private boolean rotationDue() {
        if (size >= rotateBytes) {
            return true;
        }
        return !rotateInterval.isZero() && System.nanoTime() - openedAtNanos >= rotateInterval.toNanos();
    }

    private void openNewFile(long firstSeq) throws IOException {
        if (channel != null && unsynced) {
            force();
        }
        closeChannel();
        OwnerOnlyFiles.createDirectories(dir);
        for (int attempt = 0; ; attempt++) {
            Path path = dir.resolve(LogFiles.name(firstSeq, attempt));
            if (Files.exists(path)) {
                continue;
            }
            channel = OwnerOnlyFiles.create(path, StandardOpenOption.APPEND);
            break;
        }
        size = 0;
        openedAtNanos = System.nanoTime();
        // Make the new directory entry durable too, or a crash could lose a whole fsync'd file.
        try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
            directory.force(true);
        } catch (IOException e) {
            // Some file systems cannot open a directory; the file's own fsync is the best available then.
        }
    }

    private void closeChannel() {
        if (channel == null) {
            return;
        }
        // This sink's monitor, held by sync(): a file is never closed under an fsync another thread runs.
        synchronized (this) {
            try {
                channel.close();
            } catch (IOException e) {
                // Nothing left to do with a channel that failed to close.
            }
            channel = null;
            unsynced = false;
        }
    }

    static String reason(IOException e) {
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason() + (fs.getFile() != null ? " (" + fs.getFile() + ")" : "");
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    @Override
    public void close() {
        try {
            sync();
        } catch (IOException e) {
            // Closing anyway; the failure was the last chance and there is no caller left to tell.
        }
        closeChannel();
    }
}
