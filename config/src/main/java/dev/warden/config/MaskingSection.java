package dev.warden.config;

import dev.warden.config.YamlTree.Node;

import java.util.Optional;

/** Reads {@code masking}. */
final class MaskingSection {

    private MaskingSection() {
    }

    static MaskingSettings read(PolicyLoader p, Optional<Node> section) throws PolicyException {
        return MaskingSettings.defaults();
    }
}
