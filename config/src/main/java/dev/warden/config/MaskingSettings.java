package dev.warden.config;

/**
 * The {@code masking} section. Placeholder until masking lands: the section is refused at load, so no
 * policy can believe it masks while it does not.
 */
public record MaskingSettings() {

    public static MaskingSettings defaults() {
        return new MaskingSettings();
    }
}
