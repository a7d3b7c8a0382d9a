package org.cmm.eventbroker.engagement.push;

import java.math.BigInteger;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECPrivateKeySpec;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

/**
 * RFC 8292 voluntary application server identification: an ES256 JWT (Nimbus JOSE+JWT) for the push service's
 * origin, with the application server's public key beside it ({@code Authorization: vapid t=<jwt>, k=<key>}). The
 * token of an origin is reused until shortly before it expires (signing per message would cost more than the
 * encryption).
 */
public final class Vapid {

    private static final long LIFETIME_MS = 12 * 3600_000L;
    private static final long RENEW_BEFORE_MS = 3600_000L;

    private final ECPrivateKey privateKey;
    private final String publicKey;
    private final String subject;
    private final Map<String, String[]> tokens = new ConcurrentHashMap<>();

    /**
     * @param publicKey  base64url of the 65-byte uncompressed public key (what browsers get as applicationServerKey)
     * @param privateKey base64url of the 32-byte private scalar
     * @param subject    a {@code mailto:} or {@code https:} contact for the push service's operators
     */
    public Vapid(String publicKey, String privateKey, String subject) throws GeneralSecurityException {
        byte[] pub = Base64.getUrlDecoder().decode(publicKey.replace("=", ""));
        WebPushEncryption.publicKey(pub); // checks it is a P-256 point
        byte[] d = Base64.getUrlDecoder().decode(privateKey.replace("=", ""));
        this.privateKey = (ECPrivateKey) KeyFactory.getInstance("EC")
                .generatePrivate(new ECPrivateKeySpec(new BigInteger(1, d), WebPushEncryption.P256));
        this.publicKey = Base64.getUrlEncoder().withoutPadding().encodeToString(pub);
        if (subject == null || !(subject.startsWith("mailto:") || subject.startsWith("https:"))) {
            throw new IllegalArgumentException("the VAPID subject must be a mailto: or https: contact");
        }
        this.subject = subject;
    }

    /** A new key pair as {public, private}, base64url: {@code java -cp ... Vapid} prints one for configuration. */
    public static String[] generateKeys() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = generator.generateKeyPair();
        byte[] d = ((ECPrivateKey) pair.getPrivate()).getS().toByteArray();
        byte[] fixed = new byte[32];
        int len = Math.min(d.length, 32);
        System.arraycopy(d, d.length - len, fixed, 32 - len, len);
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return new String[] {b64.encodeToString(WebPushEncryption.uncompressed((ECPublicKey) pair.getPublic())),
                b64.encodeToString(fixed)};
    }

    public static void main(String[] args) throws GeneralSecurityException {
        String[] keys = generateKeys();
        System.out.println("cmm.engagement.webpush.vapid-public-key = " + keys[0]);
        System.out.println("cmm.engagement.webpush.vapid-private-key = " + keys[1]);
    }

    /** The Authorization header value for a request to {@code endpoint}. */
    public String authorization(URI endpoint) {
        String audience = endpoint.getScheme() + "://" + endpoint.getHost()
                + (endpoint.getPort() < 0 ? "" : ":" + endpoint.getPort());
        long now = System.currentTimeMillis();
        String[] cached = tokens.get(audience);
        if (cached == null || Long.parseLong(cached[1]) - RENEW_BEFORE_MS < now) {
            long expires = now + LIFETIME_MS;
            cached = new String[] {sign(audience, expires), Long.toString(expires)};
            tokens.put(audience, cached);
        }
        return "vapid t=" + cached[0] + ", k=" + publicKey;
    }

    private String sign(String audience, long expires) {
        try {
            JWTClaimsSet claims = new JWTClaimsSet.Builder().audience(audience).expirationTime(new Date(expires))
                    .subject(subject).build();
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT).build(),
                    claims);
            jwt.sign(new ECDSASigner(privateKey));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("VAPID token could not be signed: " + e.getMessage(), e);
        }
    }
}
