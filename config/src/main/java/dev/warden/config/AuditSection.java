package dev.warden.config;

import dev.warden.config.AuditSettings.AuditSinkConfig;
import dev.warden.config.AuditSettings.SinkFormat;
import dev.warden.config.AuditSettings.WitnessConfig;
import dev.warden.config.YamlTree.MapNode;
import dev.warden.config.YamlTree.Node;
import dev.warden.config.YamlTree.ScalarNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads {@code audit}; relative paths are resolved against the policy file's directory. */
final class AuditSection {

    private static final Pattern SIZE = Pattern.compile("(\\d{1,15})\\s*(b|kb|kib|mb|mib|gb|gib)?",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern TABLE = Pattern.compile("([A-Za-z_][A-Za-z0-9_]{0,62}\\.)?[A-Za-z_][A-Za-z0-9_]{0,62}");
    private static final List<String> SINK_TYPES = List.of("file", "postgres", "kafka", "stdout");
    private static final List<String> WITNESS_TYPES = List.of("postgres", "kafka", "http");
    private static final Pattern INSTANCE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final long MIN_ROTATE_BYTES = 1024;

    private AuditSection() {
    }

    /**
     * Transitional entry point for the current call site in {@link PolicyLoader}: it takes the loader's base
     * directory and environment itself. Replace the call by
     * {@code AuditSection.read(this, node(top, "audit"), baseDir, environment)} and delete this method.
     */
    static AuditSettings read(PolicyLoader p, Optional<Node> section, Path baseDir, Map<String, String> environment)
            throws PolicyException {
        if (section.isEmpty()) {
            return AuditSettings.defaults(baseDir);
        }
        MapNode m = p.map(section.get());
        p.expectKeys(m, "sinks", "signing_key", "on_failure", "checkpoint_every", "checkpoint_interval",
                "group_commit", "statement_literals", "instance", "witness", "durability", "sync_interval");

        List<AuditSinkConfig> sinks = new ArrayList<>();
        Optional<Node> sinksNode = p.node(m, "sinks");
        if (sinksNode.isPresent()) {
            List<Node> items = p.list(sinksNode.get()).items();
            if (items.isEmpty()) {
                throw p.error(sinksNode.get(), "at least one sink is required (remove 'sinks' for the default "
                        + "file sink in audit/)");
            }
            for (Node item : items) {
                sinks.add(sink(p, p.map(item), baseDir, environment, sinks));
            }
        } else {
            sinks.addAll(AuditSettings.defaults(baseDir).sinks());
        }
        if (sinks.stream().allMatch(s -> s instanceof AuditSinkConfig.StdoutSink)) {
            throw p.error(sinksNode.orElseThrow(), "stdout is not durable: add a file or postgres sink, or the "
                    + "write-ahead guarantee (no record, no query) means nothing");
        }

        Optional<Path> signingKey = p.existingFile(m, "signing_key");
        boolean refuse = choice(p, m, "on_failure", "refuse", List.of("refuse", "allow")).equals("refuse");
        int checkpointEvery = p.integer(m, "checkpoint_every", AuditSettings.DEFAULT_CHECKPOINT_EVERY, 1, 10_000_000);
        Duration checkpointInterval = p.duration(m, "checkpoint_interval",
                AuditSettings.DEFAULT_CHECKPOINT_INTERVAL, true);
        Duration groupCommit = p.duration(m, "group_commit", AuditSettings.DEFAULT_GROUP_COMMIT, true);
        if (groupCommit.compareTo(Duration.ofSeconds(1)) > 0) {
            throw p.error(p.node(m, "group_commit").orElseThrow(), "must be at most 1s: every audited statement "
                    + "may wait this long");
        }
        boolean keep = choice(p, m, "statement_literals", "keep", List.of("keep", "redact")).equals("keep");
        String instance;
        Optional<ScalarNode> instanceNode = p.scalar(m, "instance");
        if (instanceNode.isEmpty()) {
            instance = AuditSettings.defaultInstance();
        } else {
            instance = instanceNode.get().text().trim();
            if (!INSTANCE.matcher(instance).matches()) {
                throw p.error(instanceNode.get(), "'" + instance + "' is not an instance name (letters, digits, "
                        + "'.', '_', '-'; at most 100)");
            }
        }
        Optional<WitnessConfig> witness = Optional.empty();
        Optional<MapNode> witnessNode = p.optionalMap(m, "witness");
        if (witnessNode.isPresent()) {
            witness = Optional.of(witness(p, witnessNode.get(), baseDir, environment));
        }
        AuditSettings.Durability durability = AuditSettings.Durability.valueOf(choice(p, m, "durability",
                AuditSettings.DEFAULT_DURABILITY.name().toLowerCase(Locale.ROOT), List.of("fsync", "write"))
                .toUpperCase(Locale.ROOT));
        Duration syncInterval = p.duration(m, "sync_interval", AuditSettings.DEFAULT_SYNC_INTERVAL, false);
        if (syncInterval.compareTo(AuditSettings.MAX_SYNC_INTERVAL) > 0) {
            throw p.error(p.node(m, "sync_interval").orElseThrow(), "must be at most "
                    + AuditSettings.MAX_SYNC_INTERVAL.toSeconds() + "s: a record written but not yet fsync'd is lost "
                    + "if the host crashes");
        }
        return new AuditSettings(sinks, signingKey, refuse, checkpointEvery, checkpointInterval, groupCommit, keep,
                instance, witness, durability, syncInterval);
    }

    private static WitnessConfig witness(PolicyLoader p, MapNode m, Path baseDir, Map<String, String> environment)
            throws PolicyException {
        ScalarNode typeNode = p.requiredScalar(m, "type");
        String type = typeNode.text().trim();
        switch (type) {
            case "postgres": {
                p.expectKeys(m, "type", "url_env", "url_file", "table");
                return new WitnessConfig.PostgresWitness(jdbcUrl(p, m, environment),
                        table(p, m, AuditSettings.DEFAULT_WITNESS_TABLE));
            }
            case "kafka": {
                p.expectKeys(m, "type", "bootstrap_servers", "topic", "client_properties");
                return new WitnessConfig.KafkaWitness(p.requiredString(m, "bootstrap_servers").trim(),
                        topic(p, m, AuditSettings.DEFAULT_WITNESS_TOPIC), properties(p, m));
            }
            case "http": {
                p.expectKeys(m, "type", "url");
                ScalarNode urlNode = p.requiredScalar(m, "url");
                java.net.URI url;
                try {
                    url = java.net.URI.create(urlNode.text().trim());
                } catch (IllegalArgumentException e) {
                    throw p.error(urlNode, "not a URL: " + e.getMessage());
                }
                if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
                    throw p.error(urlNode, "the witness URL must be http:// or https://");
                }
                return new WitnessConfig.HttpWitness(url);
            }
            default:
                throw p.error(typeNode, "unknown witness type '" + type + "'"
                        + PolicyLoader.suggestion(type, WITNESS_TYPES).orElse("; expected postgres, kafka or http"));
        }
    }

