package dev.warden.proxy.login;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where the CLI connects: {@code CONFIG_DIR/config.yaml}, with keys {@code issuer}, {@code client_id},
 * {@code scope}, {@code host}, {@code port} and {@code user_claim}. Flags win over the environment
 * ({@code WARDEN_ISSUER}, {@code WARDEN_CLIENT_ID}), which wins over the file.
 */
public record ClientProfile(Optional<String> issuer, Optional<String> clientId, Optional<String> scope,
                            Optional<String> host, Optional<Integer> port, Optional<String> userClaim) {

    public static final String DEFAULT_SCOPE = "openid email groups offline_access";
    public static final String DEFAULT_HOST = "localhost";
    public static final int DEFAULT_PORT = 6432;
    public static final String DEFAULT_USER_CLAIM = "email";
    private static final List<String> KEYS = List.of("issuer", "client_id", "scope", "host", "port", "user_claim");

    /** {@code $XDG_CONFIG_HOME/warden}, else {@code ~/.config/warden}. */
    public static Path configDirectory(Map<String, String> env) {
        String xdg = env.get("XDG_CONFIG_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            return Path.of(xdg, "warden");
        }
        return Path.of(System.getProperty("user.home"), ".config", "warden");
    }

    /** The profile file in {@code configDirectory}, or an empty profile when there is none. */
    public static ClientProfile read(Path configDirectory) throws LoginException {
        Path file = configDirectory.resolve("config.yaml");
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            return empty();
        } catch (IOException e) {
            throw new LoginException(file + ": " + e.getMessage(), e);
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return empty();
        }
        if (!root.isObject()) {
            throw new LoginException(file + ": expected keys " + String.join(", ", KEYS));
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String key = names.next();
            if (!KEYS.contains(key)) {
                throw new LoginException(file + ": unknown key '" + key + "'; expected one of " + String.join(", ", KEYS));
            }
        }
        Optional<Integer> port = Optional.empty();
        Optional<String> portText = text(root, "port");
        if (portText.isPresent()) {
            try {
                port = Optional.of(Integer.parseInt(portText.get()));
            } catch (NumberFormatException e) {
                throw new LoginException(file + ": port '" + portText.get() + "' is not a number");
            }
        }
        return new ClientProfile(text(root, "issuer"), text(root, "client_id"), text(root, "scope"),
                text(root, "host"), port, text(root, "user_claim"));
    }

    public static ClientProfile empty() {
        return new ClientProfile(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty());
    }

    public String requireIssuer() throws LoginException {
        return issuer.orElseThrow(() -> new LoginException("no issuer: pass --issuer, set WARDEN_ISSUER, or put "
                + "'issuer:' in config.yaml"));
    }

    public String requireClientId() throws LoginException {
        return clientId.orElseThrow(() -> new LoginException("no client id: pass --client-id, set WARDEN_CLIENT_ID, "
                + "or put 'client_id:' in config.yaml"));
    }

    /** This profile with flags, then environment variables, laid over it. */
    public ClientProfile overriddenBy(Optional<String> issuerFlag, Optional<String> clientIdFlag,
                                      Map<String, String> env) {
        return new ClientProfile(first(issuerFlag, env.get("WARDEN_ISSUER"), issuer),
                first(clientIdFlag, env.get("WARDEN_CLIENT_ID"), clientId), scope, host, port, userClaim);
    }

    private static Optional<String> first(Optional<String> flag, String env, Optional<String> file) {
        if (flag.isPresent() && !flag.get().isBlank()) {
            return flag;
        }
        if (env != null && !env.isBlank()) {
            return Optional.of(env);
        }
        return file;
    }

    private static Optional<String> text(JsonNode root, String key) {
        JsonNode node = root.get(key);
        return node == null || node.isNull() || node.asText().isBlank() ? Optional.empty()
                : Optional.of(node.asText().trim());
    }
}
