package dev.warden.audit;

import com.sun.net.httpserver.HttpServer;
import dev.warden.audit.witness.WitnessHead;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A witness endpoint as the README describes it ({@code POST} a head, {@code GET ?chain=NAME} the latest, 404 if
 * none), in process on a free port: keeps the highest head per chain.
 */
final class HttpWitnessServer implements AutoCloseable {

    private final Map<String, WitnessHead> heads = new ConcurrentHashMap<>();
    private final HttpServer server;

    HttpWitnessServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/heads", exchange -> {
            if (exchange.getRequestMethod().equals("POST")) {
                WitnessHead head = WitnessHead.fromJson(exchange.getRequestBody().readAllBytes());
                heads.merge(head.chain(), head, (a, b) -> a.seq() >= b.seq() ? a : b);
                exchange.sendResponseHeaders(204, -1);
            } else {
                String chain = java.net.URLDecoder.decode(exchange.getRequestURI().getRawQuery()
                        .replaceFirst("^chain=", ""), StandardCharsets.UTF_8);
                WitnessHead head = heads.get(chain);
                if (head == null) {
                    exchange.sendResponseHeaders(404, -1);
                } else {
                    byte[] body = head.toJson();
                    exchange.sendResponseHeaders(200, body.length);
                    exchange.getResponseBody().write(body);
                }
            }
            exchange.close();
        });
        server.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/heads");
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
