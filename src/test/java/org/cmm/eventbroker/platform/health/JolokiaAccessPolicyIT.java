package org.cmm.eventbroker.platform.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import org.cmm.eventbroker.testsupport.RuntimeUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Jolokia endpoint Hawtio connects to: reading is allowed, Camel's own operations are allowed, operations on the
 * JVM and writes are refused by src/main/resources/jolokia-access.xml.
 */
class JolokiaAccessPolicyIT {

    private static RuntimeUnderTest env;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        env = RuntimeUnderTest.flows("hl7-mllp-inbound").with(Map.of("camel.main.jmx-enabled", "true", "camel.main.name", "jolokia-policy-test")).start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    private static String post(String json) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + env.managementPort() + "/observe/jolokia"))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        return response.body();
    }

    private static boolean ok(String body) {
        return body.contains("\"status\":200");
    }

    @Test
    void readingIsAllowed() throws Exception {
        String body = post("{\"type\":\"read\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"HeapMemoryUsage\"}");
        assertTrue(ok(body), body);
        String routes = post("{\"type\":\"search\",\"mbean\":\"org.apache.camel:type=routes,*\"}");
        assertTrue(ok(routes) && routes.contains("hl7-mllp-inbound"), routes);
    }

    @Test
    void camelOperationsAreAllowed() throws Exception {
        String body = post("{\"type\":\"exec\",\"mbean\":\"org.apache.camel:context=jolokia-policy-test,type=routes,name=\\\"hl7-mllp-inbound\\\"\","
                + "\"operation\":\"dumpRouteStatsAsXml(boolean,boolean)\",\"arguments\":[false,false]}");
        assertTrue(ok(body), body);
    }

    @Test
    void jvmOperationsAndWritesAreRefused() throws Exception {
        String gc = post("{\"type\":\"exec\",\"mbean\":\"java.lang:type=Memory\",\"operation\":\"gc\"}");
        assertTrue(!ok(gc) && gc.contains("403"), gc);
        String diagnostic = post("{\"type\":\"exec\",\"mbean\":\"com.sun.management:type=DiagnosticCommand\","
                + "\"operation\":\"vmSystemProperties\"}");
        assertTrue(!ok(diagnostic) && diagnostic.contains("403"), diagnostic);
        String write = post("{\"type\":\"write\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"Verbose\",\"value\":true}");
        assertTrue(!ok(write) && write.contains("403"), write);
        assertEquals(false, post("{\"type\":\"read\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"Verbose\"}")
                .contains("\"value\":true"));
    }
}
