package org.cmm.eventbroker.stack;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.List;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.annotation.History;
import ca.uhn.fhir.rest.annotation.Since;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.IResourceProvider;
import ca.uhn.fhir.rest.server.FifoMemoryPagingProvider;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.HashMapResourceProvider;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.DiagnosticReport;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.MedicationDispense;
import org.hl7.fhir.r4.model.MedicationRequest;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Organization;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.ServiceRequest;
import org.hl7.fhir.r4.model.Specimen;
import org.hl7.fhir.r4.model.Subscription;

/**
 * A real FHIR R4 server for the FHIR flows to talk to: HAPI FHIR's plain {@link RestfulServer} with in-memory
 * providers (create, read, update, delete, search by id and last-updated, history) for the resource types the
 * broker's flows use, in an embedded Jetty. Everything is lost when it stops. Subscriptions are stored, not
 * delivered (that needs the HAPI JPA server).
 */
public final class FhirServer implements AutoCloseable {

    /** The resource types served; the capability statement at {@code /fhir/metadata} lists them. */
    public static final List<Class<? extends IBaseResource>> RESOURCE_TYPES = List.of(Patient.class, Encounter.class,
            Observation.class, DiagnosticReport.class, Specimen.class, ServiceRequest.class, MedicationRequest.class,
            MedicationDispense.class, Practitioner.class, Organization.class, Subscription.class, org.hl7.fhir.r4.model.Group.class);

    private final Server server;
    private final String baseUrl;
    private final RestfulServer restful;
    private final List<HistoryKeepingProvider<?>> providers;

    public FhirServer(String host, int port) {
        FhirContext fhir = FhirContext.forR4Cached();
        restful = new RestfulServer(fhir);
        providers = RESOURCE_TYPES.stream().<HistoryKeepingProvider<?>>map(type -> provider(fhir, type)).toList();
        restful.setResourceProviders(new ArrayList<>(providers));
        // server-level GET [base]/_history[?_since=]: HashMapResourceProvider has only type and instance history
        restful.registerProvider(new SystemHistoryProvider());
        // POST [base] with a transaction Bundle of updates and creates (the bulk import loads in transactions)
        restful.registerProvider(new TransactionProvider());
        restful.setDefaultResponseEncoding(EncodingEnum.JSON);
        server = new Server(new InetSocketAddress(host, port));
        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        context.addServlet(new ServletHolder("fhir", restful), "/fhir/*");
        server.setHandler(context);
        baseUrl = "http://" + host + ":" + port + "/fhir";
    }

    @SuppressWarnings("unchecked")
    private static <T extends IBaseResource> HistoryKeepingProvider<T> provider(FhirContext fhir, Class<T> type) {
        if (type == Observation.class) {
            return (HistoryKeepingProvider<T>) new ObservationSearchProvider(fhir);
        }
        return new HistoryKeepingProvider<>(fhir, type);
    }

    /**
     * Pages search and history answers by {@code pageSize} entries (with {@code next} links) instead of answering
     * everything at once; call before {@link #start()}.
     */
    public FhirServer withPaging(int pageSize) {
        FifoMemoryPagingProvider paging = new FifoMemoryPagingProvider(100);
        paging.setDefaultPageSize(pageSize);
        paging.setMaximumPageSize(pageSize);
        restful.setPagingProvider(paging);
        return this;
    }

    /** A {@link HashMapResourceProvider} whose every stored version (the type history) can be read by the server. */
    static class HistoryKeepingProvider<T extends IBaseResource> extends HashMapResourceProvider<T>
            implements IResourceProvider {
        HistoryKeepingProvider(FhirContext fhir, Class<T> type) {
            super(fhir, type);
        }

        synchronized List<IBaseResource> versions() {
            return new ArrayList<>(myTypeHistory);
        }

        // HashMapResourceProvider records the write time only in resource metadata: meta.lastUpdated as a real
        // server sets it (the history's _since and the change events' ce_time use it)
        @Override
        public ca.uhn.fhir.rest.api.MethodOutcome create(T resource, ca.uhn.fhir.rest.api.server.RequestDetails request) {
            resource.getMeta().setLastUpdated(new Date());
            return super.create(resource, request);
        }

        @Override
        public ca.uhn.fhir.rest.api.MethodOutcome update(T resource, String conditional,
                ca.uhn.fhir.rest.api.server.RequestDetails request) {
            resource.getMeta().setLastUpdated(new Date());
            return super.update(resource, conditional, request);
        }
    }

