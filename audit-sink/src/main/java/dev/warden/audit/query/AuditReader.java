package dev.warden.audit.query;

import com.fasterxml.jackson.databind.JsonNode;
import dev.warden.audit.text.VisibleText;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.warden.audit.chain.LogFiles;
import dev.warden.audit.chain.LogFiles.LogFile;
import dev.warden.audit.chain.UnsignedTail;
import dev.warden.audit.event.CanonicalJson;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Reads a log directory in order for people: {@link #search} over everything, {@link #follow} like
 * {@code tail -f} across rotation (polling), one readable line per record, and {@link #usage} per identity.
 * Reading does not verify; torn bytes at the end of a file are skipped. Not thread-safe.
 */
public final class AuditReader {

    private static final int MAX_STATEMENT = 300;

    private final Path dir;

    private AuditReader(Path dir) {
        this.dir = dir;
    }

    public static AuditReader of(Path dir) {
        return new AuditReader(dir);
    }

    /** A selected record with its one-line rendering; {@code record.text()} is the {@code --json} form. */
    public record Line(AuditRecord record, String human) {
    }

    /** Every matching record, oldest first. */
    public List<Line> search(AuditFilter filter) throws IOException {
        List<Line> out = new ArrayList<>();
        SessionIndex index = new SessionIndex();
        for (LogFile file : LogFiles.list(dir)) {
            byte[] content = Files.readAllBytes(file.path());
            readLines(file.name(), content, 0, complete(content), 0, r -> emit(index, filter, r, out::add));
        }
        return out;
    }

    /** The last {@code count} matching records. */
    public List<Line> tail(AuditFilter filter, int count) throws IOException {
        List<Line> all = search(filter);
        return all.subList(Math.max(0, all.size() - count), all.size());
    }

    /**
     * Follows the log: reads what exists (passing it on only if {@code fromStart}), then polls every
     * {@code poll} for new complete lines in the newest file and for new files, until {@code keepGoing} says
     * stop.
     */
    public void follow(AuditFilter filter, boolean fromStart, Consumer<Line> out, BooleanSupplier keepGoing,
                       Duration poll) throws IOException, InterruptedException {
        SessionIndex index = new SessionIndex();
        Consumer<AuditRecord> existing = fromStart ? r -> emit(index, filter, r, out) : index::learn;
        String currentName = null;
        long offset = 0;
        int lineNo = 0;
        boolean caughtUp = false;
        while (keepGoing.getAsBoolean()) {
            List<LogFile> files = LogFiles.list(dir);
            boolean progressed = false;
            for (LogFile file : files) {
                if (currentName != null && compare(file, currentName, files) < 0) {
                    continue;
                }
                if (!file.name().equals(currentName)) {
                    currentName = file.name();
                    offset = 0;
                    lineNo = 0;
                }
                byte[] fresh = readFrom(file.path(), offset);
                int end = complete(fresh);
                if (end > 0) {
                    Consumer<AuditRecord> sink = caughtUp ? r -> emit(index, filter, r, out) : existing;
                    lineNo = readLines(file.name(), fresh, 0, end, lineNo, sink);
                    offset += end;
                    progressed = true;
                }
            }
            caughtUp = true;
            if (!progressed) {
                Thread.sleep(poll.toMillis());
            }
        }
    }

    private static int compare(LogFile file, String currentName, List<LogFile> files) {
        for (int i = 0; i < files.size(); i++) {
            if (files.get(i).name().equals(currentName)) {
                return Integer.compare(files.indexOf(file), i);
            }
        }
        return 1;
    }

    /** Per identity since {@code since} (null: all time). */
    public UsageReport usage(Instant since) throws IOException {
        UsageReport.Builder usage = new UsageReport.Builder(since);
        SessionIndex index = new SessionIndex();
        for (LogFile file : LogFiles.list(dir)) {
            byte[] content = Files.readAllBytes(file.path());
            readLines(file.name(), content, 0, complete(content), 0, r -> {
                index.learn(r);
                if (since == null || !r.ts().isBefore(since)) {
                    SessionIndex.Who who = index.who(r);
                    usage.add(who.username(), who.kind(), r);
                }
            });
        }
        return usage.build();
    }

    /**
     * One line for people: time, who, environment, what. Control characters in any field are shown as escapes
     * ({@link #escapeControls}), so a record can neither break the line nor move the cursor of the terminal
     * that shows it.
     */
    public static String render(AuditRecord r, String username, String kind, String environment) {
        return escapeControls(renderRaw(r, username, kind, environment));
    }

    private static String renderRaw(AuditRecord r, String username, String kind, String environment) {
        StringBuilder out = new StringBuilder();
        out.append(r.ts().truncatedTo(ChronoUnit.SECONDS)).append(' ');
        String who = username.isEmpty() ? "-" : username;
        out.append(who).append(VisibleText.scriptNote(who)); // a look-alike name says so (the line is escaped below)
        if (!kind.isEmpty()) {
            out.append('[').append(kind).append(']');
        }
        out.append(' ').append(environment.isEmpty() ? "-" : environment).append(' ').append(r.type());
        switch (r.type()) {
            case "session.start" -> {
                JsonNode c = r.get("client");
                out.append(" from ").append(c.path("address").asText(""));
                appendIf(out, " app=", c.path("application_name"));
                appendIf(out, " tls=", c.path("tls_version"));
            }
            case "session.end" -> out.append(' ').append(r.get("statements").asLong()).append(" statements in ")
                    .append(r.get("duration_ms").asLong()).append(" ms (").append(r.get("reason").asText("")).append(')');
            case "auth.failure" -> out.append(" from ").append(r.get("client_address").asText(""))
                    .append(": ").append(r.get("reason").asText("")).append(" [").append(r.get("sqlstate").asText(""))
                    .append(']');
            case "query" -> {
                String decision = r.get("decision").asText("").toUpperCase(Locale.ROOT);
                out.append(' ').append(decision);
                if (!r.get("rule").isNull()) {
                    out.append('(').append(r.get("rule").asText()).append(')');
                }
                out.append(' ').append(statement(r.get("statement").asText("")));
                if (r.get("statement_base64").isTextual()) {
                    out.append(" [not UTF-8: exact bytes in statement_base64]");
                }
            }
            case "role.settings_reset" -> {
                out.append(" role ").append(r.get("role").asText("")).append(" reset:");
                settingsByDatabase(out, r.get("settings"));
                if (r.get("kept").size() > 0) {
                    out.append("; kept (only a superuser may reset them):");
                    settingsByDatabase(out, r.get("kept"));
                }
            }
            case "copy.data" -> {
                out.append(" of #").append(r.get("query_seq").asLong()).append(": ").append(r.get("bytes").asLong())
                        .append(" bytes in ").append(r.get("messages").asLong()).append(" messages");
                if (r.get("sha256").isTextual()) {
                    out.append(", sha256 ").append(r.get("sha256").asText());
                }
            }
            case "enforcement.mismatch" -> out.append(" MISMATCH(").append(r.get("check").asText(""))
                    .append(") warden=").append(r.get("warden")).append(" server=").append(r.get("server"))
                    .append(" of #").append(r.get("query_seq").asLong()).append(": ")
                    .append(statement(r.get("statement").asText("")));
            case "result" -> {
                out.append(" of #").append(r.get("query_seq").asLong()).append(": ")
                        .append(commandTags(r)).append(", ").append(r.get("rows").asLong())
                        .append(" rows, ").append(r.get("bytes").asLong()).append(" bytes, ")
                        .append(r.get("duration_us").asLong() / 1000).append(" ms");
                if (!r.get("sqlstate").isNull()) {
                    out.append(", error ").append(r.get("sqlstate").asText());
                }
                List<String> masked = new ArrayList<>();
                for (JsonNode c : r.get("columns")) {
                    if (c.path("masked").asBoolean()) {
                        masked.add(c.path("name").asText("") + "(" + c.path("rule").asText("") + ")");
                    }
                }
                if (!masked.isEmpty()) {
                    out.append(", masked ").append(String.join(" ", masked));
                }
            }
            case "policy.reload" -> {
                out.append(' ').append(abbreviate(r.get("old_version").asText(""))).append(" -> ")
                        .append(abbreviate(r.get("new_version").asText("")))
                        .append(r.get("accepted").asBoolean() ? " accepted" : " REJECTED: " + r.get("error").asText(""));
                JsonNode changes = r.get("changes");
                if (changes != null && changes.isObject()) {
                    changes.fields().forEachRemaining(c -> {
                        List<String> names = new ArrayList<>();
                        c.getValue().forEach(n -> names.add(n.asText()));
                        out.append(' ').append(c.getKey()).append("=[").append(String.join(", ", names)).append(']');
                    });
                }
            }
            case "checkpoint" -> out.append(" signed through seq ").append(r.get("covers_seq").asLong())
                    .append(" key ").append(r.get("key_id").asText(""));
            case "recovery" -> {
                out.append(" torn bytes acknowledged: ").append(r.get("torn"));
                if (r.json().has("unsigned")) {
                    out.append(" unsigned tail signed by the next checkpoint: ").append(UnsignedTail.read(r.json()));
                }
            }
            default -> {
                if (r.type().startsWith("approval.")) {
                    out.append(' ').append(r.get("approval_id").asText("")).append(" by ")
                            .append(r.get("by").asText(""));
                    appendIf(out, ": ", r.get("comment"));
                }
            }
        }
        return out.toString();
    }

    /** A {@code role.settings_reset} record's settings: in every database ("" in the record), then in each one. */
    private static void settingsByDatabase(StringBuilder out, JsonNode byDatabase) {
        byDatabase.fields().forEachRemaining(d -> {
            List<String> settings = new ArrayList<>();
            d.getValue().forEach(v -> settings.add(v.asText()));
            out.append(' ').append(d.getKey().isEmpty() ? "every database" : "in " + d.getKey()).append(" [")
                    .append(String.join(", ", settings)).append(']');
        });
    }

    private static void appendIf(StringBuilder out, String prefix, JsonNode value) {
        if (value != null && value.isTextual() && !value.asText().isEmpty()) {
            out.append(prefix).append(value.asText());
        }
    }

    private static String abbreviate(String version) {
        return version.length() > 12 ? version.substring(0, 12) : version;
    }

    private static String statement(String sql) {
        String flat = sql.strip().replaceAll(" {2,}", " ");
        // Never cut silently: the reader learns that, and how much, is missing (--json shows it whole).
        return flat.length() > MAX_STATEMENT ? flat.substring(0, MAX_STATEMENT) + " …[" + (flat.length()
                - MAX_STATEMENT) + " more characters not shown]" : flat;
    }

    /** The server's tags: every one when a Query ran several statements, else the one. */
    private static String commandTags(AuditRecord r) {
        JsonNode tags = r.get("command_tags");
        if (tags.size() > 1) {
            List<String> all = new ArrayList<>();
            tags.forEach(t -> all.add(t.asText()));
            return String.join("; ", all);
        }
        return r.get("command_tag").asText("");
    }

    /**
     * {@code text} with every character that could act on a terminal written as a visible escape; the one rule
     * Warden uses everywhere it shows untrusted text ({@link VisibleText#escape}).
     */
    public static String escapeControls(String text) {
        return VisibleText.escape(text);
    }

    private static void emit(SessionIndex index, AuditFilter filter, AuditRecord r, Consumer<Line> out) {
        index.learn(r);
        if (index.matches(filter, r)) {
            SessionIndex.Who who = index.who(r);
            out.accept(new Line(r, render(r, who.username(), who.kind(), who.environment())));
        }
    }

    /** Length of the prefix made of complete lines. */
    private static int complete(byte[] content) {
        int end = content.length;
        while (end > 0 && content[end - 1] != '\n') {
            end--;
        }
        return end;
    }

    private static int readLines(String file, byte[] content, int start, int end, int lineNo,
                                 Consumer<AuditRecord> out) {
        int lineStart = start;
        for (int i = start; i < end; i++) {
            if (content[i] == '\n') {
                lineNo++;
                byte[] line = Arrays.copyOfRange(content, lineStart, i);
                lineStart = i + 1;
                ObjectNode json;
                try {
                    json = CanonicalJson.parse(line);
                } catch (IOException e) {
                    continue; // not a record: verify reports it; reading goes on
                }
                out.accept(new AuditRecord(file, lineNo, line, json));
            }
        }
        return lineNo;
    }

    private static byte[] readFrom(Path file, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length() - offset;
            if (length <= 0) {
                return new byte[0];
            }
            byte[] bytes = new byte[(int) Math.min(length, Integer.MAX_VALUE - 16)];
            raf.seek(offset);
            raf.readFully(bytes);
            return bytes;
        }
    }
}
