package dev.warden.audit.witness;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * Heads sent to an HTTP endpoint the security team runs: {@code POST <url>} with one head as JSON
 * ({@code chain, seq, hash, ts, key_id, signature}) answered by any 2xx once stored; {@code GET
 * <url>?chain=<name>} answered by the latest head as JSON, or 404 when the endpoint has none.
 */
public final class HttpWitnessStore implements WitnessStore {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final URI url;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    public HttpWitnessStore(URI url) {
        this.url = url;
    }

    @Override
    public String name() {
        return "http:" + url;
    }

    @Override
    public void publish(WitnessHead head) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(url).timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(head.toJson())).build();
        HttpResponse<String> response = send(request);
        if (response.statusCode() / 100 != 2) {
            throw new IOException("witness " + url + " answered HTTP " + response.statusCode());
        }
    }

    @Override
    public Optional<WitnessHead> latest(String chain) throws IOException {
        String separator = url.getRawQuery() == null ? "?" : "&";
        URI query = URI.create(url + separator + "chain=" + URLEncoder.encode(chain, StandardCharsets.UTF_8));
        HttpResponse<String> response = send(HttpRequest.newBuilder(query).timeout(TIMEOUT).GET().build());
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            throw new IOException("witness " + url + " answered HTTP " + response.statusCode());
        }
        try {
            return Optional.of(WitnessHead.fromJson(response.body().getBytes(StandardCharsets.UTF_8)));
        } catch (IllegalArgumentException e) {
            throw new IOException("witness " + url + " answered something that is not a head", e);
        }
    }

    private HttpResponse<String> send(HttpRequest request) throws IOException {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while talking to the witness " + url, e);
        }
    }

    @Override
    public void close() {
        // HttpClient holds no connection that must be released here.
    }
}
