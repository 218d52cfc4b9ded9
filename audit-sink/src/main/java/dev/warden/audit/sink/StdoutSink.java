package dev.warden.audit.sink;

import dev.warden.audit.chain.ChainPosition;
import dev.warden.audit.chain.ChainedRecord;
import dev.warden.audit.ocsf.OcsfMapper;
import dev.warden.config.AuditSettings.SinkFormat;
import java.io.PrintStream;
import java.util.List;

/** Each record as a line on standard output for log collectors; best effort: never fails, never durable. */
public final class StdoutSink implements AuditSink {

    private final PrintStream out;
    private final OcsfMapper ocsf;

    public StdoutSink() {
        this(System.out);
    }

    public StdoutSink(SinkFormat format) {
        this(System.out, format);
    }

    public StdoutSink(PrintStream out) {
        this(out, SinkFormat.WARDEN);
    }

    /** With {@link SinkFormat#OCSF}, each line is an OCSF event instead of the record. */
    public StdoutSink(PrintStream out, SinkFormat format) {
        this.out = out;
        this.ocsf = format == SinkFormat.OCSF ? new OcsfMapper() : null;
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
            byte[] line = ocsf == null ? r.line() : ocsf.event(r.line());
            out.write(line, 0, line.length);
            out.write('\n');
        }
        out.flush();
    }

    @Override
    public void close() {
        out.flush();
    }
}
