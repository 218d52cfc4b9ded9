package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.warden.testkit.SimpleQueryClient;
import dev.warden.testkit.TestPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The long run for {@link CommandTags}: every statement of a corpus of SQL files (PostgreSQL's regression SQL)
 * runs on the real server, one Query per statement as Warden splits the file, and every tag the server reports
 * for a statement that succeeded must agree with Warden's analysis. A disagreement here is a false alarm the
 * tripwire would raise on legitimate traffic (or a statement Warden reads wrongly). Off by default; run it with
 * a directory of {@code .sql} files:
 *
 * <pre>
 * git -C /path/to/libpg_query archive 16-latest test/sql/postgres_regress | tar -x -C /tmp/corpus
 * mvn -o -q -pl sql -am verify -Dtest=CommandTagsCorpusRun -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dwarden.corpus=/tmp/corpus/test/sql/postgres_regress
 * </pre>
 *
 * Lines starting with a backslash (psql meta-commands) are dropped; statements that fail on the server are
 * counted, not compared (many depend on files and settings the regression harness provides). Each file runs in
 * a fresh database with {@code statement_timeout = 5s}.
 */
@EnabledIfSystemProperty(named = "warden.corpus", matches = ".+")
class CommandTagsCorpusRun {

    @Test
    void everyTagTheServerReportsForTheCorpusAgreesWithWardensAnalysis() throws Exception {
        Path dir = Path.of(System.getProperty("warden.corpus"));
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir)) {
            files = listing.filter(p -> p.toString().endsWith(".sql")).sorted().toList();
        }
        Analyzer analyzer = new Analyzer(10_000);
        Map<String, List<String>> disagreements = new TreeMap<>();
        int[] counts = new int[5]; // ran, agreed, failed, answered differently than split, agreed as OTHER
        try (TestPostgres pg = TestPostgres.start()) {
            for (Path file : files) {
                runFile(pg, file, analyzer, disagreements, counts);
            }
        }
        System.out.printf("corpus %s: %d files, %d statements run, %d agreed, %d failed on the server, "
                + "%d answered with another number of statements; %d tag disagreements; of those agreeing, %d are "
                + "kind OTHER (no claim)%n", dir, files.size(), counts[0], counts[1], counts[2], counts[3],
                disagreements.values().stream().mapToInt(List::size).sum(), counts[4]);
        disagreements.forEach((key, examples) -> System.out.println("  " + key + " ×" + examples.size() + ": "
                + examples.get(0)));
        assertEquals(Map.of(), disagreements);
    }

    private static void runFile(TestPostgres pg, Path file, Analyzer analyzer, Map<String, List<String>> out,
                                int[] counts) throws IOException {
        String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).lines()
                .filter(l -> !l.stripLeading().startsWith("\\")).reduce(new StringBuilder(),
                        (b, l) -> b.append(l).append('\n'), StringBuilder::append).toString();
        String database = pg.createDatabase("corpus");
        Map<String, StatementFacts> prepared = new HashMap<>();
        SimpleQueryClient server = SimpleQueryClient.connect(pg, database);
        try {
            server.run("SET statement_timeout = '5s'");
            for (StatementFacts facts : analyzer.analyze(text).statements()) {
                List<String> answers;
                try {
                    answers = server.run(facts.text());
                } catch (IOException lost) {
                    counts[2]++;
                    server.close();
                    server = SimpleQueryClient.connect(pg, database);
                    server.run("SET statement_timeout = '5s'");
                    continue;
                }
                counts[0]++;
                if (answers.stream().anyMatch(a -> a.startsWith("ERROR"))) {
                    counts[2]++;
                    continue;
                }
                if (answers.size() != 1) {
                    counts[3]++;
                    continue;
                }
                String tag = answers.get(0);
                if (facts.kind() == StatementKind.PREPARE && facts.preparedName().isPresent()
                        && facts.inner().isPresent()) {
                    prepared.put(facts.preparedName().get(), facts.inner().get());
                }
                if (CommandTags.agrees(facts, tag, name -> Optional.ofNullable(prepared.get(name)))) {
                    counts[1]++;
                    if (facts.kind() == StatementKind.OTHER) {
                        counts[4]++;
                    }
                } else {
                    out.computeIfAbsent(CommandTags.reading(facts) + " → " + CommandTags.verb(tag),
                            k -> new ArrayList<>()).add(file.getFileName() + ": " + abbreviate(facts.text()));
                }
            }
        } finally {
            server.close();
        }
    }

    private static String abbreviate(String sql) {
        String flat = sql.replaceAll("\\s+", " ");
        return flat.length() > 160 ? flat.substring(0, 160) + "…" : flat;
    }
}
