package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.UUID;

/**
 * {@code copy.data}: the data a client sent for a {@code COPY ... FROM STDIN}, written when the client ends it
 * (CopyDone) and before that CopyDone is relayed: the server commits the rows only once it has the CopyDone, so no
 * rows are loaded without this record (if it cannot be written, the COPY is failed instead). The {@code query}
 * record before it holds only the statement; its {@code result} record the server's command tag ({@code COPY n}).
 *
 * @param querySeq the {@code seq} of the COPY's {@code query} record
 * @param bytes how many bytes of data the client sent (the CopyData messages' contents)
 * @param messages how many CopyData messages
 * @param sha256 the SHA-256 of those bytes in order (hex), which a copy of the data kept elsewhere can be checked
 *     against; null when the policy redacts literals ({@code statement_literals}), since a digest of a few short
 *     values can be guessed back
 */
public record CopyIn(UUID id, Instant ts, String session, long querySeq, long bytes, long messages, String sha256)
        implements AuditEvent {

    public CopyIn {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        if (bytes < 0 || messages < 0) {
            throw new IllegalArgumentException("bytes and messages must be >= 0");
        }
    }

    public static CopyIn of(String session, long querySeq, long bytes, long messages, String sha256) {
        return new CopyIn(null, null, session, querySeq, bytes, messages, sha256);
    }

    @Override
    public String type() {
        return "copy.data";
    }

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.number("bytes", bytes)
                .number("messages", messages)
                .number("query_seq", querySeq)
                .string("sha256", sha256);
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("query_seq", querySeq);
        record.put("bytes", bytes);
        record.put("messages", messages);
        record.put("sha256", sha256);
    }
}
