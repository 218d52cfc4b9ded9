package dev.warden.pg;

import io.netty.handler.codec.DecoderException;

/**
 * Malformed wire data. The message is safe to show to the peer (it names lengths and type bytes,
 * never payload contents), so the proxy can send it verbatim in a FATAL {@code ErrorResponse}.
 * Extends {@link DecoderException} so Netty's {@code ByteToMessageDecoder} passes it through unwrapped.
 */
public class ProtocolException extends DecoderException {
    private static final long serialVersionUID = 1L;

    private final String sqlState;

    public ProtocolException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