    /** System-level history: every version of every type, newest first, optionally since an instant. */
    public final class SystemHistoryProvider {
        @History
        public ca.uhn.fhir.rest.api.server.IBundleProvider historyServer(@Since InstantType since,
                @ca.uhn.fhir.rest.annotation.Offset Integer offset, @ca.uhn.fhir.rest.annotation.Count Integer count) {
            Date from = since == null ? null : since.getValue();
            List<IBaseResource> all = new ArrayList<>();
            for (HistoryKeepingProvider<?> provider : providers) {
                for (IBaseResource stored : provider.versions()) {
                    IBaseResource version = withDeletionTime(stored);
                    Date updated = version.getMeta().getLastUpdated();
                    if (from == null || updated != null && !updated.before(from)) {
                        all.add(version);
                    }
                }
            }
            all.sort(Comparator.comparing((IBaseResource r) -> r.getMeta().getLastUpdated(),
                    Comparator.nullsLast(Comparator.reverseOrder())));
            // the server pages history by _offset and _count, which the method applies itself
            int first = Math.min(offset == null ? 0 : offset, all.size());
            int to = count == null ? all.size() : Math.min(all.size(), first + count);
            var page = new ca.uhn.fhir.rest.server.SimpleBundleProvider(all.subList(first, to));
            page.setCurrentPageOffset(first);
            page.setCurrentPageSize(count);
            page.setSize(all.size());
            return page;
        }

        /**
         * A version as history shows it: a deleted one carries the time of its predecessor, and HashMapResourceProvider
         * may keep the write time only in resource metadata; a copy with the deletion or write time as lastUpdated.
         */
        private IBaseResource withDeletionTime(IBaseResource version) {
            var deletedAt = ca.uhn.fhir.model.api.ResourceMetadataKeyEnum.DELETED_AT.get(version);
            var updatedAt = ca.uhn.fhir.model.api.ResourceMetadataKeyEnum.UPDATED.get(version);
            Date time = deletedAt != null && !deletedAt.isEmpty() ? deletedAt.getValue()
                    : version.getMeta().getLastUpdated() != null ? null
                    : updatedAt != null ? updatedAt.getValue() : null;
            if (time == null || !(version instanceof org.hl7.fhir.r4.model.Resource r)) {
                return version;
            }
            org.hl7.fhir.r4.model.Resource copy = r.copy();
            copy.setIdElement(r.getIdElement().copy());
            copy.getMeta().setLastUpdated(time);
            if (deletedAt != null) {
                ca.uhn.fhir.model.api.ResourceMetadataKeyEnum.DELETED_AT.put(copy, deletedAt);
            }
            var method = ca.uhn.fhir.model.api.ResourceMetadataKeyEnum.ENTRY_TRANSACTION_METHOD.get(version);
            if (method != null) {
                ca.uhn.fhir.model.api.ResourceMetadataKeyEnum.ENTRY_TRANSACTION_METHOD.put(copy, method);
            }
            return copy;
        }
    }

    /**
     * System-level transactions of updates (PUT Type/id) and creates (POST Type), applied entry by entry to the
     * in-memory providers (all or nothing is not kept here: an invalid entry fails the request, earlier entries stay).
     */
    public final class TransactionProvider {
        @ca.uhn.fhir.rest.annotation.Transaction
        public org.hl7.fhir.r4.model.Bundle transaction(
                @ca.uhn.fhir.rest.annotation.TransactionParam org.hl7.fhir.r4.model.Bundle bundle,
                ca.uhn.fhir.rest.api.server.RequestDetails request) {
            var answer = new org.hl7.fhir.r4.model.Bundle();
            answer.setType(org.hl7.fhir.r4.model.Bundle.BundleType.TRANSACTIONRESPONSE);
            for (var entry : bundle.getEntry()) {
                org.hl7.fhir.r4.model.Resource resource = entry.getResource();
                if (resource == null) {
                    throw new ca.uhn.fhir.rest.server.exceptions.InvalidRequestException("An entry has no resource");
                }
                HistoryKeepingProvider<?> provider = providers.stream()
                        .filter(p -> p.getResourceType().equals(resource.getClass())).findFirst()
                        .orElseThrow(() -> new ca.uhn.fhir.rest.server.exceptions.InvalidRequestException(
                                resource.fhirType() + " is not served here"));
                ca.uhn.fhir.rest.api.MethodOutcome outcome = apply(provider, resource,
                        entry.getRequest().getMethod() == org.hl7.fhir.r4.model.Bundle.HTTPVerb.PUT, request);
                answer.addEntry().getResponse().setStatus(Boolean.TRUE.equals(outcome.getCreated()) ? "201 Created" : "200 OK")
                        .setLocation(outcome.getId() == null ? null : outcome.getId().getValue());
            }
            return answer;
        }

        @SuppressWarnings("unchecked")
        private <T extends IBaseResource> ca.uhn.fhir.rest.api.MethodOutcome apply(HistoryKeepingProvider<T> provider,
                org.hl7.fhir.r4.model.Resource resource, boolean update, ca.uhn.fhir.rest.api.server.RequestDetails request) {
            return update ? provider.update((T) resource, null, request) : provider.create((T) resource, request);
        }
    }

    public FhirServer start() throws Exception {
        server.start();
        return this;
    }

    /** The FHIR base URL, e.g. {@code http://127.0.0.1:8090/fhir}. */
    public String baseUrl() {
        return baseUrl;
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
