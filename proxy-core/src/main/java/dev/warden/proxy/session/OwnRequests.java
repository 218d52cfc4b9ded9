package dev.warden.proxy.session;

import dev.warden.pg.message.FrontendMessage;
import dev.warden.proxy.session.OutstandingQueue.Entry;
import dev.warden.proxy.session.OutstandingQueue.Kind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * The requests Warden itself puts on a session's connection to learn a result's columns, whose answers the
 * client never sees (SKIP entries): what the session sees is what the statement will see, temporary tables and
 * {@code search_path} included.
 */
final class OwnRequests {

    private OwnRequests() {
    }

    /** A Describe of a portal the client bound without describing it, so its rows can still be masked. */
    static ByteBuf describePortal(String portal, ByteBufAllocator alloc) {
        return new FrontendMessage.Describe('P', portal).toByteBuf(alloc);
    }

    /**
     * Before a COPY TO STDOUT whose rows may be masked: Parse, Describe, Close of its query under {@code name},
     * then Sync. The caller sends it only between the client's batches, so it never joins the client's
     * transaction control or error flow; the columns land in {@code execution.copyDescription}.
     */
    static void describeCopy(Execution execution, String name, BiConsumer<ByteBuf, Entry> send,
                             ByteBufAllocator alloc) {
        Optional<String> query = ResultMasking.copyDescribeQuery(execution.analysis);
        if (query.isEmpty()) {
            return;
        }
        PreparedStatements.Statement described = new PreparedStatements.Statement(name, query.get(), null,
                PreparedStatements.Origin.PROTOCOL, null);
        execution.copyDescription = described;
        send.accept(new FrontendMessage.Parse(name, query.get(), List.of()).toByteBuf(alloc),
                Entry.silent(Kind.PARSE, described));
        send.accept(new FrontendMessage.Describe('S', name).toByteBuf(alloc),
                Entry.silent(Kind.DESCRIBE_STATEMENT, described));
        send.accept(new FrontendMessage.Close('S', name).toByteBuf(alloc), Entry.silent(Kind.CLOSE, described));
        send.accept(new FrontendMessage.Sync().toByteBuf(alloc), Entry.silent(Kind.SYNC, described));
    }
}
