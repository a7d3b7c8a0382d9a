package org.cmm.eventbroker.dev;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.webapp.WebAppContext;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;

/**
 * Hawtio 4 (the io.hawt:hawtio-war the build copies to {@code target/hawtio/hawtio.war}) in an embedded Jetty, next to
 * the runtime, connected to the runtime's Jolokia endpoint:
 *
 * <pre>
 * java -cp target/cmm-event-broker.jar org.cmm.eventbroker.dev.HawtioServer \
 *      [--port 8090] [--war target/hawtio/hawtio.war] [--runtime-host 127.0.0.1] [--runtime-port 8080]
 * </pre>
 * then open {@code http://127.0.0.1:8090/} — a small page that stores the connection to the runtime in the browser
 * (Hawtio 4 keeps connections in localStorage) and opens Hawtio's Camel view on it. Without {@code --oidc-issuer}
 * authentication is off and the proxy only reaches this machine: for a developer's workstation, bound to 127.0.0.1.
 *
 * <p>With {@code --oidc-issuer <issuer> [--oidc-client hawtio] [--runtime-scheme https]} (the runtime's access control
 * on) Hawtio's login is the issuer's (Hawtio 4's OpenID Connect login, the same identities as every other way in):
 * the browser signs in at the issuer, Hawtio accepts only users holding one of {@value #LOGIN_ROLES}, and its proxy
 * forwards the user's bearer token to the runtime's Jolokia, whose guard then decides read (monitoring, operator) and
 * exec/write (operator). The issuer needs a public client (standard flow, redirect URI {@code <hawtio>/hawtio/*})
 * whose tokens name both Hawtio's client and the runtime's audience in {@code aud} (two audience mappers).
 */
public final class HawtioServer implements AutoCloseable {

    /** Realm roles that may log in to Hawtio. */
    public static final String LOGIN_ROLES = "monitoring,operator";

    /** Hawtio's login at an OpenID Connect issuer. */
    public record Login(String issuer, String clientId) {
    }

    private final Server server;

    public HawtioServer(String bindHost, int port, Path war, String runtimeHost, int runtimePort) throws IOException {
        this(bindHost, port, war, "http", runtimeHost, runtimePort, null);
    }

    /**
     * @param runtimeScheme http, or https when the runtime's management server serves TLS
     * @param login         null: no authentication (development posture only)
     */
    public HawtioServer(String bindHost, int port, Path war, String runtimeScheme, String runtimeHost, int runtimePort,
            Login login) throws IOException {
        if (!Files.isRegularFile(war)) {
            throw new IllegalArgumentException("no Hawtio war at " + war + " (mvn package copies it to target/hawtio)");
        }
        if (login == null) {
            // Hawtio reads its settings from system properties: forget a login another instance of this JVM set up
            for (String key : new String[] {"hawtio.oidcConfig", "hawtio.realm", "hawtio.roles",
                    "hawtio.rolePrincipalClasses"}) {
                System.clearProperty(key);
            }
            System.setProperty("hawtio.authenticationEnabled", "false");
        } else {
            enableLogin(login);
        }
        System.setProperty("hawtio.proxyAllowlist", "localhost,127.0.0.1," + runtimeHost);
        System.setProperty("hawtio.localAddressProbing", "false");
        server = new Server(new InetSocketAddress(bindHost, port));

        WebAppContext hawtio = new WebAppContext();
        hawtio.setContextPath("/hawtio");
        hawtio.setWar(war.toAbsolutePath().toString());
        hawtio.setTempDirectory(Files.createTempDirectory("hawtio").toFile());
        hawtio.setThrowUnavailableOnStartupException(true);

        ServletContextHandler connect = new ServletContextHandler();
        connect.setContextPath("/");
        connect.addServlet(new ServletHolder(new ConnectPage(runtimeScheme, runtimeHost, runtimePort)), "/");

        server.setHandler(new Handler.Sequence(hawtio, connect));
    }

