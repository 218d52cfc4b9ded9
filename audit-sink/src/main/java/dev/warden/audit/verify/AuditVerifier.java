package dev.warden.audit.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.LogFiles.LogFile;
import dev.warden.audit.chain.RecordChain;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.chain.TornTail;
import dev.warden.audit.chain.UnsignedTail;
import dev.warden.audit.event.CanonicalJson;
import dev.warden.audit.verify.VerifyReport.Kind;
import dev.warden.audit.verify.VerifyReport.Problem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Instant;
import dev.warden.audit.witness.WitnessHead;
import dev.warden.audit.witness.WitnessStore;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a log directory end to end: every line parses and is canonical, {@code seq} goes up by one across all
 * files, every {@code prev} is the hash of the record before, every checkpoint signature verifies (a final
 * checkpoint's covers its {@code final} mark), any torn bytes at the end of a file are named by the
 * {@code recovery} record that follows them, and whatever follows a clean stop's final checkpoint begins with
 * the checkpoint the next start writes (after a recovery record naming torn bytes, if any).
 *
 * <p>With the witness's history (every signed checkpoint head kept outside the log's trust domain) it also
 * proves the log was neither cut short nor cut and continued: the log's record at the seq of every head must
 * have that head's hash, and the log must reach the highest head. A log cut in the middle and continued by a
 * later start holds other records where the witness saw the first ones, however far it grows. With one head
 * only (the latest) only the first of these is checked there. Without a witness, records after the last
 * checkpoint, or whole files, can be removed from the end without a trace (they are reported as the unsigned
 * tail).
 */
public final class AuditVerifier {

    private final Map<String, PublicKey> keys;
    private final boolean keysFromLogDir;
    /**
     * The chain these records must be (a Kafka message's instance header, {@code --chain}, the witness's chain):
     * every checkpoint that names a chain must name this one. Null: whatever they name is reported, not compared.
     */
    private final String expectedChain;
    /** The witness's latest head. */
    private final Optional<WitnessHead> witness;
    /** Every head of the witness, by seq; null when only {@link #witness} is checked. */
    private final WitnessStore.Heads history;
    private WitnessHead nextHead;
    private long headsChecked;

    private AuditVerifier(Map<String, PublicKey> keys, boolean keysFromLogDir, Optional<WitnessHead> witness) {
        this(keys, keysFromLogDir, witness, null);
    }

    private AuditVerifier(Map<String, PublicKey> keys, boolean keysFromLogDir, Optional<WitnessHead> witness,
                          WitnessStore.Heads history) {
        this(keys, keysFromLogDir, witness, history, null);
    }

    private AuditVerifier(Map<String, PublicKey> keys, boolean keysFromLogDir, Optional<WitnessHead> witness,
                          WitnessStore.Heads history, String chain) {
        this.expectedChain = chain;
        this.keys = keys;
        this.keysFromLogDir = keysFromLogDir;
        this.witness = witness;
        this.history = history;
    }

    /** Verifies {@code dir}; with {@code key} null, the public keys published in {@code dir/keys/} are used. */
    public static VerifyReport verify(Path dir, PublicKey key) throws IOException {
        return verify(dir, key, Optional.empty());
    }

    /**
     * Verifies {@code dir} and that it reaches, and agrees with, one witness head (the latest). A log cut and then
     * continued past that head by a later start passes this; {@link #verify(Path, PublicKey, WitnessStore,
     * String)} checks the witness's whole history.
     */
    public static VerifyReport verify(Path dir, PublicKey key, Optional<WitnessHead> witness) throws IOException {
        return verify(dir, key, witness, null);
    }

    /**
     * {@link #verify(Path, PublicKey, Optional)}, and every checkpoint that names a chain must name {@code chain}
     * (null: any, as reported).
     */
    public static VerifyReport verify(Path dir, PublicKey key, Optional<WitnessHead> witness, String chain)
            throws IOException {
        Map<String, PublicKey> keys = key == null ? SigningKey.publishedKeys(dir) : Map.of(SigningKey.idOf(key), key);
        return new AuditVerifier(keys, key == null, witness, null, chain).run(dir);
    }

