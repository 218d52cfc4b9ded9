package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.warden.testkit.TestPostgres;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Which operators a run of operator characters is, as Warden's lexer reads it and as PostgreSQL does (generated runs,
 * seed printed; {@code -Dwarden.fuzz.operators=N -Dwarden.fuzz.seed=S} for more). The oracle is the server's own
 * error: between two values of a type no operator takes ({@code jsonpath}), {@code a op1 op2 ... opN b} is
 * {@code a op1 (op2 (... (opN b)))}, and the server looks the innermost up first, so its "operator does not exist"
 * names {@code opN jsonpath} (a prefix operator) or, for one operator, {@code jsonpath op1 jsonpath}. A user operator of
 * the name the server reads runs its function: a name Warden reads differently is code Warden does not judge (an
 * attacker's pass ran {@code <} as {@code <-1} and {@code <>} as {@code !=}, each deleting a guarded table's rows).
 */
class OperatorLexingDifferentialTest {

    private static TestPostgres postgres;
    /** The raw protocol: pgJDBC would read ?? in the text as its escape for ?. */
    private static WireClient connection;

    @BeforeAll
    static void start() throws java.io.IOException {
        postgres = TestPostgres.start();
        connection = WireClient.connect(postgres.host(), postgres.port(), postgres.superuser(),
                postgres.superuserPassword(), "postgres", java.util.Map.of("lc_messages", "C"));
    }

    @AfterAll
    static void stop() throws java.io.IOException {
        if (connection != null) {
            connection.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    private static final String CHARS = "+-*/<>=~!@#%^&|`?";

    /** What the server says of {@code '$'::jsonpath RUN '$'::jsonpath}: the operator it looked up, or its error. */
    private static String server(String run) {
        WireClient.QueryResult result;
        try {
            result = connection.query("SELECT '$'::jsonpath " + run + " '$'::jsonpath");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        for (WireClient.Event e : result.events()) {
            if (e instanceof WireClient.Failure f) {
                int at = f.message().indexOf("operator does not exist: ");
                return at < 0 ? "error " + f.sqlState()
                        : f.message().substring(at + "operator does not exist: ".length()).strip();
            }
        }
        return "ran";
    }

    /** The same, from Warden's tokens of the run. */
    private static String warden(String run) {
        List<Lexer.Token> tokens = Lexer.tokenize(run).tokens();
        List<String> ops = new ArrayList<>();
        for (Lexer.Token t : tokens) {
            if (t.type() != Lexer.Type.OPERATOR) {
                return "not only operators: " + tokens;
            }
            ops.add(t.value());
        }
        return ops.size() == 1 ? "jsonpath " + ops.get(0) + " jsonpath" : ops.get(ops.size() - 1) + " jsonpath";
    }

    @Test
    void generatedOperatorRunsAreTheOperatorsTheServerReads() {
        int cases = Integer.getInteger("warden.fuzz.operators", 400);
        long seed = Long.getLong("warden.fuzz.seed", System.nanoTime());
        System.out.println("OperatorLexingDifferentialTest seed " + seed + " (-Dwarden.fuzz.seed=" + seed + ")");
        Random random = new Random(seed);
        List<String> differ = new ArrayList<>();
        int compared = 0;
        for (int i = 0; i < cases; i++) {
            StringBuilder run = new StringBuilder();
            int length = 1 + random.nextInt(5);
            for (int k = 0; k < length; k++) {
                run.append(CHARS.charAt(random.nextInt(CHARS.length())));
            }
            String text = run.toString();
            if (text.contains("--") || text.contains("/*")) {
                continue; // a comment, not an operator
            }
            String server = server(text);
            if (server.equals("ran") || server.startsWith("error ")) {
                continue; // a syntax error (=> and the like), or an operator that takes jsonpath: nothing to compare
            }
            compared++;
            String warden = warden(text);
            if (!server.equals(warden)) {
                differ.add(text + ": server " + server + ", Warden " + warden);
            }
        }
        assertTrue(compared > cases / 3, "seed " + seed + ": only " + compared + " runs compared");
        assertEquals(List.of(), differ, "seed " + seed);
    }

    @Test
    void theAttackersRunsAreReadAsTheServerReadsThem() {
        for (String run : List.of("!=", "<-", "=-", "<=-", "<>-", "?-", "@-", "<-+", "!=-", "~-", "+-")) {
            assertEquals(server(run), warden(run), run);
        }
    }
}
