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

    @Override
    public void writeCanonical(CanonicalWriter out) {
        out.number("bytes", bytes).array("columns");
        for (Column c : columns) {
            out.element().bool("masked", c.masked()).string("name", c.name()).string("rule", c.rule()).end();
        }
        out.end()
                .string("command_tag", commandTag)
                .strings("command_tags", commandTags)
                .number("duration_us", durationUs)
                .number("query_seq", querySeq)
                .number("rows", rows)
                .string("sqlstate", sqlstate);
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
