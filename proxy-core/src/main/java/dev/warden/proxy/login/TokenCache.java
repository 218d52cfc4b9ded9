package dev.warden.proxy.login;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * Logins cached per issuer as {@code DIR/tokens/<sha256(issuer)>.json}: the directory is 0700 and each file
 * 0600 from the moment it exists (written to a private temporary file, then moved into place), because a
 * refresh token is as good as the user's password until it is revoked.
 */
public final class TokenCache {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<PosixFilePermission> OWNER_DIR = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_FILE = PosixFilePermissions.fromString("rw-------");

    private final Path directory;

    /** @param configDirectory Warden's configuration directory, e.g. {@code ~/.config/warden} */
    public TokenCache(Path configDirectory) {
        this.directory = configDirectory.resolve("tokens");
    }

    public Path fileFor(String issuer) {
        return directory.resolve(Issuers.sha256(issuer) + ".json");
    }

    public Optional<TokenSet> load(String issuer) throws LoginException {
        Path file = fileFor(issuer);
        JsonNode json;
        try {
            json = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new LoginException("cannot read the token cache " + file + ": " + e.getMessage()
                    + " (delete it and run `warden login`)", e);
        }
        Optional<String> access = OAuthClient.field(json, "access_token");
        Optional<String> endpoint = OAuthClient.field(json, "token_endpoint");
        if (access.isEmpty() || endpoint.isEmpty()) {
            throw new LoginException("the token cache " + file + " is incomplete: run `warden login`");
        }
        JsonNode expires = json.get("expires_at");
        return Optional.of(new TokenSet(OAuthClient.field(json, "issuer").orElse(Issuers.normalize(issuer)),
                OAuthClient.field(json, "client_id").orElse(""), URI.create(endpoint.get()), access.get(),
                OAuthClient.field(json, "id_token"), OAuthClient.field(json, "refresh_token"),
                expires != null && expires.canConvertToLong() ? Optional.of(Instant.ofEpochSecond(expires.asLong()))
                        : Optional.empty()));
    }

    public Path save(TokenSet tokens) throws LoginException {
        ObjectNode json = JSON.createObjectNode();
        json.put("issuer", tokens.issuer());
        json.put("client_id", tokens.clientId());
        json.put("token_endpoint", tokens.tokenEndpoint().toString());
        json.put("access_token", tokens.accessToken());
        tokens.idToken().ifPresent(t -> json.put("id_token", t));
        tokens.refreshToken().ifPresent(t -> json.put("refresh_token", t));
        tokens.expiresAt().ifPresent(t -> json.put("expires_at", t.getEpochSecond()));
        Path file = fileFor(tokens.issuer());
        try {
            createPrivateDirectory();
            Path temporary = posix()
                    ? Files.createTempFile(directory, ".token-", ".tmp", PosixFilePermissions.asFileAttribute(OWNER_FILE))
                    : Files.createTempFile(directory, ".token-", ".tmp");
            try {
                Files.writeString(temporary, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json),
                        StandardCharsets.UTF_8);
                try {
                    Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(temporary);
            }
            if (posix()) {
                // A file an older version or the user created with looser permissions is tightened too.
                Files.setPosixFilePermissions(file, OWNER_FILE);
            }
            return file;
        } catch (IOException e) {
            throw new LoginException("cannot write the token cache " + file + ": " + e.getMessage(), e);
        }
    }

    private void createPrivateDirectory() throws IOException {
        if (!posix()) {
            Files.createDirectories(directory);
            return;
        }
        FileAttribute<Set<PosixFilePermission>> ownerOnly = PosixFilePermissions.asFileAttribute(OWNER_DIR);
        Path parent = directory.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            Files.createDirectories(parent, ownerOnly);
        }
        if (!Files.isDirectory(directory)) {
            Files.createDirectory(directory, ownerOnly);
        }
        Files.setPosixFilePermissions(directory, OWNER_DIR);
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }
}
