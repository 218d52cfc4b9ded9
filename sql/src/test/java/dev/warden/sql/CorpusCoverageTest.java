package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import net.sf.jsqlparser.statement.UnsupportedStatement;
import org.junit.jupiter.api.Test;

/**
 * How much of a corpus of real PostgreSQL statements (see {@code corpus/README.md}) JSqlParser parses, how much
 * the lexer understands exactly, and how much is left {@code unparsed}; per statement kind. The table is
 * printed and written to {@code target/corpus-coverage.txt}.
 */
class CorpusCoverageTest {

    /** Per kind: statements, parsed by JSqlParser, understood by the lexer, unparsed, JSqlParser alone. */
    private static final class Row {
        int total;
        int parser;
        int lexer;
        int unparsed;
        int jsqlAlone;
    }

    @Test
    void reportsParserAndLexerCoverageOfThePostgresCorpus() throws Exception {
        Analyzer analyzer = new Analyzer(0);
        GuardedParser raw = new GuardedParser(Analyzer.DEFAULT_PARSE_TIMEOUT.toNanos());
        Map<StatementKind, Row> rows = new EnumMap<>(StatementKind.class);
        Row all = new Row();
        int files = 0;
        for (Path file : corpusFiles()) {
            files++;
            List<StatementFacts> statements = new ArrayList<>();
            for (StatementFacts f : analyzer.analyze(withoutPsqlCommands(file)).statements()) {
                statements.add(f);
                viewQuery(f).ifPresent(query -> statements.addAll(analyzer.analyze(query).statements()));
            }
            for (StatementFacts f : statements) {
                List<Lexer.Token> tokens = Lexer.tokenize(f.text()).tokens();
                Row row = rows.computeIfAbsent(f.kind(), k -> new Row());
                boolean viaParser = LexicalAnalysis.usesParser(tokens);
                boolean jsql = raw.parse(Shape.parserText(tokens)) instanceof GuardedParser.Parsed p
                        && !(p.statement() instanceof UnsupportedStatement);
                for (Row r : new Row[] {row, all}) {
                    r.total++;
                    if (f.unparsed()) {
                        r.unparsed++;
                    } else if (viaParser && jsql) {
                        r.parser++;
                    } else {
                        r.lexer++;
                    }
                    if (jsql) {
                        r.jsqlAlone++;
                    }
                }
            }
        }
        String report = report(rows, all, files);
        System.out.println(report);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "corpus-coverage.txt"), report);

        assertTrue(all.total > 3000, "corpus has " + all.total + " statements");
        assertTrue(percent(all.parser + all.lexer, all.total) >= 95, report);
        assertTrue(percent(all.parser, all.total) >= 40, report);
        Row select = rows.get(StatementKind.SELECT);
        assertTrue(select.total >= 100 && percent(select.parser, select.total) >= 90, report);
        Row create = rows.get(StatementKind.CREATE);
        assertTrue(percent(create.parser, create.total) >= 60, report);
        assertTrue(rows.getOrDefault(StatementKind.OTHER, new Row()).total * 100 <= all.total, report);
    }

    /**
     * The query of a {@code CREATE VIEW ... AS query}: the catalog views are the corpus's real SELECTs, so each
     * is also analysed on its own.
     */
    private static Optional<String> viewQuery(StatementFacts f) {
        if (f.kind() != StatementKind.CREATE || !f.objectType().endsWith("VIEW")) {
            return Optional.empty();
        }
        List<Lexer.Token> tokens = Lexer.tokenize(f.text()).tokens();
        int depth = 0;
        for (int i = 0; i + 1 < tokens.size(); i++) {
            Lexer.Token t = tokens.get(i);
            if (t.isOp("(")) {
                depth++;
            } else if (t.isOp(")")) {
                depth--;
            } else if (depth == 0 && t.isWord("as")) {
                return Optional.of(f.text().substring(tokens.get(i + 1).start()));
            }
        }
        return Optional.empty();
    }

    private static String report(Map<StatementKind, Row> rows, Row all, int files) {
        StringBuilder out = new StringBuilder();
        out.append(String.format("JSqlParser/lexer coverage over %d statements in %d files of corpus/ "
                + "(with each catalog view's query also analysed as a SELECT of its own)%n", all.total, files));
        out.append("parsed: JSqlParser parsed it; lexer: the lexer knows its whole grammar (including CREATE/ALTER of "
                + "declarative object types JSqlParser fails on); unparsed: JSqlParser "
                + "failed and the lexer gave best-effort facts; jsql-alone: JSqlParser parses it (not counting "
                + "its UnsupportedStatement)\n");
        out.append(String.format("%-26s %7s %7s %7s %9s %11s%n",
                "kind", "total", "parsed", "lexer", "unparsed", "jsql-alone"));
        rows.forEach((kind, r) -> out.append(line(kind.name(), r)));
        out.append(line("ALL", all));
        out.append(String.format("parsed by JSqlParser %.1f %%, understood by the lexer %.1f %%, unparsed %.1f %%; "
                        + "JSqlParser alone parses %.1f %% of all statements%n",
                percent(all.parser, all.total), percent(all.lexer, all.total), percent(all.unparsed, all.total),
                percent(all.jsqlAlone, all.total)));
        return out.toString();
    }

    private static String line(String kind, Row r) {
        return String.format("%-26s %7d %7d %7d %9d %11d%n", kind, r.total, r.parser, r.lexer, r.unparsed,
                r.jsqlAlone);
    }

    private static double percent(int part, int whole) {
        return whole == 0 ? 0 : 100.0 * part / whole;
    }

    private static List<Path> corpusFiles() throws IOException, URISyntaxException {
        Path root = Path.of(CorpusCoverageTest.class.getResource("/corpus").toURI());
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.toString().endsWith(".sql")).sorted().collect(Collectors.toList());
        }
    }

    private static String withoutPsqlCommands(Path file) throws IOException {
        return Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                .filter(line -> !line.startsWith("\\"))
                .collect(Collectors.joining("\n"));
    }
}
