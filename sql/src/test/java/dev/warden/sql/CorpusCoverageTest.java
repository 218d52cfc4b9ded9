package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * How much of real PostgreSQL SQL Warden understands, on every build: the SQL the Debian package
 * {@code postgresql-15} ships under {@code /usr/share/postgresql/15/} (the catalog views and functions
 * {@code initdb} runs, and the install and upgrade scripts of the contrib extensions). Third-party SQL is not
 * committed; {@code .ci/run} installs the package, and {@code -Dwarden.pg15.share=DIR} points elsewhere. The
 * report is printed and written to {@code target/corpus-coverage.txt}. {@link CorpusReportTest} runs the same
 * report over any directory, such as PostgreSQL 16's regression SQL.
 */
class CorpusCoverageTest {

    private static final Path SHARE = Path.of(System.getProperty("warden.pg15.share", "/usr/share/postgresql/15"));

    @Test
    void reportsCoverageOfTheSqlPostgresql15Ships() throws Exception {
        assertTrue(Files.isDirectory(SHARE.resolve("extension")), SHARE + " is missing: install the Debian package "
                + "postgresql-15 (.ci/run does), or set -Dwarden.pg15.share to a copy of its share directory");
        // One untimed pass first. JSqlParser's time is budgeted per text (Analyzer: 250 ms of parser CPU for a
        // whole text), and a cold JVM spent it on information_schema.sql's first half: the rest of that file then
        // counted as unparsed (95 of its 196 statements once, 1 when warm), so the report depended on which test
        // classes had run before. A running Warden's parser is warm; that is what this report is about.
        for (Path file : corpusFiles()) {
            new Analyzer(0).analyze(CorpusReport.withoutPsqlCommands(Files.readString(file)));
        }
        CorpusReport report = new CorpusReport();
        for (Path file : corpusFiles()) {
            report.addFile(file);
        }
        // The catalog views are the corpus's real SELECTs: each view's query is also analysed on its own.
        for (Path file : corpusFiles()) {
            Analyzer analyzer = new Analyzer(0);
            for (StatementFacts f : analyzer.analyze(CorpusReport.withoutPsqlCommands(Files.readString(file)))
                    .statements()) {
                viewQuery(f).ifPresent(report::addText);
            }
        }
        String text = report.format("postgresql-15's SQL under " + SHARE
                + " (with each catalog view's query also analysed as a SELECT of its own)");
        System.out.println(text);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "corpus-coverage.txt"), text);

        CorpusReport.Row all = report.all;
        assertTrue(all.total > 3000, "corpus has " + all.total + " statements");
        assertTrue(report.percent(report.known()) >= 99.0, text);
        assertTrue(report.percent(all.parser) >= 40, text);
        CorpusReport.Row select = report.rows.get(StatementKind.SELECT);
        assertTrue(select.total >= 100 && 100.0 * (select.parser + select.proof) / select.total >= 99, text);
        CorpusReport.Row create = report.rows.get(StatementKind.CREATE);
        assertTrue(100.0 * create.parser / create.total >= 60, text);
        assertTrue(report.rows.getOrDefault(StatementKind.OTHER, new CorpusReport.Row()).total * 100 <= all.total,
                text);
    }

    /** The files the committed copy held: the SQL initdb runs and the contrib extensions' scripts. */
    private static List<Path> corpusFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String name : List.of("information_schema.sql", "snowball_create.sql", "system_functions.sql",
                "system_views.sql")) {
            files.add(SHARE.resolve(name));
        }
        try (Stream<Path> extension = Files.list(SHARE.resolve("extension"))) {
            files.addAll(extension.filter(p -> p.toString().endsWith(".sql")).sorted().collect(Collectors.toList()));
        }
        return files;
    }

    /** The query of a {@code CREATE VIEW ... AS query}. */
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
}
