package org.cmm.eventbroker.platform.security.kafka;

/**
 * The roles every role-bindings file starts from, in the file's own syntax (docs/security.md has them as a table).
 * They follow the topic conventions of the flows ({@code hl7.}, {@code lab.results.}, {@code fhir.}...), so binding a
 * system to its role is usually all an integrator writes; a {@code role} line in the file adds to them.
 */
public final class BuiltInRoles {

    static final String DEFINITIONS = """
            # EHR interfaces sending HL7 v2 and EHR events
            role ehr-sender           Write               topic:hl7.*
            role ehr-sender           Write               topic:ehr.*
            role ehr-sender           IdempotentWrite     cluster
            # clinical applications reading results, alerts and resources; their groups start with clinical-
            role clinical-reader      Read                topic:hl7.*
            role clinical-reader      Read                topic:fhir.*
            role clinical-reader      Read                topic:lab.results.*
            role clinical-reader      Read                topic:pharmacy.dispensing.*
            role clinical-reader      Read                topic:device.alerts.*
            role clinical-reader      Read                topic:cds.*
            role clinical-reader      Read                group:clinical-*
            # laboratory information systems: write results, read orders
            role lab-system           Write               topic:lab.results.*
            role lab-system           Read                topic:lab.orders.*
            role lab-system           Read                group:lab-*
            role lab-system           IdempotentWrite     cluster
            # pharmacy systems: write dispensing events, read orders
            role pharmacy-system      Write               topic:pharmacy.dispensing.*
            role pharmacy-system      Read                topic:pharmacy.orders.*
            role pharmacy-system      Read                group:pharmacy-*
            role pharmacy-system      IdempotentWrite     cluster
            # device gateways: write readings and alerts, read acknowledgements
            role device-gateway       Write               topic:device.*
            role device-gateway       Read                topic:device.alerts.acknowledgements
            role device-gateway       Read                group:device-gateway-*
            role device-gateway       IdempotentWrite     cluster
            # security officers reading the audit topics
            role auditor              Read                topic:security.audit.*
            role auditor              Read                group:auditor-*
            # operators: manage topics, groups and the cluster, never read or write patient data
            role operator             Create,Delete,Alter,Describe,DescribeConfigs,AlterConfigs topic:*
            role operator             Describe,Delete     group:*
            role operator             Describe,Alter,DescribeConfigs,AlterConfigs cluster
            # the Event Broker runtime itself: every flow's topics, groups and transactions
            role integration-runtime  Read,Write,Create,Describe,DescribeConfigs,AlterConfigs topic:*
            role integration-runtime  Read,Describe       group:*
            role integration-runtime  Write,Describe      transactional-id:*
            role integration-runtime  IdempotentWrite,Describe,DescribeConfigs cluster
            """;

    private BuiltInRoles() {
    }
}
