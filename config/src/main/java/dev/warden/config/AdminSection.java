package dev.warden.config;

import dev.warden.config.YamlTree.MapNode;
import dev.warden.config.YamlTree.Node;
import dev.warden.config.YamlTree.ScalarNode;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads {@code admin: { address: host:port }}. */
final class AdminSection {

    private static final Logger log = LoggerFactory.getLogger(AdminSection.class);

    private AdminSection() {
    }

    static AdminSettings read(PolicyLoader p, Optional<Node> section) throws PolicyException {
        if (section.isEmpty()) {
            return AdminSettings.disabled();
        }
        MapNode m = p.map(section.get());
        p.expectKeys(m, "address");
        ScalarNode a = p.requiredScalar(m, "address");
        String text = a.text().trim();
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw p.error(a, "'" + text + "' is not host:port (e.g. 127.0.0.1:9090 or [::1]:9090)");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw p.error(a, "write IPv6 addresses in brackets, e.g. [::1]:9090");
        }
        if (host.isEmpty()) {
            throw p.error(a, "the host is empty");
        }
        int port = p.parseInt(a, text.substring(colon + 1), 0, 65535, "the port must be between 0 and 65535");
        if (!isLoopback(host)) {
            // Bearer tokens cross this port: beyond loopback Warden serves it over TLS only.
            log.info("admin API listens on non-loopback address={}: served over TLS with the listener's "
                    + "certificate", text);
        }
        return new AdminSettings(Optional.of(new AdminSettings.Address(host, port)));
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }
}
