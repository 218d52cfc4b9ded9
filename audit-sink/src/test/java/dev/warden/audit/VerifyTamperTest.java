package dev.warden.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.verify.AuditVerifier;
import dev.warden.audit.verify.VerifyReport;
import dev.warden.audit.verify.VerifyReport.Kind;
import dev.warden.audit.verify.VerifyReport.Problem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One log written under concurrent load; each test damages a copy and expects verify to name the record. */
class VerifyTamperTest {

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    private static Path original;
    private static PublicKey publicKey;

    @BeforeAll
    static void writeLog() throws Exception {
        original = shared.resolve("audit");
        Path key = Fixtures.writeKey(shared);
        publicKey = SigningKey.load(key).publicKey();
        try (AuditLog log = AuditLog.open(Fixtures.fileSettings(original, key, 64 * 1024, 100))) {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                String session = "s" + t;
                Thread thread = new Thread(() -> {
                    List<CompletableFuture<Long>> pending = new ArrayList<>();
                    for (int i = 0; i < 500; i++) {
                        pending.add(log.append(Fixtures.query(session, "alice@example.com", "prod",
                                "SELECT name FROM users WHERE id = " + i)));
                    }
                    pending.forEach(CompletableFuture::join);
                });
                threads.add(thread);
                thread.start();
            }
            for (Thread t : threads) {
                t.join();
            }
        }
        assertTrue(LogFiles.list(original).size() >= 4, "the log rotated into several files");
    }

    private Path copy() throws IOException {
        Path dir = tmp.resolve("copy");
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(original)) {
            for (Path f : files.toList()) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
        }
        return dir;
    }

    private static Path file(Path dir, int index) throws IOException {
        return LogFiles.list(dir).get(index).path();
    }

    private static List<String> lines(Path file) throws IOException {
        return new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    private static void write(Path file, List<String> lines) throws IOException {
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    }

    private static long seq(String line) throws IOException {
        return CanonicalJson.parse(line.getBytes(StandardCharsets.UTF_8)).get("seq").asLong();
    }

    private Problem failure(Path dir) throws IOException {
        VerifyReport report = AuditVerifier.verify(dir, publicKey);
        assertFalse(report.passed(), "verify should fail");
        return report.problem().orElseThrow();
    }

    @Test
    void untouchedLogPasses() throws IOException {
        VerifyReport report = AuditVerifier.verify(copy(), publicKey);
        assertTrue(report.passed(), report.summary());
        assertEquals(1 + 4000 + 40 + 1, report.records(), "the chain's opening checkpoint, 4000 events, a checkpoint "
                + "every 100 records, and the final one of the clean stop");
    }

    @Test
    void editingOneByteOfAMiddleRecordNamesIt() throws IOException {
        Path dir = copy();
        Path middle = file(dir, 1);
        List<String> lines = lines(middle);
        String line = lines.get(9);
        lines.set(9, line.replace("SELECT name", "SELECT nane"));
        write(middle, lines);

        Problem p = failure(dir);
        assertEquals(Kind.ALTERED, p.kind());
        assertEquals(middle.getFileName().toString(), p.file());
        assertEquals(10, p.line());
        assertEquals(seq(line), p.seq());
    }

    @Test
    void deletingOneLineNamesTheMissingRecord() throws IOException {
        Path dir = copy();
        Path middle = file(dir, 1);
        List<String> lines = lines(middle);
        long removed = seq(lines.remove(9));
        write(middle, lines);

        Problem p = failure(dir);
        assertEquals(Kind.REMOVED, p.kind());
        assertEquals(10, p.line());
        assertTrue(p.message().startsWith("record " + removed + " missing"), p.toString());
    }

    @Test
    void swappingTwoLinesIsReportedAsReordered() throws IOException {
        Path dir = copy();
        Path middle = file(dir, 1);
        List<String> lines = lines(middle);
        String a = lines.get(9);
        lines.set(9, lines.get(10));
        lines.set(10, a);
        write(middle, lines);

        Problem p = failure(dir);
        assertEquals(Kind.REORDERED, p.kind());
        assertEquals(10, p.line());
        assertEquals(seq(a) + 1, p.seq());
    }

    @Test
    void truncatingTheLastLineMidLineIsReported() throws IOException {
        Path dir = copy();
        Path last = file(dir, LogFiles.list(dir).size() - 1);
        byte[] content = Files.readAllBytes(last);
        Files.write(last, java.util.Arrays.copyOf(content, content.length - 40));

        Problem p = failure(dir);
        assertEquals(Kind.TRUNCATED, p.kind());
        assertEquals(last.getFileName().toString(), p.file());
        assertEquals(lines(last).size(), p.line(), "the cut line is named");
    }

    @Test
    void removingARotatedFileNamesTheGap() throws IOException {
        Path dir = copy();
        LogFiles.LogFile removed = LogFiles.list(dir).get(1);
        LogFiles.LogFile next = LogFiles.list(dir).get(2);
        Files.delete(removed.path());

        Problem p = failure(dir);
        assertEquals(Kind.REMOVED, p.kind());
        assertEquals(next.name(), p.file());
        assertEquals(1, p.line());
        assertEquals("records " + removed.firstSeq() + "-" + (next.firstSeq() - 1) + " missing: expected seq "
                + removed.firstSeq() + " in " + next.name() + ", found " + next.firstSeq() + " (a file removed before "
                + next.name() + "?)", p.message());
    }

    @Test
    void alteringACheckpointSignatureIsReported() throws IOException {
        Path dir = copy();
        Path middle = file(dir, 1);
        List<String> lines = lines(middle);
        int index = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains("\"type\":\"checkpoint\"")) {
                index = i;
                break;
            }
        }
        assertTrue(index >= 0, "the middle file holds a checkpoint");
        String line = lines.get(index);
        int at = line.indexOf("\"signature\":\"") + 20;
        char c = line.charAt(at);
        lines.set(index, line.substring(0, at) + (c == 'A' ? 'B' : 'A') + line.substring(at + 1));
        write(middle, lines);

        Problem p = failure(dir);
        assertEquals(Kind.BAD_SIGNATURE, p.kind());
        assertEquals(index + 1, p.line());
        assertEquals(seq(line), p.seq());
    }

    @Test
    void aLogSignedByAnotherKeyFails() throws IOException {
        VerifyReport report = AuditVerifier.verify(copy(), SigningKey.generate().publicKey());
        assertFalse(report.passed());
        assertEquals(Kind.BAD_SIGNATURE, report.problem().orElseThrow().kind());
        assertTrue(report.problem().orElseThrow().message().contains("not the key given"));
    }

    @Test
    void removingTheFirstFileIsReported() throws IOException {
        Path dir = copy();
        Files.delete(file(dir, 0));
        assertEquals(Kind.REMOVED, failure(dir).kind());
    }

    @Test
    void anEmptyDirectoryDoesNotPass() throws IOException {
        Files.createDirectories(tmp.resolve("empty"));
        assertFalse(AuditVerifier.verify(tmp.resolve("empty"), publicKey).passed());
    }
}
