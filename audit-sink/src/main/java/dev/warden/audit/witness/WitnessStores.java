package dev.warden.audit.witness;

import dev.warden.config.AuditSettings.WitnessConfig;

/** The store a policy's {@code audit.witness} names. */
public final class WitnessStores {

    private WitnessStores() {
    }

    public static WitnessStore open(WitnessConfig config) {
        if (config instanceof WitnessConfig.PostgresWitness p) {
            return new PostgresWitnessStore(p.url(), p.table());
        }
        if (config instanceof WitnessConfig.KafkaWitness k) {
            return new KafkaWitnessStore(k.bootstrapServers(), k.topic(), k.properties());
        }
        WitnessConfig.HttpWitness h = (WitnessConfig.HttpWitness) config;
        return new HttpWitnessStore(h.url());
    }

    /**
     * The store a command line names: {@code jdbc:postgresql://…} (table {@code table}), {@code
     * kafka://host:port[,host:port]/topic}, {@code http(s)://…}, or {@code env:VAR} / {@code file:PATH} for any of
     * these kept in an environment variable or a file (a JDBC URL may hold a password: keep it out of argv).
     *
     * @throws IllegalArgumentException naming what is wrong, never echoing a URL that may hold a password
     */
    public static WitnessStore fromSpec(String spec, String table, java.util.Map<String, String> environment) {
        String text = spec.trim();
        if (text.startsWith("env:")) {
            String variable = text.substring(4);
            String value = environment.get(variable);
            if (value == null || value.isBlank()) {
                throw new IllegalArgumentException("environment variable " + variable + " is not set");
            }
            text = value.trim();
        } else if (text.startsWith("file:")) {
            try {
                text = java.nio.file.Files.readString(java.nio.file.Path.of(text.substring(5))).trim();
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("cannot read " + text.substring(5) + ": " + e.getMessage());
            }
        }
        if (text.startsWith("jdbc:postgresql://")) {
            return new PostgresWitnessStore(dev.warden.config.Secret.of(text), table);
        }
        if (text.startsWith("kafka://")) {
            String rest = text.substring("kafka://".length());
            int slash = rest.indexOf('/');
            if (slash <= 0 || slash == rest.length() - 1) {
                throw new IllegalArgumentException("expected kafka://host:port/topic");
            }
            return new KafkaWitnessStore(rest.substring(0, slash), rest.substring(slash + 1), java.util.Map.of());
        }
        if (text.startsWith("http://") || text.startsWith("https://")) {
            return new HttpWitnessStore(java.net.URI.create(text));
        }
        throw new IllegalArgumentException("expected jdbc:postgresql://…, kafka://host:port/topic, http(s)://… "
                + "or env:VARIABLE / file:PATH holding one of these");
    }
}
