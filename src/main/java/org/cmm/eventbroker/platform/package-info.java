/**
 * The platform under the flows, one home per shared concern: the Kafka boundary ({@code kafka}: one client factory,
 * state topics, de-duplication), the outbound {@code kafka-delivery} consumer ({@code delivery}), the MLLP and MQTT
 * components, HTTP intake support, health, metrics and security. Domain packages (hl7, lab, pharmacy, fhir, device,
 * cds, workflow, orders) build on it; it imports none of them.
 */
package org.cmm.eventbroker.platform;
