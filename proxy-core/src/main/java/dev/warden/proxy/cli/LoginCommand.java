package dev.warden.proxy.cli;

import dev.warden.proxy.login.BrowserFlow;
import dev.warden.proxy.login.ClientProfile;
import dev.warden.proxy.login.DeviceFlow;
import dev.warden.proxy.login.LoginException;
import dev.warden.proxy.login.OAuthClient;
import dev.warden.proxy.login.OidcEndpoints;
import dev.warden.proxy.login.TokenSet;
import java.awt.Desktop;
import java.awt.GraphicsEnvironment;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "login", mixinStandardHelpOptions = true,
        description = {"Log in to the OIDC issuer and cache the tokens for warden token, psql and url.",
                "Without --browser: the device authorization grant (open a URL on any device, enter a code).",
                "With --browser: authorization code + PKCE, redirected to a listener on 127.0.0.1.",
                "Tokens are cached in DIR/tokens/<sha256(issuer)>.json, readable only by you (0600).",
                "Exit codes: 0 logged in, 1 login failed (denied, expired, issuer error), 2 no issuer or client id."})
final class LoginCommand implements Callable<Integer> {

    @Mixin
    LoginOptions options;

    @Option(names = "--scope", paramLabel = "SCOPES",
            description = "Scopes to request (default: 'scope' in config.yaml, else \"" + ClientProfile.DEFAULT_SCOPE + "\").")
    String scope;

    @Option(names = "--browser", description = "Use the authorization code flow with PKCE in a browser.")
    boolean browser;

    @Override
    public Integer call() {
        ClientProfile profile;
        String issuer;
        String clientId;
        try {
            profile = options.profile();
            issuer = profile.requireIssuer();
            clientId = profile.requireClientId();
        } catch (LoginException e) {
            System.err.println("warden login: " + e.getMessage());
            return 2;
        }
        String scopes = scope != null ? scope : profile.scope().orElse(ClientProfile.DEFAULT_SCOPE);
        try {
            OAuthClient client = options.client();
            OidcEndpoints endpoints = client.discover(issuer);
            TokenSet tokens = browser
                    ? new BrowserFlow(client, Duration.ofMinutes(5)).login(endpoints, clientId, scopes,
                            LoginCommand::openBrowser)
                    : new DeviceFlow(client, d -> Thread.sleep(d.toMillis())).login(endpoints, clientId, scopes,
                            LoginCommand::showDevicePrompt);
            Path file = options.cache().save(tokens);
            System.out.println("Logged in to " + endpoints.issuer() + tokens.expiresAt()
                    .map(t -> " (access token valid until " + t + ")").orElse("") + "; tokens cached in " + file);
            return 0;
        } catch (LoginException e) {
            System.err.println("warden login: " + e.getMessage());
            return 1;
        }
    }

    private static void showDevicePrompt(DeviceFlow.Prompt prompt) {
        System.out.println("To log in, open " + prompt.verificationUri() + " and enter the code " + prompt.userCode());
        prompt.verificationUriComplete().ifPresent(u -> System.out.println("(or open " + u + ")"));
        System.out.println("Waiting for approval (the code expires in " + prompt.expiresIn().toMinutes() + " min)...");
        System.out.flush();
    }

    private static void openBrowser(URI uri) {
        System.out.println("Opening the login page; if no browser appears, open this URL:");
        System.out.println("  " + uri);
        System.out.flush();
        try {
            if (!GraphicsEnvironment.isHeadless() && Desktop.isDesktopSupported()
                    && Desktop.getDesktop().isSupported(Desktop.Action.BROWSE)) {
                Desktop.getDesktop().browse(uri);
            }
        } catch (Exception | LinkageError e) {
            // The URL is printed above; a missing desktop is not a failure.
        }
    }
}
