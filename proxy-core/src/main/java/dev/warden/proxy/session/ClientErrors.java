package dev.warden.proxy.session;

import dev.warden.identity.AuthenticationException;
import dev.warden.pg.ProtocolException;
import dev.warden.pg.SqlState;
import dev.warden.pg.message.BackendMessage.ErrorResponse;
import dev.warden.proxy.approvals.ApprovalException;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;

import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;

/** The one place that maps failures to the SQLSTATE and message a client sees. */
final class ClientErrors {

    private ClientErrors() {
    }

    static ErrorResponse fatal(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof SessionException s) {
            return ErrorResponse.of("FATAL", s.sqlState(), s.getMessage(), s.detail(), null);
        }
        if (t instanceof AuthenticationException a) {
            return ErrorResponse.of("FATAL", a.sqlState(), a.getMessage());
        }
        if (t instanceof ProtocolException p) {
            return ErrorResponse.of("FATAL", p.sqlState(), "invalid frontend message: " + p.getMessage());
        }
        if (t instanceof StackOverflowError) {
            // Nesting deeper than Warden's reading follows (a138 F8): the session cannot be trusted to go on.
            return ErrorResponse.of("FATAL", SqlState.STATEMENT_TOO_COMPLEX,
                    "statement too complex: Warden ran out of stack reading it; the session was closed");
        }
        return ErrorResponse.of("FATAL", SqlState.INTERNAL_ERROR,
                "Warden internal error (" + t.getClass().getSimpleName() + "); the session was closed");
    }

    static ErrorResponse fatal(String sqlState, String message) {
        return ErrorResponse.of("FATAL", sqlState, message);
    }

    /** Describes why an upstream connection could not be made, without a stack trace. */
    static String describeConnectFailure(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof ConnectTimeoutException) {
            return "connection timed out";
        }
        if (t instanceof ConnectException) {
            return "connection refused";
        }
        if (t instanceof ClosedChannelException) {
            return "connection closed by the server";
        }
        if (t instanceof SessionException) {
            return t.getMessage();
        }
        String msg = t.getMessage();
        return msg == null ? t.getClass().getSimpleName() : msg;
    }

    /**
     * The SQLSTATE of a statement refused because its approval could not be requested: 53400 when its requester
     * is at {@code approvals.max_pending_per_requester}, else 42501 (it needs an approval it does not have).
     */
    static String approvalNotRequested(Throwable failure) {
        return unwrap(failure) instanceof ApprovalException a && a.kind() == ApprovalException.Kind.TOO_MANY_PENDING
                ? SqlState.CONFIGURATION_LIMIT_EXCEEDED : SqlState.INSUFFICIENT_PRIVILEGE;
    }

    static Throwable unwrap(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof DecoderException && !(t instanceof ProtocolException)
                || t instanceof java.util.concurrent.CompletionException
                || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /**
     * Logs a failure on a client's connection the way every session phase does. Returns true when the connection
     * should just be closed (the client went away, or TLS broke: nobody can read an error), false when the client
     * should be sent a FATAL error first.
     */
    static boolean logClientFailure(Throwable t, String session, Object client, org.slf4j.Logger log) {
        if (t instanceof java.io.IOException && !(t instanceof javax.net.ssl.SSLException)) {
            log.debug("client.io_error session={} reason=\"{}\"", session, t.getMessage());
            return true;
        }
        if (t instanceof ProtocolException || t instanceof SessionException) {
            log.info("session.refused session={} client={} reason=\"{}\"", session, client, t.getMessage());
        } else if (t instanceof javax.net.ssl.SSLException || t instanceof DecoderException) {
            log.info("client.tls_error session={} client={} reason=\"{}\"", session, client, t.getMessage());
            return true;
        } else {
            log.error("session.error session={}", session, t);
        }
        return false;
    }
}
