package org.cmm.eventbroker.fhir.subscription;

import java.util.List;
import java.util.Set;

/**
 * What a valid Subscription is notified of: changes of {@code resourceType} with one of {@code operations}
 * ({@code created}, {@code updated}, {@code deleted}) that pass every filter. An R4 criteria Subscription is one filter
 * (its criteria) on created and updated; a topic-based (backport) one takes type and operations from its topic and
 * its filters from the backport-filter-criteria extensions.
 */
public record SubscriptionRule(String channelType, String resourceType, Set<String> operations,
                               List<SubscriptionCriteria> filters) {

    /** True when the filters restrict more than the resource type: a delete (no resource to test) cannot match. */
    public boolean filtered() {
        return filters.stream().anyMatch(f -> !f.typeOnly());
    }
}
