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
}
