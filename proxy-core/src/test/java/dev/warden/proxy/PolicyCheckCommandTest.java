package dev.warden.proxy;

import dev.warden.proxy.cli.WardenCommand;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code warden policy check} on the broken-policy fixtures of the config module: exit 2 and exactly the
 * expected {@code file:line:column: path: reason} line, as an admin or a CI job sees it.
 */
class PolicyCheckCommandTest {

    private static final Path FIXTURES = Path.of("..", "config", "src", "test", "resources", "broken-policies");

    @TestFactory
    Stream<DynamicTest> everyBrokenFixtureIsRefusedWithItsLocatedMessage() throws IOException {
        List<Path> yamls;
        try (Stream<Path> files = Files.list(FIXTURES)) {
            yamls = files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertFalse(yamls.isEmpty(), "fixtures at " + FIXTURES.toAbsolutePath());
        return yamls.stream().map(yaml -> DynamicTest.dynamicTest(yaml.getFileName().toString(), () -> {
            PrintStream err = System.err;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            int exit;
            try {
                System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
                exit = WardenCommand.run("policy", "check", yaml.toString());
            } finally {
                System.setErr(err);
            }
            String name = yaml.getFileName().toString();
            String expected = Files.readString(yaml.resolveSibling(name.replace(".yaml", ".expected"))).strip();
            assertEquals(2, exit);
            assertEquals(expected, captured.toString(StandardCharsets.UTF_8).strip().replace(yaml.toString(), name));
        }));
    }

    /** Two issuers without a username_prefix: the policy is valid (exit 0), and the check says where to add one. */
    @org.junit.jupiter.api.Test
    void twoIssuersWithoutAPrefixPassWithAWarningAtTheSecond(@org.junit.jupiter.api.io.TempDir Path dir)
            throws IOException {
        Path yaml = dir.resolve("two.yaml");
        Files.writeString(yaml, """
                identity:
                  issuers:
                    - { issuer: https://login.example.com, audience: warden }
                    - { issuer: https://partner.example.net, audience: warden }
                environments:
                  prod:
                    upstream: { host: db.internal, database: app, user: warden }
                    allow: [ { groups: [eng] } ]
                """);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            exit = WardenCommand.run("policy", "check", yaml.toString());
        } finally {
            System.setErr(err);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, out);
        assertTrue(out.contains(yaml + ":4:7: identity.issuers[1]: issuer https://partner.example.net has no "
                + "username_prefix"), out);
        assertTrue(out.contains("(warning)"), out);
    }
}
