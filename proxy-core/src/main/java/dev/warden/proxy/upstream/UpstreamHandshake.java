package dev.warden.proxy.upstream;

import dev.warden.pg.auth.Md5Password;
import dev.warden.pg.auth.ScramSha256Client;
import dev.warden.pg.message.BackendMessage;
import dev.warden.pg.message.BackendMessage.AuthenticationCleartextPassword;
import dev.warden.pg.message.BackendMessage.AuthenticationMd5Password;
import dev.warden.pg.message.BackendMessage.AuthenticationOk;
import dev.warden.pg.message.BackendMessage.AuthenticationSasl;
import dev.warden.pg.message.BackendMessage.AuthenticationSaslContinue;
import dev.warden.pg.message.BackendMessage.AuthenticationSaslFinal;
import dev.warden.pg.message.BackendMessage.BackendKeyData;
import dev.warden.pg.message.BackendMessage.ErrorResponse;
import dev.warden.pg.message.BackendMessage.ParameterStatus;
import dev.warden.pg.message.BackendMessage.ReadyForQuery;
import dev.warden.pg.message.FrontendMessage.AuthenticationResponse;
import dev.warden.pg.message.StartupPacket;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.Promise;

import java.util.ArrayList;
import java.util.List;

/**
 * Logs a session into the upstream as the login chosen for it (trust, cleartext, MD5 or SCRAM-SHA-256) and
 * collects what the client must be told. Removed from the pipeline at ReadyForQuery.
 */
final class UpstreamHandshake extends ChannelInboundHandlerAdapter {

    private final String environment;
    private final UpstreamLogin login;
    private final Promise<UpstreamConnection> promise;
    private final List<ParameterStatus> parameters = new ArrayList<>();
    private BackendKeyData backendKey;
    private ScramSha256Client scram;
    private boolean authenticated;
    private boolean tls;

    UpstreamHandshake(String environment, UpstreamLogin login, Promise<UpstreamConnection> promise) {
        this.environment = environment;
        this.login = login;
        this.promise = promise;
    }

    void sendStartup(Channel ch, StartupPacket.StartupMessage startup, boolean overTls) {
        this.tls = overTls;
        ch.writeAndFlush(startup.toByteBuf(ch.alloc())).addListener(f -> {
            if (!f.isSuccess()) {
                fail(f.cause());
            }
        });
    }

    void fail(Throwable cause) {
        promise.tryFailure(cause);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        BackendMessage message;
        try {
            message = BackendMessage.decode(frame);
        } finally {
            frame.release();
        }
        try {
            onMessage(ctx, message);
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private void onMessage(ChannelHandlerContext ctx, BackendMessage message) {
        if (message instanceof AuthenticationOk) {
            authenticated = true;
        } else if (message instanceof AuthenticationCleartextPassword) {
            respond(ctx, AuthenticationResponse.password(password()));
        } else if (message instanceof AuthenticationMd5Password md5) {
            respond(ctx, AuthenticationResponse.password(Md5Password.encode(login.user(), password(), md5.salt())));
        } else if (message instanceof AuthenticationSasl sasl) {
            if (!sasl.mechanisms().contains("SCRAM-SHA-256")) {
                throw new UpstreamException("upstream offers SASL mechanisms " + sasl.mechanisms()
                        + " but Warden supports SCRAM-SHA-256 only");
            }
            scram = new ScramSha256Client(password());
            respond(ctx, AuthenticationResponse.saslInitial("SCRAM-SHA-256", scram.clientFirstMessage()));
        } else if (message instanceof AuthenticationSaslContinue c) {
            respond(ctx, AuthenticationResponse.saslResponse(scram().clientFinalMessage(c.data())));
        } else if (message instanceof AuthenticationSaslFinal f) {
            scram().verifyServerFinal(f.data());
        } else if (message instanceof BackendMessage.AuthenticationOther other) {
            throw new UpstreamException("upstream asks for an authentication method Warden does not support (code "
                    + other.code() + ")");
        } else if (message instanceof ParameterStatus p) {
            parameters.add(p);
        } else if (message instanceof BackendKeyData key) {
            backendKey = key;
        } else if (message instanceof ErrorResponse e) {
            throw new UpstreamException("upstream refused the login of user \"" + login.user() + "\": "
                    + e.message() + " (SQLSTATE " + e.sqlState() + ")");
        } else if (message instanceof ReadyForQuery ready) {
            if (!authenticated) {
                throw new UpstreamException("upstream sent ReadyForQuery before AuthenticationOk");
            }
            ctx.pipeline().remove(this);
            promise.trySuccess(new UpstreamConnection(ctx.channel(), List.copyOf(parameters), backendKey,
                    ready.status(), tls, login.user()));
        }
        // NoticeResponse and NegotiateProtocolVersion during startup need no answer.
    }

    private ScramSha256Client scram() {
        if (scram == null) {
            throw new UpstreamException("upstream sent a SASL message before choosing SASL");
        }
        return scram;
    }

    private String password() {
        if (login.password().isEmpty()) {
            throw new UpstreamException("upstream asks for the password of \"" + login.user() + "\" but "
                    + "environment \"" + environment + "\" has none (set password_env or password_file)");
        }
        return login.password().reveal();
    }

    private static void respond(ChannelHandlerContext ctx, AuthenticationResponse response) {
        ctx.writeAndFlush(response.toByteBuf(ctx.alloc()));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail(new UpstreamException("upstream closed the connection during login"));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(cause);
    }
}
