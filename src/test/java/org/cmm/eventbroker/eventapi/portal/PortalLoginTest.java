package org.cmm.eventbroker.eventapi.portal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;

import org.cmm.eventbroker.platform.security.http.BrowserSessions;
import org.junit.jupiter.api.Test;

/**
 * The session cookie's attributes over HTTP and HTTPS (PortalLoginIT sees the plain HTTP one end to end) and the PKCE
 * S256 challenge against RFC 7636's own example.
 */
class PortalLoginTest {

    @Test
    void theSessionCookieIsHttpOnlyLaxOnTheWholeSiteAndSecureExactlyOverHttps() {
        String https = PortalLogin.sessionCookie("abc", 300, true).encode().toLowerCase(Locale.ROOT);
        assertTrue(https.startsWith(BrowserSessions.COOKIE + "=abc;"), https);
        assertTrue(https.contains("; httponly") && https.contains("; samesite=lax") && https.contains("; path=/")
                && https.contains("; secure") && https.contains("max-age=300"), https);
        String http = PortalLogin.sessionCookie("abc", 300, false).encode().toLowerCase(Locale.ROOT);
        assertTrue(http.contains("; httponly") && http.contains("; samesite=lax"), http);
        assertFalse(http.contains("; secure"), "plain HTTP: a Secure cookie would never come back");
    }

    @Test
    void logoutClearsTheCookieWithTheSameAttributes() {
        String cleared = PortalLogin.sessionCookie("", 0, true).encode().toLowerCase(Locale.ROOT);
        assertTrue(cleared.startsWith(BrowserSessions.COOKIE + "=;") && cleared.contains("max-age=0")
                && cleared.contains("; path=/") && cleared.contains("; httponly") && cleared.contains("; secure")
                && cleared.contains("; samesite=lax"), cleared);
    }

    @Test
    void theCodeChallengeIsS256OfTheVerifierAsInRfc7636AppendixB() {
        assertEquals("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                PortalLogin.challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    }
}
