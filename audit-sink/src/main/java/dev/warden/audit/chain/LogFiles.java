package dev.warden.audit.chain;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.audit.event.CanonicalJson;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Names and order of log files: {@code audit-<first seq, 12 digits>.jsonl}, or {@code audit-<seq>.<n>.jsonl}
 * when a file of that name already exists (a previous attempt that wrote no complete record). Files are
 * ordered by seq, then n.
 */
public final class LogFiles {

    private static final Pattern NAME = Pattern.compile("audit-(\\d{12,})(?:\\.(\\d+))?\\.jsonl");

    private LogFiles() {
    }

    /** A log file and what its name says. */
    public record LogFile(Path path, long firstSeq, int attempt) {
        public String name() {
            return path.getFileName().toString();
        }
    }

    public static String name(long firstSeq, int attempt) {
        return attempt == 0 ? String.format("audit-%012d.jsonl", firstSeq)
                : String.format("audit-%012d.%d.jsonl", firstSeq, attempt);
    }

    public static Optional<LogFile> parse(Path path) {
        Matcher m = NAME.matcher(path.getFileName().toString());
        if (!m.matches()) {
            return Optional.empty();
        }
        int attempt = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
        return Optional.of(new LogFile(path, Long.parseLong(m.group(1)), attempt));
    }

    /** The log files in {@code dir}, oldest first; an absent directory has none. */
    public static List<LogFile> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<LogFile> files = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            entries.forEach(p -> parse(p).ifPresent(files::add));
        }
        files.sort(Comparator.comparingLong(LogFile::firstSeq).thenComparingInt(LogFile::attempt));
        return files;
    }

    /** The end of a file: its last complete line (null if none) and the torn bytes after it (null if none). */
    public record Ending(byte[] lastLine, TornTail torn) {
    }

    /** Reads backwards from the end, so resuming a large file costs one record, not the file. */
    public static Ending ending(Path file) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long size = raf.length();
            long lastNewline = findNewlineBefore(raf, size);
            TornTail torn = null;
            if (lastNewline + 1 < size) {
                long offset = lastNewline + 1;
                byte[] tornBytes = read(raf, offset, size - offset);
                torn = new TornTail(file.getFileName().toString(), offset, tornBytes.length,
                        CanonicalJson.sha256(tornBytes));
            }
            if (lastNewline < 0) {
                return new Ending(null, torn);
            }
            long previousNewline = findNewlineBefore(raf, lastNewline);
            byte[] line = read(raf, previousNewline + 1, lastNewline - previousNewline - 1);
            return new Ending(line, torn);
        }
    }

    private static final byte[] CHECKPOINT_TYPE = "\"type\":\"checkpoint\"".getBytes(StandardCharsets.US_ASCII);

    /**
     * The seq of the last checkpoint in {@code file}, or -1 if it holds none. Reads complete lines backwards from
     * the end and stops at the first checkpoint, so it costs the file's unsigned tail (at most
     * {@code checkpoint_every} records, or a checkpoint interval's worth), not the file.
     */
    public static long lastCheckpointSeq(Path file) throws IOException {
        return lastCheckpoint(file).map(LastCheckpoint::seq).orElse(-1L);
    }

    /** The last checkpoint of a file: its seq, whether it is a clean stop's final one, and where its line ends. */
    public record LastCheckpoint(long seq, boolean fin, long endOffset) {
    }

    /** Like {@link #lastCheckpointSeq}, with whether that checkpoint is final and where it ends. */
    public static Optional<LastCheckpoint> lastCheckpoint(Path file) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long end = findNewlineBefore(raf, raf.length());
            while (end >= 0) {
                long start = findNewlineBefore(raf, end) + 1;
                byte[] line = read(raf, start, end - start);
                // Quotes inside JSON strings are escaped, so only a key can hold these bytes: parse to be sure.
                if (contains(line, CHECKPOINT_TYPE)) {
                    JsonNode record = parseOrNull(line);
                    if (record != null && record.path("type").asText("").equals(RecordChain.CHECKPOINT)) {
                        return Optional.of(new LastCheckpoint(record.path("seq").asLong(-1),
                                record.path(RecordChain.FINAL).asBoolean(false), end));
                    }
                }
                end = start - 1;
            }
            return Optional.empty();
        }
    }

    /** The 1-based number of the line that starts at byte {@code offset} of {@code file}. */
    public static int lineAt(Path file, long offset) throws IOException {
        int line = 1;
        try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 65536)) {
            for (long i = 0; i < offset; i++) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                if (b == '\n') {
                    line++;
                }
            }
        }
        return line;
    }

    /** One complete record of a log directory found by seq: its file, 1-based line, and bytes (no newline). */
    public record Found(LogFile file, int line, byte[] bytes) {
    }

    /**
     * The record with {@code seq}: reads the one file whose name says it starts at or before it, line by line
     * (one line in memory at a time). Empty when the log does not hold it; the record found is the first line
     * that names that seq.
     */
    public static Optional<Found> recordAt(Path dir, long seq) throws IOException {
        List<LogFile> files = list(dir);
        for (int i = files.size() - 1; i >= 0; i--) {
            LogFile file = files.get(i);
            if (file.firstSeq() > seq) {
                continue;
            }
            byte[] seqKey = ("\"seq\":" + seq + ",").getBytes(StandardCharsets.US_ASCII);
            byte[] seqLast = ("\"seq\":" + seq + "}").getBytes(StandardCharsets.US_ASCII);
            try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file.path()), 65536)) {
                java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
                int lineNo = 1;
                int b;
                while ((b = in.read()) >= 0) {
                    if (b != '\n') {
                        line.write(b);
                        continue;
                    }
                    byte[] bytes = line.toByteArray();
                    line.reset();
                    if (contains(bytes, seqKey) || contains(bytes, seqLast)) {
                        JsonNode record = parseOrNull(bytes);
                        if (record != null && record.path("seq").asLong(-1) == seq) {
                            return Optional.of(new Found(file, lineNo, bytes));
                        }
                    }
                    lineNo++;
                }
            }
            if (file.attempt() == 0) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    /** A damaged line is not a checkpoint; it must not stop the log from starting (verify names it). */
    private static JsonNode parseOrNull(byte[] line) {
        try {
            return CanonicalJson.parse(line);
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** The torn bytes of an in-memory file: everything after its last newline, or null. */
    public static TornTail torn(String fileName, byte[] content) {
        int last = content.length - 1;
        while (last >= 0 && content[last] != '\n') {
            last--;
        }
        int offset = last + 1;
        if (offset == content.length) {
            return null;
        }
        return new TornTail(fileName, offset, content.length - offset,
                CanonicalJson.sha256(content, offset, content.length - offset));
    }

    private static long findNewlineBefore(RandomAccessFile raf, long end) throws IOException {
        byte[] buffer = new byte[8192];
        long position = end;
        while (position > 0) {
            int n = (int) Math.min(buffer.length, position);
            position -= n;
            raf.seek(position);
            raf.readFully(buffer, 0, n);
            for (int i = n - 1; i >= 0; i--) {
                if (buffer[i] == '\n') {
                    return position + i;
                }
            }
        }
        return -1;
    }

    private static byte[] read(RandomAccessFile raf, long offset, long length) throws IOException {
        if (length > Integer.MAX_VALUE - 16) {
            throw new IOException("a line of " + length + " bytes is not an audit record");
        }
        byte[] bytes = new byte[(int) length];
        raf.seek(offset);
        raf.readFully(bytes);
        return bytes;
    }
}
