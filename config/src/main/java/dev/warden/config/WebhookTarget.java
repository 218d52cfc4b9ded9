package dev.warden.config;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Where a webhook may point. The body names people and carries statements, and Warden often runs where a
 * request to a cloud metadata service returns credentials, so: https only (plain http only to a literal
 * loopback IP: a name such as {@code 127.attacker.example} could resolve anywhere), and never a link-local,
 * unspecified, multicast or known metadata address. The policy loader checks the URL as written; the notifier
 * checks again what the name resolves to at delivery time (DNS may change after load).
 */
public final class WebhookTarget {

    private static final Set<String> METADATA_NAMES = Set.of("metadata", "metadata.google.internal",
            "metadata.goog", "instance-data", "instance-data.ec2.internal", "metadata.azure.com");
    private static final Set<String> METADATA_ADDRESSES = Set.of("100.100.100.200", "fd00:ec2:0:0:0:0:0:254",
            "192.0.0.192");

    private WebhookTarget() {
    }

    /** Why {@code url} is not acceptable as written, or empty when it is. */
    public static Optional<String> refusal(URI url) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        String host = url.getHost();
        if (host == null || !(scheme.equals("https") || scheme.equals("http"))) {
            return Optional.of("is not an http(s) URL");
        }
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        String name = bare.toLowerCase(Locale.ROOT);
        if (METADATA_NAMES.contains(name) || METADATA_NAMES.contains(name.replaceAll("\\.$", ""))) {
            return Optional.of("points at a cloud metadata service");
        }
        Optional<InetAddress> literal = literal(bare);
        if (literal.isPresent()) {
            Optional<String> why = refusal(literal.get());
            if (why.isPresent()) {
                return why;
            }
        }
        if (scheme.equals("http") && (literal.isEmpty() || !literal.get().isLoopbackAddress())) {
            return Optional.of("must use https (plain http is only accepted for a loopback IP such as 127.0.0.1)");
        }
        return Optional.empty();
    }

    /** Why a webhook must not be sent to {@code address}, or empty when it may. */
    public static Optional<String> refusal(InetAddress address) {
        if (address.isLinkLocalAddress()) {
            return Optional.of("points at a link-local address (cloud metadata lives there)");
        }
        if (address.isAnyLocalAddress() || address.isMulticastAddress()) {
            return Optional.of("points at an unspecified or multicast address");
        }
        if (METADATA_ADDRESSES.contains(address.getHostAddress())) {
            return Optional.of("points at a cloud metadata service");
        }
        return Optional.empty();
    }

    /** The address {@code host} spells literally (IPv4 dotted or IPv6), without any DNS lookup. */
    static Optional<InetAddress> literal(String host) {
        boolean v4 = host.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
        boolean v6 = host.contains(":") && host.matches("[0-9A-Fa-f:.%a-zA-Z0-9]+");
        if (!v4 && !v6) {
            return Optional.empty();
        }
        try {
            return Optional.of(InetAddress.getByName(host));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }
}
