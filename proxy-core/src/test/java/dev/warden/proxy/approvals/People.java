package dev.warden.proxy.approvals;

import dev.warden.identity.Identity;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Set;

/** Identities for engine tests; subjects are the user names, the issuer is one made-up realm. */
public final class People {

    public static final String ISSUER = "https://login.example.com/realms/acme";

    public static final Identity ALICE = person("alice@example.com", "eng");
    public static final Identity BOB = person("bob@example.com", "dba");
    public static final Identity CAROL = person("carol@example.com", "dba", "eng");
    public static final Identity MALLORY = person("mallory@example.com", "eng");
    /** A requester who is also in the approver group: still may not approve their own request. */
    public static final Identity DAVE = person("dave@example.com", "dba");

    private People() {
    }

    public static Identity person(String email, String... groups) {
        return new Identity(email, email, Set.of(groups), Identity.Kind.HUMAN, ISSUER,
                Instant.now().plus(1, ChronoUnit.HOURS));
    }
}
