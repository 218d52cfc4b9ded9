package dev.warden.proxy.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.warden.config.Policy;
import dev.warden.config.PolicyLoader;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What can be checked of the Docker and Kubernetes files without a Docker engine or a cluster: they parse, name
 * what they should, agree with each other and with the policies they carry (which must load), and the image is
 * built with the same Maven command as the README and the launcher script.
 */
class PackagingFilesTest {

    static final Path ROOT = repositoryRoot();
    static final Path DOCKER = ROOT.resolve("docker");
    static final Path K8S = DOCKER.resolve("k8s");
    static final YAMLMapper YAML = new YAMLMapper();

    @Test
    void composeRunsWardenPostgresAndKeycloakWithTheRealmAndPolicyMounted() throws Exception {
        JsonNode services = YAML.readTree(DOCKER.resolve("compose.yaml").toFile()).path("services");
        assertEquals(Set.of("postgres", "keycloak", "warden"), names(services));

        JsonNode warden = services.path("warden");
        assertEquals("..", warden.path("build").path("context").asText());
        assertEquals("docker/Dockerfile", warden.path("build").path("dockerfile").asText());
        assertTrue(Files.exists(DOCKER.resolve(warden.path("build").path("context").asText())
                .resolve(warden.path("build").path("dockerfile").asText())));
        assertTrue(strings(warden.path("volumes")).contains("./warden.yaml:/etc/warden/warden.yaml:ro"));
        assertEquals("service:keycloak", warden.path("network_mode").asText(),
                "Warden reaches Keycloak as localhost, the issuer in tokens fetched from the host");
        assertEquals("service_healthy", warden.path("depends_on").path("postgres").path("condition").asText());

        JsonNode keycloak = services.path("keycloak");
        assertTrue(strings(keycloak.path("command")).contains("--import-realm"));
        assertTrue(strings(keycloak.path("volumes")).contains("./keycloak:/opt/keycloak/data/import:ro"));
        assertTrue(Files.exists(DOCKER.resolve("keycloak/realm-acme.json")));
        Set<String> published = strings(keycloak.path("ports")).stream().map(p -> p.split(":")[0])
                .collect(Collectors.toSet());
        assertEquals(Set.of("8080", "6432", "9090"), published);

        JsonNode postgres = services.path("postgres");
        // The superuser stays with administrators; the init script makes Warden's own login without it.
        assertEquals("postgres", postgres.path("environment").path("POSTGRES_USER").asText());
        assertTrue(strings(postgres.path("volumes")).contains("./initdb:/docker-entrypoint-initdb.d:ro"));
        assertFalse(postgres.path("healthcheck").path("test").isMissingNode());
    }

    @Test
    void composeAndKubernetesPoliciesMapEveryIdentityToARoleOfItsOwn() throws Exception {
        Policy compose = PolicyLoader.parse(Files.readString(DOCKER.resolve("warden.yaml")), DOCKER,
                "docker/warden.yaml", Map.of("DEV_DB_PASSWORD", "x"));
        String init = Files.readString(DOCKER.resolve("initdb/10-least-privilege.sh"));
        assertTrue(init.contains("CREATE ROLE warden LOGIN CREATEROLE"), init);
        for (var env : compose.environments().values()) {
            var roles = env.roles().orElseThrow(() -> new AssertionError(env.name() + " maps no roles"));
            assertEquals(dev.warden.config.RoleMapping.Provision.PER_IDENTITY, roles.provision());
            assertFalse(env.upstream().allowSuperuser());
            for (var rule : roles.rules()) {
                assertTrue(init.contains("CREATE ROLE " + rule.role() + " NOLOGIN"), rule.role());
                assertTrue(init.contains(rule.role()) && init.contains("TO warden WITH ADMIN OPTION"), rule.role());
            }
        }
        String k8s = YAML.readTree(K8S.resolve("configmap.yaml").toFile()).path("data").path("warden.yaml").asText();
        assertTrue(k8s.contains("provision: per_identity") && k8s.contains("- { agents: true, role: app_readonly }"),
                k8s);
        // The channel the policies listen on is the one the event trigger the database is set up with sends on.
        String notify = Files.readString(DOCKER.resolve("initdb/20-catalog-notify.sql"));
        for (var env : compose.environments().values()) {
            String channel = env.upstream().catalogChannel().orElseThrow().name();
            assertTrue(notify.contains("pg_notify('" + channel + "'"), channel);
        }
        assertTrue(k8s.contains("catalog_channel: warden_catalog"), k8s);
    }

