package dev.warden.proxy;

import dev.warden.pg.message.FrontendMessage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A masked session speaking the wire protocol, for the masking attack tests ({@link MaskingRedTeamTest},
 * {@link MaskingPass14Test}); {@link #query} returns every byte of the answer as text.
 */
final class MaskedAttacker implements AutoCloseable {
    final RawClient client;

    MaskedAttacker(WardenHarness w) throws IOException {
        client = new RawClient(w.port());
        client.login("dev", WardenHarness.USER, w.token());
    }

    String query(String sql) throws IOException {
        client.send(new FrontendMessage.Query(sql));
        return untilReady();
    }

    void send(FrontendMessage m) throws IOException {
        client.send(m);
    }

    /** Parses {@code sql} as the named statement {@code s1} and waits for the answer. */
    void prepare(String sql) throws IOException {
        send(new FrontendMessage.Parse("s1", sql, List.of()));
        send(new FrontendMessage.Sync());
        untilReady();
    }

    /** Parses, binds (text parameters), describes and runs {@code sql} unnamed, without a Sync. */
    void unnamed(String sql, byte[]... parameters) throws IOException {
        send(new FrontendMessage.Parse("", sql, List.of()));
        send(new FrontendMessage.Bind("", "", List.of(), List.of(parameters), List.of()));
        send(new FrontendMessage.Describe('P', ""));
        send(new FrontendMessage.Execute("", 0));
    }

    /** Binds {@code s1} to the unnamed portal, describes it if asked, runs it and returns the answer. */
    String runPrepared(boolean describe) throws IOException {
        send(new FrontendMessage.Bind("", "s1", List.of(), List.of(), List.of()));
        if (describe) {
            send(new FrontendMessage.Describe('P', ""));
        }
        send(new FrontendMessage.Execute("", 0));
        send(new FrontendMessage.Sync());
        return untilReady();
    }

    String untilReady() throws IOException {
        StringBuilder all = new StringBuilder();
        byte[] frame;
        do {
            frame = client.readFrame();
            all.append((char) frame[0]).append(new String(frame, 5, frame.length - 5, StandardCharsets.UTF_8))
                    .append('\n');
            if (frame[0] == 'G') {
                // COPY ... FROM STDIN: one row of one text column ("x"), as an attacker's client would send.
                client.send(new FrontendMessage.CopyData("x\n".getBytes(StandardCharsets.UTF_8)));
                client.send(new FrontendMessage.CopyDone());
            }
        } while (frame[0] != 'Z');
        return all.toString();
    }

    @Override
    public void close() throws IOException {
        client.close();
    }
}
