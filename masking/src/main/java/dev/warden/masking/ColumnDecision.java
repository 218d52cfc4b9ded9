package dev.warden.masking;

/**
 * What the plan does with one result column, for the audit trail.
 *
 * @param masked        every non-NULL value is masked with {@code strategy}
 * @param valueScanned  values are scanned and masked one by one when a value detector fires
 * @param strategy      {@code keep}, {@code redact}, {@code partial(keep=4)}, … or {@code detect} when scanned
 * @param rule          what decided: {@code column:public.users.email}, {@code column_name:…}, {@code type:…},
 *                      {@code detector:card} (a policy rule), {@code builtin:email} (a built-in name detector),
 *                      {@code lineage:expression-over-sensitive-read}, {@code value_detection},
 *                      {@code unmasked_for}, or {@code none}
 * @param exemptFrom    for an identity exempt from masking ({@code unmasked_for}), the rule that would have masked
 *                      the column for others (it is sensitive, and this identity received it in clear); else null
 */
public record ColumnDecision(String name, boolean masked, boolean valueScanned, String strategy, String rule,
                             String exemptFrom) {

    public ColumnDecision(String name, boolean masked, boolean valueScanned, String strategy, String rule) {
        this(name, masked, valueScanned, strategy, rule, null);
    }
}
