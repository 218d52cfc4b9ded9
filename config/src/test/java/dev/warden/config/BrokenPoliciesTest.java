package dev.warden.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Each {@code broken-policies/NAME.yaml} is refused by {@link PolicyLoader#load} with exactly the line in
 * {@code NAME.expected}: {@code NAME.yaml:line:column: path: reason}. The fixtures are what an admin would get
 * wrong; {@code warden policy check} prints the same message.
 */
class BrokenPoliciesTest {

    private static Path fixtures() throws URISyntaxException {
        return Path.of(BrokenPoliciesTest.class.getResource("/broken-policies").toURI());
    }

    @Test
    void thereAreFixturesAndEachHasItsExpectedMessage() throws Exception {
        List<Path> yamls = yamlFiles();
        assertTrue(yamls.size() >= 10, "at least ten broken policies: " + yamls);
        for (Path yaml : yamls) {
            assertTrue(Files.isRegularFile(expectedFile(yaml)), "missing " + expectedFile(yaml).getFileName());
        }
    }

    @TestFactory
    Stream<DynamicTest> eachBrokenPolicyIsRefusedWithItsFileLineColumnMessage() throws Exception {
        return yamlFiles().stream().map(yaml -> DynamicTest.dynamicTest(yaml.getFileName().toString(), () -> {
            PolicyException e = assertThrows(PolicyException.class, () -> PolicyLoader.load(yaml));
            String message = e.getMessage().replace(yaml.toString(), yaml.getFileName().toString());
            assertEquals(Files.readString(expectedFile(yaml), StandardCharsets.UTF_8).strip(), message);
            assertTrue(e.line() > 0 && e.column() > 0, "points at a place in the file: " + message);
        }));
    }

    private static List<Path> yamlFiles() throws IOException, URISyntaxException {
        try (Stream<Path> files = Files.list(fixtures())) {
            return files.filter(p -> p.getFileName().toString().endsWith(".yaml")).sorted().toList();
        }
    }

    private static Path expectedFile(Path yaml) {
        String name = yaml.getFileName().toString();
        return yaml.resolveSibling(name.substring(0, name.length() - ".yaml".length()) + ".expected");
    }
}
