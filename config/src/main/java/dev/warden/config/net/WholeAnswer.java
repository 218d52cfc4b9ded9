package dev.warden.config.net;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An HTTP exchange that must be over, body included, within a time. A request's own timeout covers only the wait for
 * the response's headers (before JDK 26), so a server that sent them and then stopped held a blocking {@code send}
 * for good. Used wherever Warden talks HTTP: identity providers, witnesses, the command line.
 */
public final class WholeAnswer {

    private WholeAnswer() {
    }

    /** The answer did not come whole within the time given (the request's own timeout may not have passed). */
    public static final class Late extends HttpTimeoutException {
        Late(Duration within) {
            super("no complete answer within " + (within.toMillis() % 1000 == 0 ? within.toSeconds() + " s"
                    : within.toMillis() + " ms"));
        }
    }

    /**
     * {@code client.send(request, handler)}, given up (and cancelled) after {@code within}, with {@link Late}; the
     * exchange's own {@link IOException}s (its body handler's included) are thrown as they are.
     */
    public static <T> HttpResponse<T> send(HttpClient client, HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                           Duration within) throws IOException, InterruptedException {
        CompletableFuture<HttpResponse<T>> exchange = client.sendAsync(request, handler);
        try {
            return exchange.get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            exchange.cancel(true);
            throw new Late(within);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw cause instanceof IOException io ? io : new IOException(String.valueOf(cause.getMessage()), cause);
        } catch (InterruptedException e) {
            exchange.cancel(true);
            throw e;
        }
    }
}
