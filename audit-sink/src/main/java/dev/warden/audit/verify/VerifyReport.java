package dev.warden.audit.verify;

import dev.warden.audit.chain.UnsignedTail;
import dev.warden.audit.witness.WitnessHead;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The outcome of {@link AuditVerifier#verify}: counts, how far the signatures reach, and the first problem.
 *
 * @param signedThroughSeq the seq of the last valid checkpoint (0: none)
 * @param unsignedTail     records after the last checkpoint: chain-checked, not signed
 * @param keyIds           ids of the keys that signed the checkpoints
 * @param keysFromLogDir   true when the public keys came from the log directory itself rather than the caller,
 *                         which proves consistency but not authorship
 * @param firstTs          time of the first record read
 * @param signedThroughTs  time of the last valid checkpoint
 * @param lastTs           time of the last record read
 * @param witness          the witness's latest head, if the log was checked against a witness
 * @param witnessHeads     how many heads of the witness's history the log was checked against (-1: the latest
 *                         head only)
 * @param chains           the chains the checkpoints name and sign, in the order first met
 * @param unnamedCheckpoints checkpoints that name no chain (written before checkpoints named their chain)
 */
public record VerifyReport(Path dir, int files, long records, long lastSeq, long signedThroughSeq,
                           long unsignedTail, List<String> keyIds, boolean keysFromLogDir,
                           Optional<Problem> problem, Optional<Instant> firstTs, Optional<Instant> signedThroughTs,
                           Optional<Instant> lastTs, Optional<WitnessHead> witness, long witnessHeads,
                           List<String> chains, long unnamedCheckpoints) {

    public enum Kind { ALTERED, REMOVED, REORDERED, TRUNCATED, BAD_SIGNATURE }

    /** The first bad record: where it is ({@code line} is 1-based; {@code seq} -1 when unknown) and what is wrong. */
    public record Problem(String file, int line, long seq, Kind kind, String message) {
        @Override
        public String toString() {
            return file + ":" + line + (seq >= 0 ? " (seq " + seq + ")" : "") + ": "
                    + kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + ": " + message;
        }
    }

    public VerifyReport {
        keyIds = List.copyOf(keyIds);
        chains = List.copyOf(chains);
    }

    /** The records after the last checkpoint, {@code seq A-B (N records)}; "none" when the log ends signed. */
    public String unsignedRange() {
        return new UnsignedTail(signedThroughSeq + 1, signedThroughSeq + unsignedTail).toString();
    }

    public boolean passed() {
        return problem.isEmpty();
    }

    /** What {@code warden audit verify} prints. */
    public String summary() {
        StringBuilder out = new StringBuilder();
        if (problem.isPresent()) {
            out.append("FAIL ").append(problem.get()).append('\n');
        } else {
            out.append("PASS ").append(dir).append('\n');
        }
        out.append(records).append(" records in ").append(files).append(" files");
        if (lastSeq > 0) {
            out.append(", last seq ").append(lastSeq);
        }
        out.append('\n');
        out.append("signed through seq ").append(signedThroughSeq);
        if (!keyIds.isEmpty()) {
            out.append(" by key ").append(String.join(", ", keyIds));
        }
        out.append('\n');
        if (problem.isEmpty() && signedThroughSeq > 0) {
            out.append("proves seq 1-").append(signedThroughSeq);
            if (firstTs.isPresent() && signedThroughTs.isPresent()) {
                out.append(", ").append(firstTs.get()).append(" to ").append(signedThroughTs.get());
            }
            out.append(witness.isPresent() ? " complete up to the witness's head at seq " + witness.get().seq()
                    + " (" + witness.get().ts() + ")" + (witnessHeads >= 0 ? ", in agreement with all "
                    + witnessHeads + " heads the witness holds" : "")
                    : " untampered (no witness: a cut tail would not show)");
            out.append('\n');
        }
        if (!chains.isEmpty()) {
            out.append("checkpoints sign chain ").append(String.join(", ", chains));
            if (unnamedCheckpoints > 0) {
                out.append(" (").append(unnamedCheckpoints).append(" earlier checkpoints name no chain)");
            }
            out.append('\n');
        } else if (unnamedCheckpoints > 0) {
            out.append("note: the checkpoints name no chain (written by a Warden before checkpoints named their "
                    + "chain): these records could be another instance's that share its signing key\n");
        }
        if (unsignedTail > 0) {
            out.append("WARNING unsigned tail: ").append(unsignedRange()).append(" after the last checkpoint are "
                    + "chain-checked but not signed; they could be cut or rewritten without a trace. A running "
                    + "Warden signs them at its next checkpoint; after a crash, its next start names and signs them\n");
        }
        if (keysFromLogDir) {
            out.append("note: public keys were read from the log directory; pass the public key you trust to prove "
                    + "the log was not re-signed\n");
        }
        return out.toString();
    }
}