    /**
     * Hawtio 4's OpenID Connect login: its config file (issuer, client, roles from {@code realm_access.roles}); Hawtio
     * then verifies the bearer token of every request itself (its OidcLoginModule: signature, issuer, an {@code aud}
     * naming its client) and admits {@value #LOGIN_ROLES}.
     */
    private static void enableLogin(Login login) throws IOException {
        Path config = Files.createTempFile("hawtio-oidc", ".properties");
        Files.writeString(config, String.join("\n",
                "provider = " + login.issuer(),
                "client_id = " + login.clientId(),
                "response_mode = fragment",
                "scope = openid",
                "code_challenge_method = S256",
                "oidc.rolesPath = realm_access.roles",
                "") + "\n");
        System.setProperty("hawtio.authenticationEnabled", "true");
        System.setProperty("hawtio.realm", "hawtio");
        System.setProperty("hawtio.oidcConfig", config.toString());
        System.setProperty("hawtio.roles", LOGIN_ROLES);
        System.setProperty("hawtio.rolePrincipalClasses", "io.hawt.web.auth.RolePrincipal");
    }

    public HawtioServer start() throws Exception {
        server.start();
        return this;
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }

    public static void main(String[] args) throws Exception {
        int port = 8090;
        Path war = Path.of("target", "hawtio", "hawtio.war");
        String runtimeHost = "127.0.0.1";
        int runtimePort = 8080;
        String runtimeScheme = "http";
        String oidcIssuer = null;
        String oidcClient = "hawtio";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--war" -> war = Path.of(args[++i]);
                case "--runtime-host" -> runtimeHost = args[++i];
                case "--runtime-port" -> runtimePort = Integer.parseInt(args[++i]);
                case "--runtime-scheme" -> runtimeScheme = args[++i];
                case "--oidc-issuer" -> oidcIssuer = args[++i];
                case "--oidc-client" -> oidcClient = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        HawtioServer hawtio = new HawtioServer("127.0.0.1", port, war, runtimeScheme, runtimeHost, runtimePort,
                oidcIssuer == null ? null : new Login(oidcIssuer, oidcClient)).start();
        System.out.println("Hawtio: http://127.0.0.1:" + port + "/ (connected to " + runtimeScheme + "://" + runtimeHost
                + ":" + runtimePort + "/observe/jolokia" + (oidcIssuer == null ? ", no login)" : ", login at " + oidcIssuer + ")"));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                hawtio.close();
            } catch (Exception ignored) {
                // exiting
            }
        }));
        hawtio.server.join();
    }

    /** Stores the runtime connection in Hawtio's localStorage and opens the Camel view with it. */
    private static final class ConnectPage extends HttpServlet {
        private final String runtimeScheme;
        private final String runtimeHost;
        private final int runtimePort;

        ConnectPage(String runtimeScheme, String runtimeHost, int runtimePort) {
            this.runtimeScheme = runtimeScheme;
            this.runtimeHost = runtimeHost;
            this.runtimePort = runtimePort;
        }

        @Override
        protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
            response.setContentType("text/html;charset=utf-8");
            response.getWriter().write("""
                    <!DOCTYPE html><html><head><title>CMM Event Broker - Hawtio</title></head><body>
                    <p>Connecting Hawtio to the CMM Event Broker runtime...</p>
                    <script>
                      const connections = JSON.parse(localStorage.getItem('connect.connections') || '{}');
                      connections['cmm-event-broker'] = { id: 'cmm-event-broker', name: 'cmm-event-broker',
                        scheme: '%s', host: '%s', port: %d, path: '/observe/jolokia' };
                      localStorage.setItem('connect.connections', JSON.stringify(connections));
                      location.replace('/hawtio/camel?con=cmm-event-broker');
                    </script></body></html>
                    """.formatted(runtimeScheme, runtimeHost, runtimePort));
        }
    }
}
