package dev.warden.proxy.upstream;

import dev.warden.pg.message.BackendMessage.BackendKeyData;
import dev.warden.pg.message.BackendMessage.ParameterStatus;
import io.netty.channel.Channel;

import java.util.List;

/**
 * An upstream session that has logged in and reached ReadyForQuery: what the client must be told
 * (parameter statuses, transaction status), the key to cancel its queries with, and the role it logged in as.
 */
public record UpstreamConnection(Channel channel, List<ParameterStatus> parameters, BackendKeyData backendKey,
                                 char transactionStatus, boolean tls, String loginUser) {
}
