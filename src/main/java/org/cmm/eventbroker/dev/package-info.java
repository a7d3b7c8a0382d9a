/**
 * Development only: the embedded single-node Kafka broker the README's first command starts when no cluster is
 * configured, and the Hawtio launcher. Production points {@code cmm.kafka.bootstrap-servers} at a real cluster and runs
 * Hawtio on its own; nothing in the flows depends on this package.
 */
package org.cmm.eventbroker.dev;
