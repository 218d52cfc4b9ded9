package dev.warden.proxy.session;

import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.FrontendMessage;
import dev.warden.proxy.session.OutstandingQueue.Entry;
import dev.warden.proxy.session.OutstandingQueue.Kind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * The requests Warden itself puts on a session's connection to learn a result's columns, whose answers the
 * client never sees (SKIP entries): what the session sees is what the statement will see, temporary tables and
 * {@code search_path} included.
 */
final class OwnRequests {

    private OwnRequests() {
    }

    /** What is sent instead of a refused statement; {@code marker} makes the server's error for it recognisable. */
    static FrontendMessage standIn(Kind kind, String marker) {
        return switch (kind) {
            // A Parse of text that cannot parse: the server fails it and skips to Sync, as for the client's.
            case PARSE -> new FrontendMessage.Parse(marker, marker, List.of());
            // An Execute of a portal that does not exist: fails without touching the client's statements.
            case EXECUTE -> new FrontendMessage.Execute(marker, 0);
            default -> new FrontendMessage.Query(marker);
        };
    }

    /**
     * A query of Warden's own on the session's connection whose first value (null after an error, such as in a
     * failed transaction) completes {@link #answered} at its ReadyForQuery.
     */
    static final class OwnQuery {
        final CompletableFuture<String> answered = new CompletableFuture<>();
        private String value;
        private boolean failed;

        void answer(byte type, ByteBuf frame) {
            if (type == 'D' && value == null) {
                byte[] first = ((BackendMessage.DataRow) BackendMessage.decode(frame)).values().get(0);
                value = first == null ? null : new String(first, StandardCharsets.UTF_8);
            } else if (type == 'E') {
                failed = true;
            } else if (type == 'Z') {
                answered.complete(failed ? null : value);
            }
        }
    }

    /**
     * Reads the session's search_path as the server resolves it ({@code current_schemas(true)}: the temporary
     * schema and pg_catalog included, schemas that do not exist left out). Sent only between the client's
     * batches, as a batch of its own: Parse, Bind, Execute and Close of a statement and portal named {@code name},
     * then Sync. Extended protocol with names of its own, because a simple Query would drop the client's unnamed
     * statement and portal, which a client may still use in its next batch. It changes nothing (inside a
     * transaction block it runs in it, read-only).
     */
    static OwnQuery readSearchPath(String name, BiConsumer<ByteBuf, Entry> send, ByteBufAllocator alloc) {
        return read(name, "SELECT pg_catalog.current_schemas(true)", send, alloc);
    }

    /**
     * Reads the name of the session's temporary schema, empty when its backend has none: {@code pg_temp_N}, N the
     * backend's number, the same name for the backend's whole life (namespace.c makes it so, and a rollback of the
     * transaction that made it makes the same name again). Sent as {@link #readSearchPath} is; every name in it
     * is schema-qualified, the operator too, as the session chose the search_path it runs under.
     */
    static OwnQuery readTemporarySchema(String name, BiConsumer<ByteBuf, Entry> send, ByteBufAllocator alloc) {
        return read(name, "SELECT coalesce((SELECT nspname::pg_catalog.text FROM pg_catalog.pg_namespace "
                + "WHERE oid OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()), '')", send, alloc);
    }

