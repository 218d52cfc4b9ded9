package dev.warden.audit.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** Who: the token's subject and issuer, the username Warden matched, groups, and whether it is an agent. */
public record AuditIdentity(String subject, String username, List<String> groups, boolean agent, String issuer) {

    public AuditIdentity {
        Fields.required(username, "username");
        subject = subject == null ? "" : subject;
        issuer = issuer == null ? "" : issuer;
        groups = Fields.list(groups);
    }

    public String kind() {
        return agent ? "agent" : "human";
    }

    CanonicalWriter write(CanonicalWriter out) {
        return out.strings("groups", groups).string("issuer", issuer).string("kind", kind())
                .string("subject", subject).string("username", username);
    }

    void write(ObjectNode out) {
        out.put("subject", subject);
        out.put("username", username);
        Fields.strings(out, "groups", groups);
        out.put("kind", kind());
        out.put("issuer", issuer);
    }
}