    /**
     * Verifies {@code dir} against every head {@code store} holds for {@code chain}: the log's record at each
     * head's seq must have its hash, and the log must reach the latest head. The heads are read in seq order
     * alongside the log, not gathered first.
     */
    public static VerifyReport verify(Path dir, PublicKey key, WitnessStore store, String chain)
            throws IOException {
        Optional<WitnessHead> latest = store.latest(chain);
        Map<String, PublicKey> keys = key == null ? SigningKey.publishedKeys(dir) : Map.of(SigningKey.idOf(key), key);
        try (WitnessStore.Heads heads = store.heads(chain, 0)) {
            return new AuditVerifier(keys, key == null, latest, heads, chain).run(dir);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Verifies one chain read from somewhere other than a directory (a Kafka topic): {@code lines} are the
     * records in any order; they are put in seq order and checked as one file named {@code source}.
     */
    public static VerifyReport verifyRecords(String source, List<byte[]> lines, PublicKey key,
                                             Optional<WitnessHead> witness) {
        return verifyRecords(source, lines, key, witness, null, null);
    }

    /**
     * {@link #verifyRecords(String, List, PublicKey, Optional)} of the chain named {@code chain} (a Kafka message's
     * instance header): every checkpoint that names a chain must name it.
     */
    public static VerifyReport verifyRecords(String source, List<byte[]> lines, PublicKey key, String chain) {
        return verifyRecords(source, lines, key, Optional.empty(), null, chain);
    }

    /** {@link #verifyRecords(String, List, PublicKey, Optional)} against every head of the witness. */
    public static VerifyReport verifyRecords(String source, List<byte[]> lines, PublicKey key, WitnessStore store,
                                             String chain) throws IOException {
        Optional<WitnessHead> latest = store.latest(chain);
        try (WitnessStore.Heads heads = store.heads(chain, 0)) {
            return verifyRecords(source, lines, key, latest, heads, chain);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static VerifyReport verifyRecords(String source, List<byte[]> lines, PublicKey key,
                                              Optional<WitnessHead> witness, WitnessStore.Heads history,
                                              String chain) {
        AuditVerifier verifier = new AuditVerifier(Map.of(SigningKey.idOf(key), key), false, witness, history,
                chain);
        List<byte[]> sorted = new ArrayList<>(lines);
        sorted.sort(java.util.Comparator.comparingLong(AuditVerifier::seqOf));
        java.io.ByteArrayOutputStream content = new java.io.ByteArrayOutputStream();
        for (byte[] line : sorted) {
            content.writeBytes(line);
            content.write('\n');
        }
        Path where = Path.of(source.replace('/', '_'));
        if (sorted.isEmpty()) {
            return verifier.report(where, 0, Optional.of(new Problem(source, 0, -1, Kind.REMOVED,
                    "no records of this chain")));
        }
        long firstSeq = seqOf(sorted.get(0));
        Optional<Problem> problem = verifier.lines(source, firstSeq, content.toByteArray());
        if (problem.isEmpty()) {
            problem = verifier.signedAsTheChain(source);
        }
        if (problem.isEmpty()) {
            problem = verifier.witnessReached();
        }
        return verifier.report(where, 1, problem);
    }

    private long expectedSeq = 1;
    private String prevHash = RecordChain.GENESIS;
    private String prevFile = "";
    private int prevLine;
    private long records;
    private long signedThrough;
    private final Set<String> usedKeys = new LinkedHashSet<>();
    /** The chains the checkpoints read so far name, in order. */
    private final Set<String> namedChains = new LinkedHashSet<>();
    /** Checkpoints read that name no chain (the first format). */
    private long unnamedCheckpoints;
    private Instant firstTs;
    private Instant lastTs;
    private Instant signedThroughTs;
    private boolean witnessMatched;
    private final List<TornTail> pendingTorn = new ArrayList<>();
    /**
     * After a final checkpoint: where it is ({@code file:line}, seq), and what may come next: 1, the next start's
     * first checkpoint or a recovery record naming only torn bytes; 2 (after that recovery record), the
     * checkpoint. 0 when no final checkpoint is waiting for its successor.
     */
    private int afterFinal;
    private String finalWhere = "";
    private long finalSeq;

    private VerifyReport run(Path dir) throws IOException {
        List<LogFile> files = LogFiles.list(dir);
        if (files.isEmpty()) {
            return report(dir, 0, Optional.of(new Problem(dir.toString(), 0, -1, Kind.REMOVED,
                    "no audit log files (audit-*.jsonl) in this directory")));
        }
        for (LogFile file : files) {
            Optional<Problem> problem = file(file);
            if (problem.isPresent()) {
                return report(dir, files.size(), problem);
            }
        }
        if (!pendingTorn.isEmpty()) {
            TornTail t = pendingTorn.get(0);
            int line = lineOf(dir.resolve(t.file()), t.offset());
            return report(dir, files.size(), Optional.of(new Problem(t.file(), line, expectedSeq, Kind.TRUNCATED,
                    "the last line is incomplete (" + t.length() + " bytes at offset " + t.offset() + ", no newline)"
                            + " and no recovery record follows; after a crash, starting Warden once appends one")));
        }
        if (afterFinal == 2) {
            return report(dir, files.size(), problem(prevFile, prevLine, expectedSeq - 1, Kind.ALTERED,
                    "a recovery record follows the final checkpoint of a clean stop (" + finalWhere + ", seq "
                            + finalSeq + ") but no checkpoint of the next start follows it"));
        }
        Optional<Problem> unsigned = signedAsTheChain(prevFile);
        return report(dir, files.size(), unsigned.isPresent() ? unsigned : witnessReached());
    }

    /**
     * With a chain expected: some checkpoint must sign its records. Warden opens every chain with a checkpoint
     * that names it, before its first record, so records of a chain that no checkpoint signs were not shown to be
     * Warden's (records copied under another chain's name, or made up: the hash chain alone takes no key).
     */
    private Optional<Problem> signedAsTheChain(String where) {
        if (expectedChain == null || records == 0 || !namedChains.isEmpty() || unnamedCheckpoints > 0) {
            return Optional.empty();
        }
        return problem(where, prevLine, expectedSeq - 1, Kind.ALTERED, "no checkpoint signs any of the " + records
                + " records of chain " + expectedChain + ": nothing shows that Warden wrote them as this chain's "
                + "(Warden opens each chain with a checkpoint naming it; a log of a build before that holds none "
                + "until its first checkpoint)");
    }

    /** After the last record: the log must reach the witness's head (whose hash was compared on the way). */
    private Optional<Problem> witnessReached() {
        if (history != null) {
            Optional<Problem> beyond = nextHeadBeyondTheLog();
            if (beyond.isPresent()) {
                return beyond;
            }
        }
        if (witness.isEmpty()) {
            return Optional.empty();
        }
        WitnessHead head = witness.get();
        if (!head.verifiedBy(keys)) {
            return unsignedHead(head);
        }
        long lastSeq = expectedSeq - 1;
        if (lastSeq < head.seq()) {
            return problem(prevFile.isEmpty() ? "log" : prevFile, prevLine, lastSeq, Kind.TRUNCATED,
                    "the log ends at seq " + lastSeq + ", before the witness's latest signed head " + head
                            + ": records " + (lastSeq + 1) + "-" + head.seq() + " (at least) were cut off");
        }
        if (!witnessMatched) {
            return problem("witness", 0, head.seq(), Kind.ALTERED, "the log has no checkpoint at the witness's "
                    + "head " + head);
        }
        return Optional.empty();
    }

    /** A head of the history the log does not reach: the log was cut short. */
    private Optional<Problem> nextHeadBeyondTheLog() {
        WitnessHead head = peekHead();
        if (head == null) {
            return Optional.empty();
        }
        if (!head.verifiedBy(keys)) {
            // Someone without the key wrote it: say so, not that the log was cut.
            return unsignedHead(head);
        }
        long lastSeq = expectedSeq - 1;
        return problem(prevFile.isEmpty() ? "log" : prevFile, prevLine, lastSeq, Kind.TRUNCATED,
                "the log ends at seq " + lastSeq + ", before the witness's signed head " + head
                        + (witness.isPresent() && witness.get().seq() > head.seq() ? " (its latest: "
                        + witness.get() + ")" : "") + ": records " + (lastSeq + 1) + "-" + head.seq()
                        + " (at least) were cut off");
    }

    private Optional<Problem> unsignedHead(WitnessHead head) {
        PublicKey key = keys.get(head.keyId());
        return problem("witness", 0, head.seq(), Kind.BAD_SIGNATURE, "the witness's head " + head + " is not signed by "
                + (key == null ? "a known key (key " + head.keyId() + ")" : "key " + head.keyId())
                + ": the witness store was written by someone else");
    }

    private WitnessHead peekHead() {
        if (nextHead == null) {
            try {
                nextHead = history.next();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return nextHead;
    }

    /**
     * Every head of the history at {@code seq} (the record just read, whose hash is {@code hash}) must be signed
     * by a known key and name that hash; a head at a seq the log skipped (before its first record) fails too.
     */
    private Optional<Problem> historyAt(String name, int lineNo, long seq, String hash) {
        WitnessHead head;
        while ((head = peekHead()) != null && head.seq() <= seq) {
            nextHead = null;
            headsChecked++;
            if (!head.verifiedBy(keys)) {
                return unsignedHead(head);
            }
            if (head.seq() < seq) {
                return problem("witness", 0, head.seq(), Kind.ALTERED, "the witness holds a head at seq "
                        + head.seq() + " (" + head + "), which this log does not hold");
            }
            if (!head.hash().equals(hash)) {
                return problem(name, lineNo, seq, Kind.ALTERED, "the witness holds a different record at seq " + seq
                        + " (" + head + "): the log was rewritten from here, or cut before it and continued");
            }
        }
        return Optional.empty();
    }

    private Optional<Problem> file(LogFile file) throws IOException {
        return lines(file.name(), file.firstSeq(), Files.readAllBytes(file.path()));
    }

    private Optional<Problem> lines(String name, long fileFirstSeq, byte[] content) {
        TornTail torn = LogFiles.torn(name, content);
        int end = torn == null ? content.length : (int) torn.offset();
        List<int[]> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < end; i++) {
            if (content[i] == '\n') {
                lines.add(new int[] {start, i});
                start = i + 1;
            }
        }
        boolean first = true;
        for (int index = 0; index < lines.size(); index++) {
            int lineNo = index + 1;
            byte[] line = Arrays.copyOfRange(content, lines.get(index)[0], lines.get(index)[1]);
            ObjectNode record;
            try {
                record = CanonicalJson.parse(line);
            } catch (IOException e) {
                return problem(name, lineNo, -1, Kind.ALTERED, "not valid JSON: " + firstLine(e.getMessage()));
            }
            long seq = record.path("seq").isIntegralNumber() ? record.path("seq").asLong() : -1;
            byte[] canonical;
            try {
                canonical = CanonicalJson.encode(record);
            } catch (IllegalArgumentException e) {
                return problem(name, lineNo, seq, Kind.ALTERED, e.getMessage());
            }
            if (!Arrays.equals(canonical, line)) {
                return problem(name, lineNo, seq, Kind.ALTERED, "not in canonical form (edited by hand?)");
            }
            if (seq < 1) {
                return problem(name, lineNo, seq, Kind.ALTERED, "has no seq");
            }
            if (seq != expectedSeq) {
                return Optional.of(sequenceProblem(name, lineNo, seq, lines, content, index, first));
            }
            if (first && seq != fileFirstSeq) {
                return problem(name, lineNo, seq, Kind.ALTERED, "the file name says its first seq is "
                        + fileFirstSeq + " (renamed file?)");
            }
            String prev = record.path("prev").asText("");
            if (!prev.equals(prevHash)) {
                if (records == 0) {
                    return problem(name, lineNo, seq, Kind.ALTERED, "the first record's prev is not 64 zeros");
                }
                return problem(prevFile, prevLine, seq - 1, Kind.ALTERED, "its hash does not match the prev of "
                        + "the next record (" + name + ":" + lineNo + ", seq " + seq + "): this record or that prev "
                        + "was changed");
            }
            String type = record.path("type").asText("");
            Optional<Problem> problem = pendingTornCheck(name, lineNo, seq, type, record);
            if (problem.isPresent()) {
                return problem;
            }
            problem = afterFinalCheck(name, lineNo, seq, type, record);
            if (problem.isPresent()) {
                return problem;
            }
            if (type.equals(RecordChain.CHECKPOINT)) {
                problem = checkpoint(name, lineNo, seq, record);
                if (problem.isPresent()) {
                    return problem;
                }
            }
            prevHash = CanonicalJson.sha256(line);
            if (history != null) {
                problem = historyAt(name, lineNo, seq, prevHash);
                if (problem.isPresent()) {
                    return problem;
                }
            }
            if (witness.isPresent() && seq == witness.get().seq()) {
                if (!witness.get().hash().equals(prevHash)) {
                    return problem(name, lineNo, seq, Kind.ALTERED, "the witness holds a different record at seq "
                            + seq + " (" + witness.get() + "): the log and the witness disagree");
                }
                witnessMatched = true;
            }
            Instant ts = timeOf(record);
            if (ts != null) {
                if (firstTs == null) {
                    firstTs = ts;
                }
                lastTs = ts;
                if (type.equals(RecordChain.CHECKPOINT)) {
                    signedThroughTs = ts;
                }
            }
            prevFile = name;
            prevLine = lineNo;
            expectedSeq = seq + 1;
            records++;
            first = false;
        }
        if (torn != null) {
            pendingTorn.add(torn);
        }
        return Optional.empty();
    }

    /**
     * What follows a clean stop's final checkpoint was written by the next start only if it begins with that
     * start's first checkpoint (after a recovery record naming only torn bytes, when the stop left some): a
     * record appended to a stopped log by someone without the key cannot be that.
     */
    private Optional<Problem> afterFinalCheck(String name, int lineNo, long seq, String type, JsonNode record) {
        boolean checkpoint = type.equals(RecordChain.CHECKPOINT);
        if (afterFinal != 0) {
            boolean tornOnly = type.equals(RecordChain.RECOVERY) && !record.has("unsigned");
            if (checkpoint) {
                afterFinal = 0;
            } else if (afterFinal == 1 && tornOnly) {
                afterFinal = 2;
            } else {
                return problem(name, lineNo, seq, Kind.ALTERED, "this " + (type.isEmpty() ? "record" : type)
                        + " record follows the final checkpoint of a clean stop (" + finalWhere + ", seq "
                        + finalSeq + "), and is not the checkpoint the next start writes first: it was appended to "
                        + "the stopped log, not written by Warden");
            }
        }
        if (checkpoint && record.path(RecordChain.FINAL).asBoolean(false)) {
            afterFinal = 1;
            finalWhere = name + ":" + lineNo;
            finalSeq = seq;
        }
        return Optional.empty();
    }

    private Problem sequenceProblem(String name, int lineNo, long seq, List<int[]> lines, byte[] content, int index,
                                    boolean firstInFile) {
        if (seq > expectedSeq) {
            for (int later = index + 1; later < lines.size(); later++) {
                long laterSeq = seqOf(Arrays.copyOfRange(content, lines.get(later)[0], lines.get(later)[1]));
                if (laterSeq == expectedSeq) {
                    return new Problem(name, lineNo, seq, Kind.REORDERED, "expected seq " + expectedSeq
                            + ", which comes later at line " + (later + 1) + ": records were moved or swapped");
                }
            }
            String missing = seq - 1 == expectedSeq ? "record " + expectedSeq + " missing"
                    : "records " + expectedSeq + "-" + (seq - 1) + " missing";
            String where = firstInFile && records > 0 ? " (a file removed before " + name + "?)" : "";
            return new Problem(name, lineNo, seq, Kind.REMOVED, missing + ": expected seq " + expectedSeq + " in "
                    + name + ", found " + seq + where);
        }
        return new Problem(name, lineNo, seq, Kind.REORDERED, "seq " + seq + " after seq " + (expectedSeq - 1)
                + ": records were moved or duplicated");
    }

    private Optional<Problem> pendingTornCheck(String name, int lineNo, long seq, String type, JsonNode record) {
        boolean recovery = type.equals(RecordChain.RECOVERY);
        if (recovery) {
            Optional<Problem> problem = unsignedClaim(name, lineNo, seq, record);
            if (problem.isPresent()) {
                return problem;
            }
        }
        if (pendingTorn.isEmpty()) {
            if (recovery && !record.path("torn").isEmpty()) {
                return problem(name, lineNo, seq, Kind.ALTERED, "a recovery record names torn bytes, but the file "
                        + "before it ends with a complete line");
            }
            return Optional.empty();
        }
        TornTail t = pendingTorn.get(0);
        if (!recovery) {
            return problem(t.file(), -1, seq, Kind.TRUNCATED, "the last line is incomplete (" + t.length()
                    + " bytes at offset " + t.offset() + ") and the next record (" + name + ":" + lineNo
                    + ") is not a recovery record naming it");
        }
        List<TornTail> named = new ArrayList<>();
        record.path("torn").forEach(n -> named.add(TornTail.read(n)));
        if (!named.equals(pendingTorn)) {
            return problem(name, lineNo, seq, Kind.ALTERED, "the recovery record names torn bytes " + named
                    + " but the files hold " + pendingTorn);
        }
        pendingTorn.clear();
        return Optional.empty();
    }

    /**
     * A recovery record that names an unsigned tail must name exactly the records between the last checkpoint
     * and itself: the writer read that from the log it resumed, so any other range is an edit.
     */
    private Optional<Problem> unsignedClaim(String name, int lineNo, long seq, JsonNode record) {
        if (!record.has("unsigned")) {
            return Optional.empty();
        }
        UnsignedTail claimed = UnsignedTail.read(record);
        UnsignedTail actual = new UnsignedTail(signedThrough + 1, seq - 1);
        if (!claimed.equals(actual) || record.path("unsigned").path("count").asLong(-1) != actual.count()) {
            return problem(name, lineNo, seq, Kind.ALTERED, "the recovery record names the unsigned tail "
                    + record.path("unsigned") + " but the log's records after its last checkpoint are " + actual);
        }
        return Optional.empty();
    }

    private Optional<Problem> checkpoint(String name, int lineNo, long seq, JsonNode record) {
        if (record.path("covers_seq").asLong(-1) != seq - 1) {
            return problem(name, lineNo, seq, Kind.ALTERED, "checkpoint covers_seq is not seq - 1");
        }
        String keyId = record.path("key_id").asText("");
        PublicKey key = keys.get(keyId);
        if (key == null) {
            return problem(name, lineNo, seq, Kind.BAD_SIGNATURE, "checkpoint signed by key " + keyId + ", which is "
                    + (keysFromLogDir ? "not published in keys/" : "not the key given"));
        }
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(record.path("signature").asText(""));
        } catch (IllegalArgumentException e) {
            return problem(name, lineNo, seq, Kind.BAD_SIGNATURE, "checkpoint signature is not base64");
        }
        JsonNode mark = record.get(RecordChain.FINAL);
        if (mark != null && !(mark.isBoolean() && mark.booleanValue())) {
            return problem(name, lineNo, seq, Kind.ALTERED, "checkpoint's final mark is not true");
        }
        boolean last = mark != null;
        JsonNode chainNode = record.get(RecordChain.CHAIN);
        String chain = null;
        if (chainNode != null) {
            if (!chainNode.isTextual() || chainNode.asText().isEmpty()) {
                return problem(name, lineNo, seq, Kind.ALTERED, "checkpoint's chain is not a name");
            }
            chain = chainNode.asText();
            if (expectedChain != null && !chain.equals(expectedChain)) {
                return problem(name, lineNo, seq, Kind.ALTERED, "checkpoint names chain " + chain + ", not "
                        + expectedChain + ": these records were written as another chain's");
            }
        } else if (!namedChains.isEmpty()) {
            // Every build that names chains names them in every checkpoint: one without a name after those is a
            // checkpoint taken from elsewhere (or a log continued by an older build, which verify cannot tell apart).
            return problem(name, lineNo, seq, Kind.ALTERED, "checkpoint names no chain, after checkpoints that name "
                    + String.join(", ", namedChains) + " (moved here from another log, or written by an older "
                    + "Warden after a newer one)");
        }
        if (!RecordChain.verifySignature(key, chain, seq - 1, prevHash, signature, last)) {
            String why = "";
            if (!last && RecordChain.verifySignature(key, chain, seq - 1, prevHash, signature, true)) {
                why = " (it signs a final checkpoint: its final mark was removed)";
            } else if (chain != null && RecordChain.verifySignature(key, null, seq - 1, prevHash, signature, last)) {
                why = " (it signs no chain: its chain name was added)";
            }
            return problem(name, lineNo, seq, Kind.BAD_SIGNATURE, "checkpoint signature does not verify with key "
                    + keyId + (chain == null ? "" : " for chain " + chain) + why);
        }
        if (chain == null) {
            unnamedCheckpoints++;
        } else {
            namedChains.add(chain);
        }
        usedKeys.add(keyId);
        signedThrough = seq;
        return Optional.empty();
    }

    private static Instant timeOf(JsonNode record) {
        try {
            return Instant.parse(record.path("ts").asText(""));
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    private static long seqOf(byte[] line) {
        try {
            return CanonicalJson.parse(line).path("seq").asLong(-1);
        } catch (IOException e) {
            return -1;
        }
    }

    private static int lineOf(Path file, long offset) {
        try {
            byte[] content = Files.readAllBytes(file);
            int line = 1;
            for (int i = 0; i < offset && i < content.length; i++) {
                if (content[i] == '\n') {
                    line++;
                }
            }
            return line;
        } catch (IOException e) {
            return -1;
        }
    }

    private static Optional<Problem> problem(String file, int line, long seq, Kind kind, String message) {
        return Optional.of(new Problem(file, line, seq, kind, message));
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    private VerifyReport report(Path dir, int files, Optional<Problem> problem) {
        long lastSeq = expectedSeq - 1;
        return new VerifyReport(dir, files, records, lastSeq, signedThrough, lastSeq - signedThrough,
                List.copyOf(usedKeys), keysFromLogDir, problem, Optional.ofNullable(firstTs),
                Optional.ofNullable(signedThroughTs), Optional.ofNullable(lastTs), witness,
                history == null ? -1 : headsChecked, List.copyOf(namedChains), unnamedCheckpoints);
    }
}
