package dev.warden.config;

import dev.warden.config.YamlTree.Node;

import java.util.Optional;

/** Reads {@code audit}. */
final class AuditSection {

    private AuditSection() {
    }

    static AuditSettings read(PolicyLoader p, Optional<Node> section) throws PolicyException {
        return AuditSettings.defaults();
    }
}
