package dev.warden.proxy.session;

import dev.warden.audit.event.QueryEvent;
import io.netty.buffer.ByteBuf;

/**
 * The exact bytes of the statement text in a Query or Parse frame, for audit records that must show what ran
 * when the text is not UTF-8. Reads the frame without moving its indexes; returns null for UTF-8 texts (their
 * decoded text is already exact), so the common case copies nothing.
 */
final class StatementBytes {

    private StatementBytes() {
    }

    /** The statement text of a Query frame ({@code 'Q'}, length, text NUL), or null when it is valid UTF-8. */
    static byte[] ofQuery(ByteBuf frame) {
        return unlessUtf8(frame, frame.readerIndex() + 5);
    }

    /** The statement text of a Parse frame ({@code 'P'}, length, name NUL, text NUL, ...), or null. */
    static byte[] ofParse(ByteBuf frame) {
        int nameEnd = frame.indexOf(frame.readerIndex() + 5, frame.writerIndex(), (byte) 0);
        return nameEnd < 0 ? null : unlessUtf8(frame, nameEnd + 1);
    }

    /** The statement name of a Parse frame ("" for the unnamed statement). */
    static String parseName(ByteBuf frame) {
        int start = frame.readerIndex() + 5;
        int end = frame.indexOf(start, frame.writerIndex(), (byte) 0);
        return end < 0 ? "" : frame.toString(start, end - start, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static byte[] unlessUtf8(ByteBuf frame, int start) {
        if (start > frame.writerIndex()) {
            return null;
        }
        int end = frame.indexOf(start, frame.writerIndex(), (byte) 0);
        if (end < 0) {
            return null;
        }
        boolean ascii = true;
        for (int i = start; i < end && ascii; i++) {
            ascii = frame.getByte(i) >= 0;
        }
        if (ascii) {
            return null;
        }
        byte[] bytes = new byte[end - start];
        frame.getBytes(start, bytes);
        return QueryEvent.unlessUtf8(bytes);
    }
}
