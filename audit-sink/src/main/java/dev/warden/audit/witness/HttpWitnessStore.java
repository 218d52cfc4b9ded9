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
 * ({@code chain, seq, hash, ts, key_id, signature}) answered by any 2xx once stored (the endpoint keeps every
 * head it took, never replaces one); {@code GET <url>?chain=<name>} answered by the latest head as JSON, or 404
 * when the endpoint has none; {@code GET <url>?chain=<name>&from_seq=<n>} answered by a JSON array of the heads
 * with seq n or more, by ascending seq, as many as the endpoint likes but never splitting the heads of one seq
 * across two answers; an empty array after the last. The history is read page by page.
 */
public final class HttpWitnessStore implements WitnessStore {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HttpWitnessStore.class);

    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final URI url;
    /** The wait for a connection and for an answer's headers; the whole answer gets twice this. */
    private final Duration timeout;
    private final HttpClient client;

    public HttpWitnessStore(URI url) {
        this(url, TIMEOUT);
    }

    /** With another timeout than {@link #TIMEOUT} (tests). */
    HttpWitnessStore(URI url, Duration timeout) {
        this.url = url;
        this.timeout = timeout;
        this.client = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    @Override
    public String name() {
        return "http:" + url;
    }

    @Override
    public void publish(WitnessHead head) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout)
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
        HttpResponse<String> response = send(HttpRequest.newBuilder(query).timeout(timeout).GET().build());
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        if (response.statusCode() != 200) {
            throw new IOException("witness " + url + " answered HTTP " + response.statusCode());
        }
        WitnessHead head;
        try {
            head = WitnessHead.fromJson(response.body().getBytes(StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IOException("witness " + url + " answered something that is not a head", e);
        }
        return ofChain(head, chain) ? Optional.of(head) : Optional.empty();
    }

    /**
     * Whether {@code head}, as the endpoint answered it, is of {@code chain}: a head of another chain (another
     * instance's, signed with the same key) is none of it, and is logged and ignored as a head no key signed is.
     * Taken for this chain's, it stopped Warden at start as a cut log and made verify report one (an attacker's pass,
     * a147 F1); the Kafka witness filters by chain, and a PostgreSQL witness keys its rows by it.
     */
    private boolean ofChain(WitnessHead head, String chain) {
        if (head.chain().equals(chain)) {
            return true;
        }
        log.warn("audit witness {} answered a head of chain \"{}\" (seq {}) when asked for chain \"{}\"; ignored",
                url, head.chain(), head.seq(), chain);
        return false;
    }

    @Override
    public Heads heads(String chain, long fromSeq) {
        return new Heads() {
            private long next = fromSeq;
            private java.util.Iterator<com.fasterxml.jackson.databind.JsonNode> page;
            private boolean done;

            @Override
            public WitnessHead next() throws IOException {
                WitnessHead head;
                do {
                    head = following();
                } while (head != null && !ofChain(head, chain));
                return head;
            }

            private WitnessHead following() throws IOException {
                while (!done && (page == null || !page.hasNext())) {
                    com.fasterxml.jackson.databind.JsonNode array = fetch(chain, next);
                    if (array.isEmpty()) {
                        done = true;
                    } else if (!reaches(array, next)) {
                        // Asked for the heads from seq N on, it answered none of them: asking again from the same
                        // seq would read the same page without end (verify, and start-up, hung on it).
                        throw new IOException("witness " + url + " answered the heads from seq " + next
                                + " with none at or after it");
                    }
                    page = array.iterator();
                }
                if (done && !page.hasNext()) {
                    return null;
                }
                WitnessHead head;
                try {
                    head = WitnessHead.fromJson(page.next());
                } catch (IllegalArgumentException e) {
                    throw new IOException("witness " + url + " answered something that is not a head", e);
                }
                if (head.seq() < next - 1 || head.seq() < fromSeq) {
                    throw new IOException("witness " + url + " answered heads out of seq order (" + head.seq()
                            + " after asking from seq " + next + ")");
                }
                next = Math.max(next, head.seq() + 1);
                return head;
            }

            @Override
            public void close() {
            }
        };
    }

    /** Whether {@code page} holds a head of seq {@code from} or later. */
    private static boolean reaches(com.fasterxml.jackson.databind.JsonNode page, long from) {
        for (com.fasterxml.jackson.databind.JsonNode head : page) {
            if (head.path("seq").isIntegralNumber() && head.path("seq").asLong() >= from) {
                return true;
            }
        }
        return false;
    }

    private com.fasterxml.jackson.databind.JsonNode fetch(String chain, long fromSeq) throws IOException {
        String separator = url.getRawQuery() == null ? "?" : "&";
        URI query = URI.create(url + separator + "chain=" + URLEncoder.encode(chain, StandardCharsets.UTF_8)
                + "&from_seq=" + fromSeq);
        HttpResponse<String> response = send(HttpRequest.newBuilder(query).timeout(timeout).GET().build());
        if (response.statusCode() == 404) {
            return com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
        }
        if (response.statusCode() != 200) {
            throw new IOException("witness " + url + " answered HTTP " + response.statusCode());
        }
        com.fasterxml.jackson.databind.JsonNode body;
        try {
            body = new com.fasterxml.jackson.databind.ObjectMapper().readTree(response.body());
        } catch (IOException e) {
            throw new IOException("witness " + url + " answered something that is not JSON", e);
        }
        if (!body.isArray()) {
            throw new IOException("witness " + url + " does not serve its history of heads (GET ?chain=&from_seq= "
                    + "answered no JSON array): the log can only be checked against every head it holds");
        }
        return body;
    }

    /** The whole answer within twice the timeout (see WholeAnswer: a witness that stalled its body held it). */
    private HttpResponse<String> send(HttpRequest request) throws IOException {
        try {
            return dev.warden.config.net.WholeAnswer.send(client, request,
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8), timeout.multipliedBy(2));
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
