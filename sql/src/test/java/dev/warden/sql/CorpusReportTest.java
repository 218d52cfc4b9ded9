package dev.warden.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The corpus report over a directory of psql scripts named by {@code -Dwarden.corpus=DIR}, such as PostgreSQL
 * 16's regression SQL (fetched as the README's test section says; never committed). Prints the report and
 * writes it to {@code target/corpus-report.txt}. It reports; it does not fail on the numbers.
 */
class CorpusReportTest {

    @Test
    @EnabledIfSystemProperty(named = "warden.corpus", matches = ".+")
    void reportsWhatWardenUnderstandsOfTheCorpus() throws Exception {
        Path dir = Path.of(System.getProperty("warden.corpus"));
        assertTrue(Files.isDirectory(dir), dir + " is not a directory");
        CorpusReport report = CorpusReport.of(dir);
        String text = report.format("corpus " + dir);
        System.out.println(text);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "corpus-report.txt"), text);
        assertTrue(report.all.total > 0, "no statements under " + dir);
    }

    @Test
    void psqlScriptsLoseTheirMetaCommandsAndCopyData() {
        String script = String.join("\n",
                "\\set x 1",
                "SELECT :x AS a \\gset",
                "COPY t (a, b) FROM stdin;",
                "1\tDROP TABLE t;",
                "\\.",
                "\\copy t FROM stdin",
                "2\tx",
                "\\.",
                "-- a comment",
                "COPY t",
                "  FROM STDIN WITH (FORMAT csv);",
                "3,y",
                "\\.",
                "SELECT 2;",
                "\\if :x",
                "SELECT 3",
                "\\g",
                "\\endif");
        assertEquals(String.join("\n",
                "SELECT :x AS a;",
                "COPY t (a, b) FROM stdin;",
                "-- a comment",
                "COPY t",
                "  FROM STDIN WITH (FORMAT csv);",
                "SELECT 2;",
                "SELECT 3",
                ";",
                ""), CorpusReport.withoutPsqlCommands(script));
    }
}
