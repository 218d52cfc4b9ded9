package dev.warden.proxy.session;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The pre-login pool counts an IPv6 client by its /64: one host may hold a whole /64 (privacy addresses), and counted
 * address by address it could take every pre-login slot alone (attacker pass 18 named this).
 */
class ClientNetworkTest {

    private static InetAddress network(String address) throws Exception {
        return ConnectionBudget.clientNetwork(InetAddress.getByName(address));
    }

    @Test
    void addressesOfOneIpv6Slash64CountAsOneClient() throws Exception {
        assertEquals(network("2001:db8:1:2::1"), network("2001:db8:1:2:ffff:ffff:ffff:fffe"));
        assertEquals(network("2001:db8:1:2::1"), network("2001:db8:1:2:a1b2:c3d4:e5f6:789"));
    }

    @Test
    void otherSlash64sAndIpv4AddressesStayApart() throws Exception {
        assertNotEquals(network("2001:db8:1:2::1"), network("2001:db8:1:3::1"));
        assertNotEquals(network("2001:db8:1:2::1"), network("2001:db9:1:2::1"));
        assertEquals(InetAddress.getByName("192.0.2.7"), network("192.0.2.7"));
        assertNotEquals(network("192.0.2.7"), network("192.0.2.8"));
        // An IPv4-mapped address is read as its IPv4 address, and is counted as that address.
        assertEquals(InetAddress.getByName("192.0.2.7"), network("::ffff:192.0.2.7"));
    }
}