    /**
     * Reads the settings that change what a statement means and that the server does not report: the search_path
     * (as set, and the schemas it resolves to, the temporary one and pg_catalog included) and {@code
     * transform_null_equals}, as one text; then an MD5 of the definitions of {@code relations} (qualified or not, as
     * the statement names them, resolved by the session's search_path: which relation each is, its kind, a view's
     * query, its triggers with their functions' bodies, rules, row security and policies, column defaults), what
     * an approval of a statement naming them covers. Sent as {@link #readSearchPath} is, every name and operator
     * qualified.
     */
    static OwnQuery readUnreportedSettings(String name, List<String> relations, BiConsumer<ByteBuf, Entry> send,
                                           ByteBufAllocator alloc) {
        StringBuilder array = new StringBuilder("{");
        for (String relation : relations) {
            array.append(array.length() > 1 ? "," : "").append('"')
                    .append(relation.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        array.append('}');
        // Dollar-quoted: read alike whatever standard_conforming_strings is; a tag no name holds.
        String tag;
        do {
            tag = "$wq" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE)
                    + "$";
        } while (array.indexOf(tag) >= 0);
        return read(name, "SELECT pg_catalog.concat('search_path=', pg_catalog.current_setting('search_path'), "
                + "' (schemas: ', pg_catalog.array_to_string(pg_catalog.current_schemas(true), ', '), "
                + "'); transform_null_equals=', pg_catalog.current_setting('transform_null_equals'), "
                + "'\n-- definitions of the relations it names: md5 ', (SELECT pg_catalog.md5(pg_catalog.string_agg("
                + "d, ';;' ORDER BY d)) FROM (SELECT pg_catalog.concat_ws(' | ', n, c.oid::pg_catalog.regclass, "
                + "c.relkind, pg_catalog.pg_get_viewdef(c.oid), "
                + "(SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', pg_catalog.pg_get_triggerdef(t.oid), "
                + "t.tgenabled, p.prosrc), ';' ORDER BY t.tgname) FROM pg_catalog.pg_trigger t LEFT JOIN "
                + "pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid WHERE t.tgrelid "
                + "OPERATOR(pg_catalog.=) c.oid), "
                + "(SELECT pg_catalog.string_agg(pg_catalog.pg_get_ruledef(r.oid), ';' ORDER BY r.rulename) FROM "
                + "pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) c.oid), "
                + "(SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', o.polname, o.polcmd, o.polpermissive, "
                + "pg_catalog.pg_get_expr(o.polqual, o.polrelid), pg_catalog.pg_get_expr(o.polwithcheck, "
                + "o.polrelid)), ';' ORDER BY o.polname) FROM pg_catalog.pg_policy o WHERE o.polrelid "
                + "OPERATOR(pg_catalog.=) c.oid), c.relrowsecurity, "
                + "(SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', a.adnum, pg_catalog.pg_get_expr(a.adbin, "
                + "a.adrelid)), ';' ORDER BY a.adnum) FROM pg_catalog.pg_attrdef a WHERE a.adrelid "
                + "OPERATOR(pg_catalog.=) c.oid)) FROM pg_catalog.unnest(" + tag + array + tag
                + "::pg_catalog.text[]) n LEFT JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) "
                + "pg_catalog.to_regclass(n)) s(d)))", send, alloc);
    }

    private static OwnQuery read(String name, String sql, BiConsumer<ByteBuf, Entry> send, ByteBufAllocator alloc) {
        OwnQuery query = new OwnQuery();
        send.accept(new FrontendMessage.Parse(name, sql, List.of()).toByteBuf(alloc),
                Entry.ownQuery(Kind.PARSE, query));
        send.accept(new FrontendMessage.Bind(name, name, List.of(), List.of(), List.of()).toByteBuf(alloc),
                Entry.ownQuery(Kind.BIND, query));
        send.accept(new FrontendMessage.Execute(name, 0).toByteBuf(alloc), Entry.ownQuery(Kind.EXECUTE, query));
        send.accept(new FrontendMessage.Close('P', name).toByteBuf(alloc), Entry.ownQuery(Kind.CLOSE, query));
        send.accept(new FrontendMessage.Close('S', name).toByteBuf(alloc), Entry.ownQuery(Kind.CLOSE, query));
        send.accept(new FrontendMessage.Sync().toByteBuf(alloc), Entry.ownQuery(Kind.SYNC, query));
        return query;
    }

    /** A Describe of a portal the client bound without describing it, so its rows can still be masked. */
    static ByteBuf describePortal(String portal, ByteBufAllocator alloc) {
        return new FrontendMessage.Describe('P', portal).toByteBuf(alloc);
    }

    /**
     * Before the first Execute of a cursor from SQL DECLARE whose columns are not known: a Describe of its portal
     * (no Bind ever told Warden its columns), sent once, so its rows can be masked.
     */
    static void describeCursor(PreparedStatements.Portal portal, BiConsumer<ByteBuf, Entry> send,
                               ByteBufAllocator alloc) {
        if (portal != null && portal.declared && portal.describedFields() == null && !portal.describeSent) {
            portal.describeSent = true;
            send.accept(describePortal(portal.name, alloc), Entry.skip(portal));
        }
    }

    /**
     * Before a COPY TO STDOUT whose rows may be masked: Parse, Describe, Close of its query under {@code name}, on
     * the session's own connection, so the columns are those of the relations the session sees (its temporary
     * tables, its {@code search_path}); they land in {@code execution.copyDescription}. Between the client's
     * batches ({@code ownBatch}) a Sync of its own follows, so it never joins the client's transaction control or
     * error flow and its answers, errors included, are consumed. Inside the client's unsynced batch (a pipeline,
     * an extended-protocol COPY) it joins that batch with no Sync: an error of Warden's Describe is then relayed,
     * standing for the COPY's own (a COPY of a relation that does not exist fails the same way), and the server
     * skips to the client's Sync as it would have after the COPY.
     */
    static void describeCopy(Execution execution, String name, boolean ownBatch, BiConsumer<ByteBuf, Entry> send,
                             ByteBufAllocator alloc) {
        Optional<String> query = CopyStatements.copyDescribeQuery(execution.analysis);
        if (query.isEmpty()) {
            return;
        }
        PreparedStatements.Statement described = new PreparedStatements.Statement(name, query.get(), null,
                PreparedStatements.Origin.PROTOCOL, null);
        execution.copyDescription = described;
        java.util.function.Function<Kind, Entry> entry = kind -> ownBatch ? Entry.silent(kind, described)
                : Entry.inBatch(kind, described);
        send.accept(new FrontendMessage.Parse(name, query.get(), List.of()).toByteBuf(alloc), entry.apply(Kind.PARSE));
        send.accept(new FrontendMessage.Describe('S', name).toByteBuf(alloc), entry.apply(Kind.DESCRIBE_STATEMENT));
        send.accept(new FrontendMessage.Close('S', name).toByteBuf(alloc), entry.apply(Kind.CLOSE));
        if (ownBatch) {
            send.accept(new FrontendMessage.Sync().toByteBuf(alloc), entry.apply(Kind.SYNC));
        }
    }
}
