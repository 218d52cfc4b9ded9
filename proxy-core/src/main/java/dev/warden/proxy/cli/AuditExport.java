package dev.warden.proxy.cli;

import dev.warden.audit.ocsf.OcsfMapper;
import dev.warden.audit.query.AuditFilter;
import dev.warden.audit.query.AuditReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code warden audit export --format ocsf}: the records of a time range as OCSF events, one JSON object a line,
 * for a SIEM. The whole log is read so that events of sessions that began before {@code --since} still name
 * their identity and client.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Print the records of DIR in a time range as OCSF 1.3 events (Authentication 3002, Datastore "
                + "Activity 6005, Base Event 0), one JSON object a line, oldest first.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done (also when nothing matched)", "1:the log could not be read", "2:usage error"})
final class AuditExport implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "DIR", description = "Audit log directory.")
    Path dir;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "ocsf",
            description = "Output format; only ocsf (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--since", required = true, paramLabel = "TIME", converter = AuditCommand.TimeConverter.class,
            description = "From this time on (inclusive), same forms as search --since.")
    Instant since;

    @Option(names = "--until", paramLabel = "TIME", converter = AuditCommand.TimeConverter.class,
            description = "Up to this time (exclusive). Default: now and later.")
    Instant until;

    @Override
    public Integer call() {
        AuditCommand.requireDirectory(spec, dir);
        if (!format.equals("ocsf")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--format: only ocsf is supported");
        }
        List<AuditReader.Line> lines;
        try {
            lines = AuditReader.of(dir).search(AuditFilter.all());
        } catch (IOException e) {
            System.err.println("warden audit export: cannot read " + dir + ": " + e.getMessage());
            return AuditCommand.FAILED;
        }
        OcsfMapper mapper = new OcsfMapper();
        PrintStream out = System.out;
        for (AuditReader.Line line : lines) {
            byte[] event = mapper.event(line.record().bytes());
            Instant ts = line.record().ts();
            if (!ts.isBefore(since) && (until == null || ts.isBefore(until))) {
                out.write(event, 0, event.length);
                out.write('\n');
            }
        }
        out.flush();
        return AuditCommand.OK;
    }
}
