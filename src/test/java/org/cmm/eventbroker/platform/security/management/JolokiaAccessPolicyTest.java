package org.cmm.eventbroker.platform.security.management;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;

import javax.management.ObjectName;

import org.jolokia.server.core.restrictor.policy.PolicyRestrictor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The management server's Jolokia policy (src/main/resources/jolokia-access.xml) as Jolokia itself reads it
 * (its PolicyRestrictor, the class camel-platform-http-jolokia loads the file with): what Hawtio needs stays allowed,
 * the Camel context as a message sender or endpoint factory, stopping the whole context and the JVM's system
 * properties are not.
 */
class JolokiaAccessPolicyTest {

    private static final String CONTEXT = "org.apache.camel:context=cmm-event-broker,type=context,name=\"cmm-event-broker\"";
    private static final String ROUTE = "org.apache.camel:context=cmm-event-broker,type=routes,name=\"ehr-api-events\"";
    private static PolicyRestrictor policy;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = JolokiaAccessPolicyTest.class.getResourceAsStream("/jolokia-access.xml")) {
            policy = new PolicyRestrictor(in);
        }
    }

    @Test
    void theCamelContextCannotSendMessagesCreateEndpointsOrBeStopped() throws Exception {
        ObjectName context = new ObjectName(CONTEXT);
        for (String operation : new String[] {"sendStringBody", "sendBody", "sendBodyAndHeaders", "requestBody",
                "requestStringBody", "requestBodyAndHeaders", "createEndpoint", "removeEndpoints", "stop", "restart",
                "suspend", "shutdown"}) {
            assertFalse(policy.isOperationAllowed(context, operation), operation);
        }
    }

    @Test
    void theJvmsSystemPropertiesAndCommandLineCannotBeRead() throws Exception {
        ObjectName runtime = new ObjectName("java.lang:type=Runtime");
        assertFalse(policy.isAttributeReadAllowed(runtime, "SystemProperties"));
        assertFalse(policy.isAttributeReadAllowed(runtime, "InputArguments"));
        assertTrue(policy.isAttributeReadAllowed(runtime, "Uptime"), "Hawtio's JVM view reads uptime");
        assertFalse(policy.isOperationAllowed(new ObjectName("java.lang:type=Memory"), "gc"));
    }

    @Test
    void hawtiosCamelViewCanStillReadAndOperateRoutes() throws Exception {
        ObjectName context = new ObjectName(CONTEXT);
        ObjectName route = new ObjectName(ROUTE);
        assertTrue(policy.isAttributeReadAllowed(context, "State"));
        assertTrue(policy.isOperationAllowed(context, "dumpRoutesAsXml"));
        assertTrue(policy.isOperationAllowed(route, "stop"));
        assertTrue(policy.isOperationAllowed(route, "start"));
        assertTrue(policy.isAttributeReadAllowed(new ObjectName("java.lang:type=Memory"), "HeapMemoryUsage"));
    }
}