    private static AuditSinkConfig sink(PolicyLoader p, MapNode m, Path baseDir, Map<String, String> environment,
                                        List<AuditSinkConfig> earlier) throws PolicyException {
        ScalarNode typeNode = p.requiredScalar(m, "type");
        String type = typeNode.text().trim();
        switch (type) {
            case "file": {
                p.expectKeys(m, "type", "dir", "rotate_bytes", "rotate_interval");
                Path dir = baseDir.resolve(p.string(m, "dir").orElse("audit")).toAbsolutePath().normalize();
                for (AuditSinkConfig other : earlier) {
                    if (other instanceof AuditSinkConfig.FileSink f && f.dir().equals(dir)) {
                        throw p.error(m, "a second file sink writes to the same directory " + dir);
                    }
                }
                long rotateBytes = AuditSettings.DEFAULT_ROTATE_BYTES;
                Optional<ScalarNode> size = p.scalar(m, "rotate_bytes");
                if (size.isPresent()) {
                    rotateBytes = size(p, size.get());
                }
                Duration rotateInterval = p.duration(m, "rotate_interval", AuditSettings.DEFAULT_ROTATE_INTERVAL, true);
                return new AuditSinkConfig.FileSink(dir, rotateBytes, rotateInterval);
            }
            case "postgres": {
                p.expectKeys(m, "type", "url_env", "url_file", "table");
                return new AuditSinkConfig.PostgresSink(jdbcUrl(p, m, environment),
                        table(p, m, AuditSettings.DEFAULT_TABLE));
            }
            case "kafka": {
                p.expectKeys(m, "type", "bootstrap_servers", "topic", "format", "linger", "client_properties");
                Duration linger = p.duration(m, "linger", AuditSettings.DEFAULT_KAFKA_LINGER, true);
                if (linger.compareTo(Duration.ofSeconds(1)) > 0) {
                    throw p.error(p.node(m, "linger").orElseThrow(), "must be at most 1s: every audited statement "
                            + "may wait this long");
                }
                return new AuditSinkConfig.KafkaSink(p.requiredString(m, "bootstrap_servers").trim(),
                        topic(p, m, AuditSettings.DEFAULT_TOPIC), format(p, m), linger, properties(p, m));
            }
            case "stdout": {
                p.expectKeys(m, "type", "format");
                return new AuditSinkConfig.StdoutSink(format(p, m));
            }
            default:
                throw p.error(typeNode, "unknown sink type '" + type + "'"
                        + PolicyLoader.suggestion(type, SINK_TYPES).orElse("; expected file, postgres, kafka or stdout"));
        }
    }

