package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * {@code result}: what a statement returned. {@code querySeq} is the {@code seq} its {@code query} event got
 * from {@code AuditLog.append}. {@code sqlstate} is null on success. {@code commandTag} is the server's last
 * command tag; {@code commandTags} every answer the server gave, in order (one per statement of a Query that
 * ran: its tag, or {@code EmptyQueryResponse}), so the record shows what ran even when a Query held several
 * statements.
 */
public record ResultEvent(UUID id, Instant ts, String session, long querySeq, long rows, long bytes,
                          List<Column> columns, long durationUs, String sqlstate, String commandTag,
                          List<String> commandTags)
        implements AuditEvent {

    /**
     * A returned column; {@code rule} names the masking rule that matched it (null: not sensitive), and
     * {@code masked} says whether it was applied (false: the identity may see it in clear).
     */
    public record Column(String name, boolean masked, String rule) {
        public Column {
            name = name == null ? "" : name;
        }

        public static Column clear(String name) {
            return new Column(name, false, null);
        }

        public static Column masked(String name, String rule) {
            return new Column(name, true, rule);
        }

        public boolean sensitive() {
            return rule != null;
        }
    }

    public ResultEvent {
        id = Fields.id(id);
        ts = Fields.ts(ts);
        session = Fields.session(session);
        columns = columns == null ? List.of() : List.copyOf(columns);
        commandTag = commandTag == null ? "" : commandTag;
        commandTags = Fields.list(commandTags);
    }

    public static ResultEvent of(String session, long querySeq, long rows, long bytes, List<Column> columns,
                                 long durationUs, String sqlstate, String commandTag) {
        return of(session, querySeq, rows, bytes, columns, durationUs, sqlstate, commandTag,
                commandTag == null || commandTag.isEmpty() ? List.of() : List.of(commandTag));
    }

    public static ResultEvent of(String session, long querySeq, long rows, long bytes, List<Column> columns,
                                 long durationUs, String sqlstate, String commandTag, List<String> commandTags) {
        return new ResultEvent(null, null, session, querySeq, rows, bytes, columns, durationUs, sqlstate,
                commandTag, commandTags);
    }

    @Override
    public String type() {
        return "result";
    }

    private static final CanonicalWriter.Key BYTES = CanonicalWriter.Key.of("bytes");
    private static final CanonicalWriter.Key COLUMNS = CanonicalWriter.Key.of("columns");
    private static final CanonicalWriter.Key COMMAND_TAG = CanonicalWriter.Key.of("command_tag");
    private static final CanonicalWriter.Key COMMAND_TAGS = CanonicalWriter.Key.of("command_tags");
    private static final CanonicalWriter.Key DURATION_US = CanonicalWriter.Key.of("duration_us");
    private static final CanonicalWriter.Key QUERY_SEQ = CanonicalWriter.Key.of("query_seq");
    private static final CanonicalWriter.Key ROWS = CanonicalWriter.Key.of("rows");
    private static final CanonicalWriter.Key SQLSTATE = CanonicalWriter.Key.of("sqlstate");
    private static final CanonicalWriter.Key MASKED = CanonicalWriter.Key.of("masked");
    private static final CanonicalWriter.Key NAME = CanonicalWriter.Key.of("name");
    private static final CanonicalWriter.Key RULE = CanonicalWriter.Key.of("rule");

    /**
     * The column list and the command tags are written from cached bytes when they come back by identity: a
     * session hands the same lists for every result of a statement shape ({@code SessionAudit}).
     */
    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.number(BYTES, bytes)
                .stableArray(COLUMNS, columns, ResultEvent::writeColumns)
                .stableString(COMMAND_TAG, commandTag)
                .stableStrings(COMMAND_TAGS, commandTags)
                .number(DURATION_US, durationUs)
                .number(QUERY_SEQ, querySeq)
                .number(ROWS, rows)
                .string(SQLSTATE, sqlstate);
    }

    private static void writeColumns(CanonicalWriter out, List<Column> columns) {
        for (Column c : columns) {
            out.element().bool(MASKED, c.masked()).string(NAME, c.name()).string(RULE, c.rule()).end();
        }
    }

    @Override
    public void writeFields(ObjectNode record) {
        record.put("query_seq", querySeq);
        record.put("rows", rows);
        record.put("bytes", bytes);
        ArrayNode array = record.putArray("columns");
        for (Column c : columns) {
            ObjectNode o = array.addObject();
            o.put("name", c.name());
            o.put("masked", c.masked());
            o.put("rule", c.rule());
        }
        record.put("duration_us", durationUs);
        record.put("sqlstate", sqlstate);
        record.put("command_tag", commandTag);
        Fields.strings(record, "command_tags", commandTags);
    }
}
