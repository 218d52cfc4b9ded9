package dev.warden.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code audit} section: where the trail goes, how it is signed, and what happens when it cannot be written.
 *
 * <p>Without a {@code signing_key} the audit library generates an Ed25519 key pair on first start and keeps it
 * next to the log ({@code audit-signing-key.pem}, mode 0600). That proves the log is internally consistent but
 * not that whoever can write the log directory did not re-sign it: a production policy configures its own key,
 * kept where the proxy can read it and the log's readers cannot write it.
 *
 * @param sinks              where every record goes, in order; the first file sink is the primary chain
 * @param signingKey         PKCS#8 PEM Ed25519 private key, already resolved against the policy's directory
 * @param refuseOnFailure    {@code on_failure: refuse} (default): a statement whose audit record cannot be made
 *                           durable is refused; {@code allow} lets it through and logs the failure
 * @param checkpointEvery    records between signed checkpoints
 * @param checkpointInterval longest time an appended record stays outside a signed checkpoint ({@code 0}: only
 *                           by count and at shutdown)
 * @param groupCommit        longest wait to gather concurrent appends into one fsync ({@code 0}: never wait)
 * @param keepLiterals       {@code statement_literals: keep} (default) records statements and Bind parameters as
 *                           sent; {@code redact} records statements with literals replaced and no parameters
 * @param instance           names this proxy's chain where several proxies share a store (a Kafka topic, a
 *                           witness); default: the host name
 * @param witness            where signed checkpoint heads are also kept, outside the log's trust domain
 * @param durability         when a statement may be relayed: after its record is fsync'd, or after it is written
 *                           to the operating system ({@link Durability})
 * @param syncInterval       with {@link Durability#WRITE}: the longest a written record waits for its fsync
 */
public record AuditSettings(List<AuditSinkConfig> sinks, Optional<Path> signingKey, boolean refuseOnFailure,
                            int checkpointEvery, Duration checkpointInterval, Duration groupCommit,
                            boolean keepLiterals, String instance, Optional<WitnessConfig> witness,
                            Durability durability, Duration syncInterval) {

    /**
     * {@code audit.durability}, named after PostgreSQL's {@code synchronous_commit}. Applies to file sinks; a
     * PostgreSQL sink always commits before the statement goes on.
     */
    public enum Durability {
        /** The record is fsync'd before the statement is relayed: it survives a crash of the host. */
        FSYNC,
        /**
         * The record is written to the operating system before the statement is relayed and fsync'd within
         * {@code sync_interval}: it survives {@code kill -9} of Warden, not a crash of the host.
         */
        WRITE
    }

    public static final long DEFAULT_ROTATE_BYTES = 64L * 1024 * 1024;
    public static final Duration DEFAULT_ROTATE_INTERVAL = Duration.ofHours(24);
    public static final String DEFAULT_TABLE = "warden_audit";
    public static final String DEFAULT_TOPIC = "warden-audit";
    public static final String DEFAULT_WITNESS_TABLE = "warden_audit_witness";
    public static final String DEFAULT_WITNESS_TOPIC = "warden-audit-witness";
    /** Measured with pgbench -S c16 (bench/README): a lone statement never waits, linger only adds latency. */
    public static final Duration DEFAULT_KAFKA_LINGER = Duration.ZERO;
    public static final int DEFAULT_CHECKPOINT_EVERY = 1000;
    public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(1);
    /** No timed wait: records queued while an fsync runs form the next batch (measured faster here). */
    public static final Duration DEFAULT_GROUP_COMMIT = Duration.ZERO;
    public static final Durability DEFAULT_DURABILITY = Durability.FSYNC;
    public static final Duration DEFAULT_SYNC_INTERVAL = Duration.ofMillis(200);
    public static final Duration MAX_SYNC_INTERVAL = Duration.ofSeconds(10);

    /** Today's behaviour: every record fsync'd before its statement is relayed. */
    public AuditSettings(List<AuditSinkConfig> sinks, Optional<Path> signingKey, boolean refuseOnFailure,
                         int checkpointEvery, Duration checkpointInterval, Duration groupCommit,
                         boolean keepLiterals) {
        this(sinks, signingKey, refuseOnFailure, checkpointEvery, checkpointInterval, groupCommit, keepLiterals,
                defaultInstance(), Optional.empty(), DEFAULT_DURABILITY, DEFAULT_SYNC_INTERVAL);
    }

    public AuditSettings {
        sinks = List.copyOf(sinks);
        if (sinks.isEmpty()) {
            throw new IllegalArgumentException("at least one audit sink is required");
        }
        Objects.requireNonNull(signingKey, "signingKey");
        if (checkpointEvery < 1) {
            throw new IllegalArgumentException("checkpointEvery must be at least 1");
        }
        Objects.requireNonNull(checkpointInterval, "checkpointInterval");
        Objects.requireNonNull(groupCommit, "groupCommit");
        Objects.requireNonNull(instance, "instance");
        Objects.requireNonNull(witness, "witness");
        Objects.requireNonNull(durability, "durability");
        Objects.requireNonNull(syncInterval, "syncInterval");
        if (syncInterval.isNegative() || syncInterval.isZero() || syncInterval.compareTo(MAX_SYNC_INTERVAL) > 0) {
            throw new IllegalArgumentException("syncInterval must be above 0 and at most " + MAX_SYNC_INTERVAL);
        }
    }

    /** The same settings with another durability, for tools and benchmarks. */
    public AuditSettings withDurability(Durability durability, Duration syncInterval) {
        return new AuditSettings(sinks, signingKey, refuseOnFailure, checkpointEvery, checkpointInterval,
                groupCommit, keepLiterals, instance, witness, durability, syncInterval);
    }


    /** The same settings with another instance name and witness. */
    public AuditSettings withInstance(String instance, Optional<WitnessConfig> witness) {
        return new AuditSettings(sinks, signingKey, refuseOnFailure, checkpointEvery, checkpointInterval,
                groupCommit, keepLiterals, instance, witness, durability, syncInterval);
    }

    /** The host name, or {@code warden} when it cannot be found; looked up once. */
    public static String defaultInstance() {
        return HostName.NAME;
    }

    /** A lookup of the local host name can be slow where DNS is not set up: do it once, when first needed. */
    private static final class HostName {
        static final String NAME = lookUp();

        private static String lookUp() {
            try {
                String host = java.net.InetAddress.getLocalHost().getHostName();
                return host == null || host.isBlank() ? "warden" : host;
            } catch (java.io.IOException e) {
                return "warden";
            }
        }
    }

    /** No {@code audit} section: audit anyway, to {@code audit/} relative to the working directory. */
    public static AuditSettings defaults() {
        return defaults(Path.of(""));
    }

    /** No {@code audit} section: a file sink in {@code audit/} under {@code baseDir} (the policy's directory). */
    public static AuditSettings defaults(Path baseDir) {
        AuditSinkConfig file = new AuditSinkConfig.FileSink(baseDir.resolve("audit").toAbsolutePath().normalize(),
                DEFAULT_ROTATE_BYTES, DEFAULT_ROTATE_INTERVAL);
        return new AuditSettings(List.of(file), Optional.empty(), true, DEFAULT_CHECKPOINT_EVERY,
                DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_GROUP_COMMIT, true);
    }

    /** The first file sink, which holds the primary copy of the chain (and a generated key, if any). */
    public Optional<AuditSinkConfig.FileSink> primaryFile() {
        for (AuditSinkConfig sink : sinks) {
            if (sink instanceof AuditSinkConfig.FileSink file) {
                return Optional.of(file);
            }
        }
        return Optional.empty();
    }

    /** One destination of the audit trail. */
    public sealed interface AuditSinkConfig {

        /** A short name for messages: {@code file:/var/log/warden}, {@code postgres:warden_audit}, {@code stdout}. */
        String describe();

        /**
         * JSON lines in {@code dir}; a new file after {@code rotateBytes} or {@code rotateInterval}
         * ({@link Duration#ZERO}: never by time). Durable once fsync'd.
         */
        record FileSink(Path dir, long rotateBytes, Duration rotateInterval) implements AuditSinkConfig {
            public FileSink {
                Objects.requireNonNull(dir, "dir");
                if (rotateBytes < 1) {
                    throw new IllegalArgumentException("rotateBytes must be positive");
                }
                Objects.requireNonNull(rotateInterval, "rotateInterval");
            }

            @Override
            public String describe() {
                return "file:" + dir;
            }
        }

        /** An append-only table in a separate audit database; durable once committed. */
        record PostgresSink(Secret url, String table) implements AuditSinkConfig {
            public PostgresSink {
                Objects.requireNonNull(url, "url");
                Objects.requireNonNull(table, "table");
            }

            @Override
            public String describe() {
                return "postgres:" + table;
            }
        }

        /**
         * Each record on standard output, for container log collectors; best effort, never durable.
         * {@code format: ocsf} prints OCSF events instead of the chain's records.
         */
        record StdoutSink(SinkFormat format) implements AuditSinkConfig {
            public StdoutSink {
                Objects.requireNonNull(format, "format");
            }

            public StdoutSink() {
                this(SinkFormat.WARDEN);
            }

            @Override
            public String describe() {
                return "stdout";
            }
        }

        /**
         * A Kafka topic: an idempotent producer with {@code acks=all}, keyed by session; durable once every
         * in-sync replica has the batch. Several proxies may share the topic; each record carries its
         * instance's name in a header, so each chain can be verified from the topic alone.
         *
         * @param properties {@code client_properties}: further producer properties (security settings), as given
         */
        record KafkaSink(String bootstrapServers, String topic, SinkFormat format, Duration linger,
                         java.util.Map<String, String> properties) implements AuditSinkConfig {
            public KafkaSink {
                Objects.requireNonNull(bootstrapServers, "bootstrapServers");
                Objects.requireNonNull(topic, "topic");
                Objects.requireNonNull(format, "format");
                Objects.requireNonNull(linger, "linger");
                properties = java.util.Map.copyOf(properties);
            }

            @Override
            public String describe() {
                return "kafka:" + topic;
            }
        }
    }

    /** What a sink writes: the chain's own records, or OCSF 1.x events (for a SIEM) that carry them. */
    public enum SinkFormat { WARDEN, OCSF }

    /**
     * Where signed checkpoint heads are also kept, so that a log cut short is detected: a PostgreSQL table
     * (best in another database than the audited one), a Kafka topic, or an HTTP endpoint.
     */
    public sealed interface WitnessConfig {

        String describe();

        record PostgresWitness(Secret url, String table) implements WitnessConfig {
            public PostgresWitness {
                Objects.requireNonNull(url, "url");
                Objects.requireNonNull(table, "table");
            }

            @Override
            public String describe() {
                return "postgres:" + table;
            }
        }

        record KafkaWitness(String bootstrapServers, String topic, java.util.Map<String, String> properties)
                implements WitnessConfig {
            public KafkaWitness {
                Objects.requireNonNull(bootstrapServers, "bootstrapServers");
                Objects.requireNonNull(topic, "topic");
                properties = java.util.Map.copyOf(properties);
            }

            @Override
            public String describe() {
                return "kafka:" + topic;
            }
        }

        /** POST {@code url} with a head; GET {@code url}?chain=NAME answers the latest head (404: none). */
        record HttpWitness(java.net.URI url) implements WitnessConfig {
            public HttpWitness {
                Objects.requireNonNull(url, "url");
            }

            @Override
            public String describe() {
                return "http:" + url;
            }
        }
    }
}
