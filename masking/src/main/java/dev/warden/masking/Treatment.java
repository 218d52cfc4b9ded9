package dev.warden.masking;

import dev.warden.config.MaskingSettings.MaskingRule.Strategy;

/** A strategy with its parameters and the rule that chose it ({@code column:public.users.email}…). */
record Treatment(Strategy strategy, int keep, String fixedValue, String rule) {

    static final Treatment KEEP = new Treatment(Strategy.KEEP, 0, "", "none");

    static Treatment of(Strategy strategy, String rule) {
        return new Treatment(strategy, 4, "", rule);
    }

    String describe() {
        return switch (strategy) {
            case PARTIAL -> "partial(keep=" + keep + ")";
            default -> strategy.configName();
        };
    }
}
