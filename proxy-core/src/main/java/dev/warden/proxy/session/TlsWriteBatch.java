package dev.warden.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.internal.PlatformDependent;

/**
 * Gathers the small messages written to a TLS peer between two flushes into one buffer, so that the
 * {@code SslHandler} below it takes one write per flush instead of one per message. A statement's answer to the
 * client is four or five messages (RowDescription, DataRow, CommandComplete, ReadyForQuery, a masking notice), a
 * prepared statement's request upstream three (Bind, Execute, Sync), and each write into the {@code SslHandler}
 * queues it and counts its bytes against the channel's writability, through the pipeline: measured (JFR,
 * {@code pgbench -S -c 16}) at about 4 % of the event loops' samples. The
 * {@code SslHandler} copies those messages into one buffer before it encrypts them anyway; here they are copied
 * into it as they come, so nothing is copied twice.
 *
 * <p>Sits right above the {@code SslHandler}, so every write of the handlers above passes it, in order. A message
 * larger than {@link #SMALL}, one written with a promise of its own, and anything not a buffer go down as they
 * are, after what was gathered before them. A flush or a close sends the gathered bytes down first; removing
 * the handler releases them (the channel is going, and its unflushed writes with it). Event loop only.
 *
 * <p>The last batch of a flush is used again for the next one when the flush left nobody else holding it (its
 * reference count back to this handler's own): the {@code SslHandler} encrypts what a flush sends before the
 * flush returns, except during the handshake or when its peer does not read. Taking a pooled buffer and giving
 * it back costs Netty's Recycler and its pinned-memory counter each time (JFR, {@code pgbench -S -c 16}: about
 * 5 % of the event loops' samples for all of the relay's pooled buffers); a statement's answer then takes none
 * here. A batch grown past {@link #MAX_KEPT} is not kept, so an idle session holds at most that much.
 */
final class TlsWriteBatch extends ChannelDuplexHandler {

    /** Messages up to this size are copied into the batch; larger ones are passed down whole, never copied here. */
    static final int SMALL = 2048;
    /** A batch is sent down when the next message would take it past this (the size a TLS record carries). */
    static final int MAX_BATCH = 16 * 1024;
    /** The largest batch kept for the next flush. */
    static final int MAX_KEPT = 1024;

    private ByteBuf batch;
    /** The last batch sent down since the last flush, with a count of this handler's own; null: none. */
    private ByteBuf sent;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf buf && promise.isVoid() && buf.readableBytes() <= SMALL) {
            int size = buf.readableBytes();
            if (batch != null && batch.writerIndex() + size > MAX_BATCH) {
                sendBatch(ctx);
            }
            if (batch == null) {
                batch = ctx.alloc().directBuffer(Math.max(256, size * 2), MAX_BATCH);
            }
            try {
                append(buf, size);
            } finally {
                buf.release();
            }
            return;
        }
        sendBatch(ctx);
        ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        sendBatch(ctx);
        ctx.flush();
        ByteBuf last = sent;
        if (last != null) {
            sent = null;
            if (batch == null && last.refCnt() == 1 && last.capacity() <= MAX_KEPT) {
                batch = last.clear(); // nobody below holds it: its bytes went out, it takes the next flush's
            } else {
                last.release();
            }
        }
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
        // What was written before the close goes down as it did without this handler (the SslHandler decides).
        sendBatch(ctx);
        ctx.close(promise);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (batch != null) {
            batch.release();
            batch = null;
        }
        if (sent != null) {
            sent.release();
            sent = null;
        }
    }

    /**
     * Copies {@code size} readable bytes of {@code buf} to the batch. Most messages are slices of the buffer a
     * frame was read into: {@code writeBytes} copies those through two NIO views made for the copy (JFR, {@code
     * pgbench -S -c 16}: 8 % of the bytes Warden's event loops allocated), and a heap message (the masking notice)
     * through one; with the batch's native address and the message's address or array the bytes are copied
     * directly.
     */
    private void append(ByteBuf buf, int size) {
        ByteBuf into = batch;
        if (size > 0 && into.hasMemoryAddress() && (buf.hasMemoryAddress() || buf.hasArray())) {
            into.ensureWritable(size);
            int at = into.writerIndex();
            if (buf.hasMemoryAddress()) {
                PlatformDependent.copyMemory(buf.memoryAddress() + buf.readerIndex(), into.memoryAddress() + at,
                        size);
            } else {
                PlatformDependent.copyMemory(buf.array(), buf.arrayOffset() + buf.readerIndex(),
                        into.memoryAddress() + at, size);
            }
            into.writerIndex(at + size);
            buf.skipBytes(size);
        } else {
            into.writeBytes(buf);
        }
    }

    /** Sends the gathered bytes down (an empty batch, one kept from the last flush, stays here). */
    private void sendBatch(ChannelHandlerContext ctx) {
        ByteBuf gathered = batch;
        if (gathered != null && gathered.isReadable()) {
            batch = null;
            ByteBuf earlier = sent;
            sent = null;
            if (earlier != null) {
                earlier.release(); // an earlier batch of this flush: only the last one may be kept
            }
            sent = gathered.retain();
            ctx.write(gathered, ctx.voidPromise());
        }
    }
}