    @Test
    void theComposePolicyLoadsAndMatchesTheRealmAndPorts() throws Exception {
        String yaml = Files.readString(DOCKER.resolve("warden.yaml"));
        Policy policy = PolicyLoader.parse(yaml, DOCKER, "docker/warden.yaml", Map.of("DEV_DB_PASSWORD", "x"));
        assertEquals(6432, policy.listen().port());
        assertEquals(9090, policy.admin().address().orElseThrow().port());
        var issuer = policy.issuers().get(0);
        assertEquals("http://localhost:8080/realms/acme", issuer.issuer());

        JsonNode realm = new ObjectMapper().readTree(DOCKER.resolve("keycloak/realm-acme.json").toFile());
        assertEquals("acme", realm.path("realm").asText());
        Map<String, Set<String>> groupsByUser = new HashMap<>();
        for (JsonNode user : realm.path("users")) {
            groupsByUser.put(user.path("username").asText(), strings(user.path("groups")));
            assertTrue(user.path("email").asText().endsWith("@acme.example"), user.toString());
        }
        assertEquals(Set.of("/eng"), groupsByUser.get("alice"));
        assertEquals(Set.of("/dba"), groupsByUser.get("bob"));
        assertTrue(groupsByUser.get("carol").contains("/pii-readers"));
        Set<String> realmGroups = new HashSet<>();
        realm.path("groups").forEach(g -> realmGroups.add(g.path("name").asText()));
        policy.environments().values().forEach(env -> env.allow().forEach(rule ->
                assertTrue(realmGroups.containsAll(rule.groups()), "realm lacks a group of " + rule)));

        JsonNode client = null;
        for (JsonNode c : realm.path("clients")) {
            if (c.path("clientId").asText().equals("warden")) {
                client = c;
            }
        }
        assertTrue(client != null, "client warden");
        Map<String, JsonNode> mappers = new HashMap<>();
        client.path("protocolMappers").forEach(m -> mappers.put(m.path("protocolMapper").asText(), m.path("config")));
        assertEquals(issuer.audience(), mappers.get("oidc-audience-mapper").path("included.client.audience").asText());
        assertEquals(issuer.groupsClaim(), mappers.get("oidc-group-membership-mapper").path("claim.name").asText());
        assertEquals("false", mappers.get("oidc-group-membership-mapper").path("full.path").asText(),
                "group names without the leading slash, as the policy writes them");
        assertEquals(issuer.usernameClaim(), mappers.get("oidc-usermodel-property-mapper").path("claim.name").asText());
    }

