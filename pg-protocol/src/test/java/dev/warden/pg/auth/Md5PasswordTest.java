package dev.warden.pg.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class Md5PasswordTest {

    @Test
    void matchesAnIndependentlyComputedHash() {
        // printf 'secretpostgres' | md5sum -> 53f48b7c4b76a86ce72276c5755f217d
        // (printf '53f48b7c4b76a86ce72276c5755f217d'; printf '\x01\x02\x03\x04') | md5sum
        assertEquals("md5bb41a296aab6baccb36ff243a562abff",
                Md5Password.encode("postgres", "secret", new byte[] {1, 2, 3, 4}));
    }

    @Test
    void saltMustBeFourBytes() {
        assertThrows(IllegalArgumentException.class, () -> Md5Password.encode("u", "p", new byte[3]));
    }
}
