package dev.warden.audit.witness;

import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.SigningKey;
import dev.warden.audit.event.CanonicalJson;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Before a start continues a log directory: the log must hold the witness's latest head signed by the log's key or
 * a key published in its directory (the record at its seq, with its hash); heads no such key signed are ignored
 * here and logged (verify fails on them). A log cut short, or cut and continued, while Warden was down is refused, not continued: a
 * continued log would bury the cut under records the witness later vouches for. A witness that cannot be
 * reached does not stop the start (it never holds up statements); {@link WitnessPublisher} compares again at
 * its first send, and verify checks the whole history.
 *
 * <p>Limits: one head, the latest, is compared (it costs reading at most one log file); an older conflict, from
 * a log already continued once, is left to verify.
 */
public final class WitnessAtStart {

    private static final Logger log = LoggerFactory.getLogger(WitnessAtStart.class);

    private WitnessAtStart() {
    }

    /** "ends at seq N (file)", or "holds no records". */
    private static String end(Path dir) {
        try {
            java.util.List<LogFiles.LogFile> files = LogFiles.list(dir);
            for (int i = files.size() - 1; i >= 0; i--) {
                byte[] last = LogFiles.ending(files.get(i).path()).lastLine();
                if (last != null) {
                    return "ends at seq " + CanonicalJson.parse(last).path("seq").asLong(-1) + " ("
                            + files.get(i).name() + ")";
                }
            }
            return "holds no records";
        } catch (IOException e) {
            return "cannot be read (" + e.getMessage() + ")";
        }
    }

    /** The log in {@code dir} conflicts with the witness: the message names the seq, the file and what to do. */
    public static final class ConflictException extends IOException {
        ConflictException(String message) {
            super(message);
        }
    }

    /**
     * @throws ConflictException when the log does not reach the witness's latest head, or holds another record
     *     at its seq
     */
    public static void check(Path dir, WitnessStore store, String chain, PublicKey key) throws ConflictException {
        Optional<WitnessHead> latest;
        try {
            Map<String, PublicKey> keys = new HashMap<>(SigningKey.publishedKeys(dir));
            keys.put(SigningKey.idOf(key), key);
            Optional<WitnessHead> any = store.latest(chain);
            store.caution().ifPresent(c -> log.warn("audit witness may not prove what it seems witness={} chain={} "
                    + "caution=\"{}\"", store.name(), chain, c));
            latest = any.isEmpty() || any.get().verifiedBy(keys) ? any : store.latestSigned(chain, keys);
            if (!any.equals(latest)) {
                log.error("audit witness holds heads no key of this log signed witness={} chain={} head=\"{}\"; "
                        + "they are ignored at start, and 'warden audit verify --witness' fails on them",
                        store.name(), chain, any.get());
            }
        } catch (IOException | RuntimeException e) {
            log.warn("audit witness unreachable at start witness={} chain={} error={}; the log is compared with it "
                    + "at the first checkpoint sent", store.name(), chain, e.getMessage());
            return;
        }
        if (latest.isEmpty()) {
            return;
        }
        WitnessHead head = latest.get();
        Optional<LogFiles.Found> found;
        try {
            found = LogFiles.recordAt(dir, head.seq());
        } catch (IOException e) {
            throw new ConflictException("cannot read the log in " + dir + " to compare it with the witness "
                    + store.name() + ": " + e.getMessage());
        }
        String what = "; 'warden audit verify " + dir + " --witness ...' names it. Restore the log from a backup, or "
                + "move it aside and start a new chain under another audit.instance (the witness keeps chain "
                + chain + "'s heads)";
        if (found.isEmpty()) {
            throw new ConflictException("the audit log in " + dir + " " + end(dir) + ", before seq " + head.seq()
                    + ", the witness " + store.name() + "'s latest head for chain " + chain + " (" + head + "): it was "
                    + "cut short while Warden was down" + what);
        }
        LogFiles.Found record = found.get();
        if (!CanonicalJson.sha256(record.bytes()).equals(head.hash())) {
            throw new ConflictException("the audit log's record at seq " + head.seq() + " (" + record.file().name()
                    + ":" + record.line() + ") is not the one the witness " + store.name() + " holds for chain "
                    + chain + " (" + head + "): the log was cut and continued, or rewritten, while Warden was down"
                    + what);
        }
    }
}
