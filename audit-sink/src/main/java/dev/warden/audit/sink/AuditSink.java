package dev.warden.audit.sink;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import java.io.IOException;
import java.util.List;

/**
 * A destination of audit records. The log's single writer calls it, never concurrently. A Kafka sink would
 * implement the same three calls: {@code write} returns once the records are acknowledged.
 */
public interface AuditSink extends AutoCloseable {

    /** For messages: {@code file:/var/log/warden}, {@code postgres:warden_audit}, {@code stdout}. */
    String name();

    /** Whether {@link #write} returning means the records survive a crash. */
    boolean durable();

    /**
     * Reads where the chain stored here ends, and prepares to continue it (a file sink will start a new file).
     * Called at start and after a failed write.
     */
    ChainPosition resume() throws IOException;

    /** Writes records in order; returns when they are durable (for a durable sink) or throws. */
    void write(List<ChainedRecord> records) throws IOException;

    @Override
    void close();
}
