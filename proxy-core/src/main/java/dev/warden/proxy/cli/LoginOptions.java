package dev.warden.proxy.cli;

import dev.warden.proxy.login.ClientProfile;
import dev.warden.proxy.login.LoginException;
import dev.warden.proxy.login.OAuthClient;
import dev.warden.proxy.login.TokenCache;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Options every login-related command shares: which issuer, which client, which configuration directory. */
final class LoginOptions {

    @Option(names = "--issuer", paramLabel = "URL",
            description = "OIDC issuer (default: $WARDEN_ISSUER, else 'issuer' in config.yaml).")
    String issuer;

    @Option(names = "--client-id", paramLabel = "ID",
            description = "OIDC client id (default: $WARDEN_CLIENT_ID, else 'client_id' in config.yaml).")
    String clientId;

    @Option(names = "--config-dir", paramLabel = "DIR",
            description = "Configuration directory holding config.yaml and tokens/ "
                    + "(default: $XDG_CONFIG_HOME/warden, else ~/.config/warden).")
    Path configDir;

    /** Tests replace the process environment. */
    Map<String, String> environment = System.getenv();

    Path configDirectory() {
        return configDir != null ? configDir : ClientProfile.configDirectory(environment);
    }

    ClientProfile profile() throws LoginException {
        return ClientProfile.read(configDirectory()).overriddenBy(Optional.ofNullable(issuer),
                Optional.ofNullable(clientId), environment);
    }

    TokenCache cache() {
        return new TokenCache(configDirectory());
    }

    OAuthClient client() {
        return new OAuthClient(Clock.systemUTC());
    }
}