    /**
     * A {@code jdbc:postgresql://} URL from {@code url_env} or {@code url_file}: it may hold a password. Also
     * read for the approvals store.
     */
    static Secret jdbcUrl(PolicyLoader p, MapNode m, Map<String, String> environment) throws PolicyException {
        Optional<ScalarNode> urlEnv = p.scalar(m, "url_env");
        Optional<ScalarNode> urlFile = p.scalar(m, "url_file");
        if (urlEnv.isPresent() == urlFile.isPresent()) {
            throw p.error(m, "give url_env or url_file (a jdbc:postgresql:// URL; it may hold a password, "
                    + "so it is never written inline)");
        }
        String url;
        ScalarNode at;
        if (urlEnv.isPresent()) {
            at = urlEnv.get();
            String variable = at.text().trim();
            url = environment.get(variable);
            if (url == null || url.isBlank()) {
                throw p.error(at, "environment variable " + variable + " is not set");
            }
        } else {
            at = urlFile.get();
            Path file = p.existingFile(m, "url_file").orElseThrow();
            try {
                url = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw p.error(at, "cannot read " + file + ": " + e.getMessage());
            }
        }
        url = url.strip();
        if (!url.startsWith("jdbc:postgresql://")) {
            // Do not echo the value: it may carry a password.
            throw p.error(at, "the URL must start with jdbc:postgresql://");
        }
        return Secret.of(url);
    }

    private static String table(PolicyLoader p, MapNode m, String defaultTable) throws PolicyException {
        String table = p.string(m, "table").orElse(defaultTable);
        if (!TABLE.matcher(table).matches()) {
            throw p.error(p.node(m, "table").orElseThrow(), "'" + table + "' is not a plain table name "
                    + "(letters, digits, '_', optionally schema.table)");
        }
        return table;
    }

    private static String topic(PolicyLoader p, MapNode m, String defaultTopic) throws PolicyException {
        String topic = p.string(m, "topic").orElse(defaultTopic).trim();
        if (!TOPIC.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
            throw p.error(p.node(m, "topic").orElseThrow(), "'" + topic + "' is not a Kafka topic name "
                    + "(letters, digits, '.', '_', '-')");
        }
        return topic;
    }

    private static SinkFormat format(PolicyLoader p, MapNode m) throws PolicyException {
        return choice(p, m, "format", "warden", List.of("warden", "ocsf")).equals("ocsf") ? SinkFormat.OCSF
                : SinkFormat.WARDEN;
    }

    /** Producer or client properties passed as given (security settings); values are plain strings. */
    private static Map<String, String> properties(PolicyLoader p, MapNode m) throws PolicyException {
        Optional<MapNode> node = p.optionalMap(m, "client_properties");
        if (node.isEmpty()) {
            return Map.of();
        }
        Map<String, String> properties = new java.util.LinkedHashMap<>();
        for (String key : node.get().fields().keySet()) {
            properties.put(key, p.requiredString(node.get(), key));
        }
        return properties;
    }

    /** {@code 64MB}, {@code 512KB}, {@code 1GiB} or plain bytes; K/M/G are powers of 1024 either way. */
    private static long size(PolicyLoader p, ScalarNode node) throws PolicyException {
        Matcher matcher = SIZE.matcher(node.text().trim());
        if (!matcher.matches()) {
            throw p.error(node, "'" + node.text().trim() + "' is not a size (examples: 64MB, 512KB, 1048576)");
        }
        long amount = Long.parseLong(matcher.group(1));
        String unit = matcher.group(2) == null ? "b" : matcher.group(2).toLowerCase(Locale.ROOT);
        long factor = switch (unit.charAt(0)) {
            case 'k' -> 1024L;
            case 'm' -> 1024L * 1024;
            case 'g' -> 1024L * 1024 * 1024;
            default -> 1L;
        };
        if (amount > Long.MAX_VALUE / factor || amount * factor < MIN_ROTATE_BYTES) {
            throw p.error(node, "must be between 1KB and a few terabytes");
        }
        return amount * factor;
    }

    private static String choice(PolicyLoader p, MapNode m, String key, String defaultValue, List<String> allowed)
            throws PolicyException {
        Optional<ScalarNode> s = p.scalar(m, key);
        if (s.isEmpty()) {
            return defaultValue;
        }
        String text = s.get().text().trim();
        if (!allowed.contains(text)) {
            throw p.error(s.get(), "unknown value '" + text + "'" + PolicyLoader.suggestion(text, allowed)
                    .orElse("; expected " + String.join(" or ", allowed)));
        }
        return text;
    }


}
