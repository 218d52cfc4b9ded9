package dev.warden.audit;

import com.sun.net.httpserver.HttpServer;
import dev.warden.audit.witness.WitnessHead;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.net.URLDecoder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A witness endpoint as the README describes it ({@code POST} a head, {@code GET ?chain=NAME} the latest, 404 if
 * none; {@code GET ?chain=NAME&from_seq=N} the heads from seq N on, a JSON array in pages of {@link #PAGE}), in
 * process on a free port: keeps every head it is sent.
 */
final class HttpWitnessServer implements AutoCloseable {

    /** Small, so that reading a history takes several pages. */
    static final int PAGE = 3;

    private final Map<String, List<WitnessHead>> heads = new ConcurrentHashMap<>();
    private final HttpServer server;

    HttpWitnessServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/heads", exchange -> {
            if (exchange.getRequestMethod().equals("POST")) {
                WitnessHead head = WitnessHead.fromJson(exchange.getRequestBody().readAllBytes());
                heads.computeIfAbsent(head.chain(), c -> new CopyOnWriteArrayList<>()).add(head);
                exchange.sendResponseHeaders(204, -1);
            } else {
                Map<String, String> query = new HashMap<>();
                for (String pair : exchange.getRequestURI().getRawQuery().split("&")) {
                    int eq = pair.indexOf('=');
                    query.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
                List<WitnessHead> all = heads.getOrDefault(query.get("chain"), List.of());
                if (query.containsKey("from_seq")) {
                    long from = Long.parseLong(query.get("from_seq"));
                    List<WitnessHead> sorted = new ArrayList<>(all);
                    sorted.sort(Comparator.comparingLong(WitnessHead::seq));
                    StringBuilder page = new StringBuilder("[");
                    int n = 0;
                    long lastSeq = -1;
                    for (WitnessHead h : sorted) {
                        if (h.seq() < from) {
                            continue;
                        }
                        // A page never splits the heads of one seq.
                        if (n >= PAGE && h.seq() != lastSeq) {
                            break;
                        }
                        page.append(n++ == 0 ? "" : ",").append(new String(h.toJson(), StandardCharsets.UTF_8));
                        lastSeq = h.seq();
                    }
                    byte[] body = page.append(']').toString().getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(200, body.length);
                    exchange.getResponseBody().write(body);
                    exchange.close();
                    return;
                }
                WitnessHead head = all.stream().max(Comparator.comparingLong(WitnessHead::seq)).orElse(null);
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