    @Test
    void theDeploymentRunsTwoReplicasReadyOnReadyzWithTheConfigMapAndSecrets() throws Exception {
        JsonNode deployment = single(K8S.resolve("deployment.yaml"));
        assertEquals("Deployment", deployment.path("kind").asText());
        assertTrue(deployment.path("spec").path("replicas").asInt() >= 2);
        JsonNode pod = deployment.path("spec").path("template");
        assertEquals(deployment.path("spec").path("selector").path("matchLabels"), pod.path("metadata").path("labels"));
        assertTrue(pod.path("spec").path("securityContext").path("runAsNonRoot").asBoolean());
        JsonNode container = pod.path("spec").path("containers").get(0);
        Map<String, Integer> ports = new HashMap<>();
        container.path("ports").forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
        assertEquals(Map.of("postgres", 6432, "admin", 9090), ports);
        JsonNode readiness = container.path("readinessProbe").path("httpGet");
        assertEquals("/readyz", readiness.path("path").asText());
        assertEquals("admin", readiness.path("port").asText());
        assertEquals("/healthz", container.path("livenessProbe").path("httpGet").path("path").asText());

        Map<String, JsonNode> volumes = new HashMap<>();
        pod.path("spec").path("volumes").forEach(v -> volumes.put(v.path("name").asText(), v));
        Map<String, String> mounts = new HashMap<>();
        for (JsonNode m : container.path("volumeMounts")) {
            assertTrue(volumes.containsKey(m.path("name").asText()), "mount of an undeclared volume " + m);
            mounts.put(m.path("name").asText(), m.path("mountPath").asText());
        }
        JsonNode configMap = single(K8S.resolve("configmap.yaml"));
        assertEquals(configMap.path("metadata").path("name").asText(),
                volumes.get("policy").path("configMap").path("name").asText());
        List<String> args = new ArrayList<>(strings(container.path("args")));
        assertEquals(List.of("serve", "--config", mounts.get("policy") + "/warden.yaml"), args);

        Map<String, JsonNode> secrets = new HashMap<>();
        for (JsonNode s : all(K8S.resolve("secret.yaml"))) {
            assertEquals("Secret", s.path("kind").asText());
            secrets.put(s.path("metadata").path("name").asText(), s.path("stringData"));
        }
        for (JsonNode v : volumes.values()) {
            if (v.has("secret")) {
                assertTrue(secrets.containsKey(v.path("secret").path("secretName").asText()), v.toString());
            }
        }
        for (JsonNode env : container.path("env")) {
            JsonNode ref = env.path("valueFrom").path("secretKeyRef");
            if (!ref.isMissingNode()) {
                assertTrue(secrets.get(ref.path("name").asText()).has(ref.path("key").asText()), env.toString());
            }
        }
        assertTrue(secrets.get("warden-tls").has("tls.crt") && secrets.get("warden-tls").has("tls.key"));

        JsonNode service = single(K8S.resolve("service.yaml"));
        assertEquals(pod.path("metadata").path("labels"), service.path("spec").path("selector"));
        Set<String> targets = new HashSet<>();
        service.path("spec").path("ports").forEach(p -> targets.add(p.path("targetPort").asText()));
        assertEquals(ports.keySet(), targets);

        JsonNode kustomization = single(K8S.resolve("kustomization.yaml"));
        Set<String> manifests;
        try (Stream<Path> files = Files.list(K8S)) {
            manifests = files.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).collect(Collectors.toSet());
        }
        assertEquals(manifests, strings(kustomization.path("resources")));
    }

    @Test
    void theConfigMapPolicyLoadsWithTheMountedFilesInPlace() throws Exception {
        JsonNode configMap = single(K8S.resolve("configmap.yaml"));
        String yaml = configMap.path("data").path("warden.yaml").asText();
        JsonNode deployment = single(K8S.resolve("deployment.yaml"));
        JsonNode container = deployment.path("spec").path("template").path("spec").path("containers").get(0);
        Map<String, String> mounts = new HashMap<>();
        container.path("volumeMounts").forEach(m -> mounts.put(m.path("name").asText(), m.path("mountPath").asText()));
        Map<String, JsonNode> secrets = new HashMap<>();
        for (JsonNode s : all(K8S.resolve("secret.yaml"))) {
            secrets.put(s.path("metadata").path("name").asText(), s.path("stringData"));
        }

        // Every file the policy names must be a key of the Secret mounted at its directory.
        Path fakeRoot = Files.createTempDirectory("warden-k8s-");
        Matcher files = Pattern.compile("/etc/warden/[A-Za-z0-9_./-]+").matcher(yaml);
        Set<String> named = new LinkedHashSet<>();
        while (files.find()) {
            named.add(files.group());
        }
        assertFalse(named.isEmpty());
        for (String file : named) {
            Path path = Path.of(file);
            String volume = mounts.entrySet().stream().filter(e -> e.getValue().equals(path.getParent().toString()))
                    .map(Map.Entry::getKey).findFirst().orElseThrow(() -> new AssertionError("no mount for " + file));
            JsonNode secretVolume = deployment.path("spec").path("template").path("spec").path("volumes");
            String secretName = null;
            for (JsonNode v : secretVolume) {
                if (v.path("name").asText().equals(volume)) {
                    secretName = v.path("secret").path("secretName").asText();
                }
            }
            assertTrue(secrets.get(secretName).has(path.getFileName().toString()), file + " is not in " + secretName);
            Path fake = fakeRoot.resolve(file.substring(1));
            Files.createDirectories(fake.getParent());
            Files.writeString(fake, "placeholder");
        }
        String relocated = yaml.replace("/etc/warden/", fakeRoot + "/etc/warden/");
        Policy policy = PolicyLoader.parse(relocated, fakeRoot, "configmap.yaml",
                Map.of("WARDEN_STATE_URL", "jdbc:postgresql://state/warden"));
        assertEquals(9090, policy.admin().address().orElseThrow().port());
        assertEquals(6432, policy.listen().port());
        assertTrue(policy.issuers().get(0).issuer().startsWith("https://"));
    }

    @Test
    void theImageIsBuiltWithTheReadmeCommandAsANonRootUser() throws Exception {
        List<String> dockerfile = Files.readAllLines(DOCKER.resolve("Dockerfile"));
        List<String> builds = dockerfile.stream().filter(l -> l.startsWith("RUN ") && l.contains(" mvn "))
                .map(l -> l.replaceFirst("^RUN (--mount=\\S+ )*", "")).toList();
        assertEquals(1, builds.size(), "one Maven build in the Dockerfile: " + builds);
        String build = builds.get(0);

        Set<String> readmeBuilds = mavenCommands(Files.readString(ROOT.resolve("README.md")), "package");
        assertFalse(readmeBuilds.isEmpty(), "the README shows the build command");
        assertEquals(Set.of(build), readmeBuilds, "the README and the Dockerfile build the same way");
        assertEquals(Set.of(build), mavenCommands(Files.readString(ROOT.resolve("warden")), "package"),
                "the launcher script builds as the README says");

        // CI runs `verify`, whose lifecycle includes `package`, over the whole reactor, like the image build.
        Set<String> ci = mavenCommands(Files.readString(ROOT.resolve(".ci/run")), "verify");
        assertEquals(1, ci.size(), ci.toString());
        assertEquals(goals(build), Set.of("package"));
        assertEquals(goals(ci.iterator().next()), Set.of("verify"));
        assertFalse(ci.iterator().next().matches(".*\\s-(pl|am|P)\\b.*"), "CI builds every module");

        String copy = dockerfile.stream().filter(l -> l.startsWith("COPY --from=build")).findFirst().orElseThrow();
        assertTrue(copy.contains("/src/proxy-core/target/warden.jar"), copy);
        assertTrue(Files.readString(ROOT.resolve("proxy-core/pom.xml")).contains("<finalName>warden</finalName>"));
        String user = dockerfile.stream().filter(l -> l.startsWith("USER ")).reduce((a, b) -> b).orElseThrow();
        assertNotEquals("USER root", user);
        assertFalse(user.matches("USER 0(:.*)?"), user);
        assertTrue(dockerfile.stream().anyMatch(l -> l.matches("FROM eclipse-temurin:\\d+-jre.*")),
                "runs on a JRE image");
    }

    /** Every distinct {@code mvn ... <goal>} command in a text (shell or Markdown). */
    static Set<String> mavenCommands(String text, String goal) {
        Matcher m = Pattern.compile("\\bmvn(?: +[-\\w.=]+)*? +" + goal + "\\b").matcher(text);
        Set<String> commands = new LinkedHashSet<>();
        while (m.find()) {
            commands.add(m.group().replaceAll(" +", " "));
        }
        return commands;
    }

    static Set<String> goals(String mvn) {
        return Stream.of(mvn.split(" ")).skip(1).filter(a -> !a.startsWith("-")).collect(Collectors.toSet());
    }

    static JsonNode single(Path file) throws IOException {
        List<JsonNode> docs = all(file);
        assertEquals(1, docs.size(), file + " holds one document");
        return docs.get(0);
    }

    static List<JsonNode> all(Path file) throws IOException {
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            return docs.readAll();
        }
    }

    static Set<String> names(JsonNode object) {
        Set<String> names = new HashSet<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    static Set<String> strings(JsonNode array) {
        Set<String> values = new LinkedHashSet<>();
        array.forEach(v -> values.add(v.asText()));
        return values;
    }

    static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("docker/compose.yaml"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("cannot find the repository root above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }
}
