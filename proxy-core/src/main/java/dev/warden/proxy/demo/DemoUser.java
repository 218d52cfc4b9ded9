package dev.warden.proxy.demo;

import java.util.List;
import java.util.Optional;

/**
 * Someone the demo mints a token for. {@code agentClientId} is the {@code azp} claim of a service or AI agent;
 * the demo policy's agent rule turns exactly that client into an agent.
 */
record DemoUser(String name, List<String> groups, Optional<String> agentClientId, String role) {

    static final String DOMAIN = "demo.warden";

    static final DemoUser ALICE = new DemoUser("alice", List.of("eng"), Optional.empty(), "engineer");
    static final DemoUser BOB = new DemoUser("bob", List.of("dba"), Optional.empty(), "DBA, approves prod writes");
    static final DemoUser CAROL = new DemoUser("carol", List.of("eng", "pii-readers"), Optional.empty(),
            "engineer allowed to read personal data");
    static final DemoUser SUPPORT_BOT = new DemoUser("support-bot", List.of("support", "pii-readers"),
            Optional.of("support-bot"), "AI agent (azp=support-bot): masked even in pii-readers");

    static final List<DemoUser> ALL = List.of(ALICE, BOB, CAROL, SUPPORT_BOT);

    DemoUser {
        groups = List.copyOf(groups);
    }

    /** The {@code email} claim, which the demo policy uses as the user name. */
    String email() {
        return name + "@" + DOMAIN;
    }

    boolean isAgent() {
        return agentClientId.isPresent();
    }
}
