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
 * (Hawtio 4 keeps connections in localStorage) and opens Hawtio's Camel view on it. Authentication is off and the
 * proxy only reaches this machine: this is for a developer's or an operator's workstation, bound to 127.0.0.1.
 */
public final class HawtioServer implements AutoCloseable {

    private final Server server;

    public HawtioServer(String bindHost, int port, Path war, String runtimeHost, int runtimePort) throws IOException {
        if (!Files.isRegularFile(war)) {
            throw new IllegalArgumentException("no Hawtio war at " + war + " (mvn package copies it to target/hawtio)");
        }
        System.setProperty("hawtio.authenticationEnabled", "false");
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
        connect.addServlet(new ServletHolder(new ConnectPage(runtimeHost, runtimePort)), "/");

        server.setHandler(new Handler.Sequence(hawtio, connect));
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
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--war" -> war = Path.of(args[++i]);
                case "--runtime-host" -> runtimeHost = args[++i];
                case "--runtime-port" -> runtimePort = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        HawtioServer hawtio = new HawtioServer("127.0.0.1", port, war, runtimeHost, runtimePort).start();
        System.out.println("Hawtio: http://127.0.0.1:" + port + "/ (connected to http://" + runtimeHost + ":" + runtimePort
                + "/observe/jolokia)");
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
        private final String runtimeHost;
        private final int runtimePort;

        ConnectPage(String runtimeHost, int runtimePort) {
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
                        scheme: 'http', host: '%s', port: %d, path: '/observe/jolokia' };
                      localStorage.setItem('connect.connections', JSON.stringify(connections));
                      location.replace('/hawtio/camel?con=cmm-event-broker');
                    </script></body></html>
                    """.formatted(runtimeHost, runtimePort));
        }
    }
}
