package dev.warden.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * The policy YAML as a small tree that remembers where every node came from. Jackson's {@code JsonNode} drops
 * locations, and errors must point at a line and column, so the tree is built straight from the streaming
 * parser. {@code ${VAR}} substitution happens here, on scalar values only, so its errors have a location too.
 */
final class YamlTree {

    record Mark(int line, int column) {
    }

    sealed interface Node permits MapNode, ListNode, ScalarNode {
        Mark mark();

        String path();
    }

    record Field(String key, Mark keyMark, Node value) {
    }

    record MapNode(Mark mark, String path, Map<String, Field> fields) implements Node {
    }

    record ListNode(Mark mark, String path, List<Node> items) implements Node {
    }

    /**
     * {@code text} is null for an explicit YAML null (e.g. {@code key:} with nothing after it);
     * {@code substituted} when a {@code ${VAR}} contributed to it (it may hold a secret: never echo it).
     */
    record ScalarNode(Mark mark, String path, String text, boolean substituted) implements Node {
    }

    private static final Pattern VARIABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final YAMLFactory FACTORY = YAMLFactory.builder().build();

    /** Shorter values are too common to be told apart from ordinary text (and too short to be secrets). */
    private static final int MIN_SCRUBBED_LENGTH = 4;

    private final String source;
    private final Map<String, String> environment;
    /** Every value a {@code ${VAR}} expanded to, and how the file wrote it: error messages show the latter. */
    private final Map<String, String> substitutedValues = new LinkedHashMap<>();

    private YamlTree(String source, Map<String, String> environment) {
        this.source = source;
        this.environment = environment;
    }

    /** Returns the root node, or null for an empty document. */
    static Node read(String yaml, String source, Map<String, String> environment) throws PolicyException {
        return read(yaml, source, environment, new LinkedHashMap<>());
    }

    /** @param substituted filled with each value a {@code ${VAR}} expanded to, mapped to {@code ${VAR}} */
    static Node read(String yaml, String source, Map<String, String> environment, Map<String, String> substituted)
            throws PolicyException {
        YamlTree tree = new YamlTree(source, environment);
        try {
            return tree.parse(yaml);
        } finally {
            substituted.putAll(tree.substitutedValues);
        }
    }

    private Node parse(String yaml) throws PolicyException {
        YamlTree tree = this;
        try (JsonParser parser = FACTORY.createParser(yaml)) {
            if (parser.nextToken() == null) {
                return null;
            }
            Node root = tree.readValue(parser, "");
            if (parser.nextToken() != null) {
                Mark mark = mark(parser.currentTokenLocation());
                throw new PolicyException(source, mark.line(), mark.column(), "",
                        "only one YAML document is allowed in a policy file");
            }
            return root;
        } catch (StreamReadException e) {
            // SnakeYAML knows where the problem is, not just where the enclosing node began: prefer its mark.
            if (e.getCause() instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
                org.yaml.snakeyaml.error.Mark problem = marked.getProblemMark();
                String reason = marked.getProblem() != null ? marked.getProblem() : firstLine(e.getOriginalMessage());
                throw new PolicyException(source, problem.getLine() + 1, problem.getColumn() + 1, "",
                        "invalid YAML: " + reason);
            }
            JsonLocation location = e.getLocation();
            Mark mark = location == null ? new Mark(1, 1) : mark(location);
            throw new PolicyException(source, mark.line(), mark.column(), "", "invalid YAML: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new PolicyException(source, "cannot parse policy: " + e.getMessage(), e);
        }
    }

    private Node readValue(JsonParser parser, String path) throws IOException, PolicyException {
        JsonToken token = parser.currentToken();
        Mark mark = mark(parser.currentTokenLocation());
        switch (token) {
            case START_OBJECT: {
                Map<String, Field> fields = new LinkedHashMap<>();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String key = parser.currentName();
                    Mark keyMark = mark(parser.currentTokenLocation());
                    String childPath = path.isEmpty() ? key : path + "." + key;
                    if (fields.containsKey(key)) {
                        throw new PolicyException(source, keyMark.line(), keyMark.column(), childPath,
                                "duplicate key '" + key + "'");
                    }
                    parser.nextToken();
                    fields.put(key, new Field(key, keyMark, readValue(parser, childPath)));
                }
                return new MapNode(mark, path, Collections.unmodifiableMap(fields));
            }
            case START_ARRAY: {
                List<Node> items = new ArrayList<>();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    items.add(readValue(parser, path + "[" + items.size() + "]"));
                }
                return new ListNode(mark, path, List.copyOf(items));
            }
            case VALUE_NULL:
                return new ScalarNode(mark, path, null, false);
            default:
                String raw = parser.getText();
                String text = substitute(raw, mark, path);
                return new ScalarNode(mark, path, text, raw.contains("${") && !text.equals(raw.replace("$${", "${")));
        }
    }

    /** Expands {@code ${VAR}} and {@code ${VAR:-default}}; {@code $${} stands for a literal {@code ${}. */
    private String substitute(String text, Mark mark, String path) throws PolicyException {
        if (text.indexOf('$') < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            if (text.startsWith("$${", i)) {
                out.append("${");
                i += 3;
            } else if (text.startsWith("${", i)) {
                int end = text.indexOf('}', i + 2);
                if (end < 0) {
                    throw error(mark, path, "unterminated '${' (write '$${' for a literal '${')");
                }
                String expression = text.substring(i + 2, end);
                int split = expression.indexOf(":-");
                String name = split < 0 ? expression : expression.substring(0, split);
                String fallback = split < 0 ? null : expression.substring(split + 2);
                if (!VARIABLE_NAME.matcher(name).matches()) {
                    throw error(mark, path, "invalid environment variable name '" + name + "'");
                }
                String value = environment.get(name);
                if (value == null || (value.isEmpty() && fallback != null)) {
                    if (fallback == null) {
                        throw error(mark, path, "environment variable " + name + " is not set (on line "
                                + mark.line() + "; write ${" + name + ":-default} to give a default)");
                    }
                    value = fallback;
                }
                out.append(value);
                if (value.length() >= MIN_SCRUBBED_LENGTH) {
                    substitutedValues.putIfAbsent(value, "${" + name + "}");
                }
                i = end + 1;
            } else {
                out.append(text.charAt(i));
                i++;
            }
        }
        return out.toString();
    }

    private PolicyException error(Mark mark, String path, String reason) {
        return new PolicyException(source, mark.line(), mark.column(), path, reason);
    }

    private static Mark mark(JsonLocation location) {
        return new Mark(Math.max(1, location.getLineNr()), Math.max(1, location.getColumnNr()));
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "syntax error";
        }
        int newline = message.indexOf('\n');
        return (newline < 0 ? message : message.substring(0, newline)).trim();
    }
}
