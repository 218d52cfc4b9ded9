package dev.warden.audit.sink;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import java.io.PrintStream;
import java.util.List;

/** Each record as a line on standard output for log collectors; best effort: never fails, never durable. */
public final class StdoutSink implements AuditSink {

    private final PrintStream out;

    public StdoutSink() {
        this(System.out);
    }

    public StdoutSink(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "stdout";
    }

    @Override
    public boolean durable() {
        return false;
    }

    @Override
    public ChainPosition resume() {
        return ChainPosition.empty();
    }

    @Override
    public void write(List<ChainedRecord> records) {
        for (ChainedRecord r : records) {
            out.write(r.line(), 0, r.line().length);
            out.write('\n');
        }
        out.flush();
    }

    @Override
    public void close() {
        out.flush();
    }
}
