package org.cmm.eventbroker.stack;

import java.util.List;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.annotation.OptionalParam;
import ca.uhn.fhir.rest.annotation.RequiredParam;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.param.QuantityParam;
import ca.uhn.fhir.rest.param.TokenAndListParam;
import ca.uhn.fhir.rest.param.TokenOrListParam;
import ca.uhn.fhir.rest.param.TokenParam;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Quantity;

/**
 * The Observation provider of {@link FhirServer}: the in-memory provider plus a search by {@code value-quantity}
 * (with the prefixes eq, gt, ge, lt, le) and, optionally, {@code code} and {@code _id}, as a FHIR server answers the
 * criteria the Subscription matcher does not evaluate itself ({@code Observation?value-quantity=gt100&_id=...}).
 */
public class ObservationSearchProvider extends FhirServer.HistoryKeepingProvider<Observation> {

    public ObservationSearchProvider(FhirContext fhir) {
        super(fhir, Observation.class);
    }

    @Search
    public List<Observation> searchByValueQuantity(@RequiredParam(name = "value-quantity") QuantityParam value,
                                                   @OptionalParam(name = "code") TokenOrListParam code,
                                                   @OptionalParam(name = "_id") TokenAndListParam id) {
        return getAllResources().stream().filter(o -> id == null || hasId(o, id))
                .filter(o -> code == null || hasCode(o, code)).filter(o -> hasValue(o, value)).toList();
    }

    private static boolean hasId(Observation o, TokenAndListParam id) {
        return id.getValuesAsQueryTokens().stream().allMatch(or -> or.getValuesAsQueryTokens().stream()
                .anyMatch(t -> t.getValue().equals(o.getIdElement().getIdPart())));
    }

    private static boolean hasCode(Observation o, TokenOrListParam code) {
        for (TokenParam t : code.getValuesAsQueryTokens()) {
            for (Coding c : o.getCode().getCoding()) {
                boolean systemOk = t.getSystem() == null || t.getSystem().equals(c.getSystem());
                if (systemOk && t.getValue() != null && t.getValue().equals(c.getCode())) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean hasValue(Observation o, QuantityParam value) {
        if (!(o.getValue() instanceof Quantity q) || q.getValue() == null || value.getValue() == null) {
            return false;
        }
        int cmp = q.getValue().compareTo(value.getValue());
        if (value.getPrefix() == null) {
            return cmp == 0;
        }
        return switch (value.getPrefix()) {
            case GREATERTHAN -> cmp > 0;
            case GREATERTHAN_OR_EQUALS -> cmp >= 0;
            case LESSTHAN -> cmp < 0;
            case LESSTHAN_OR_EQUALS -> cmp <= 0;
            case EQUAL -> cmp == 0;
            case NOT_EQUAL -> cmp != 0;
            default -> throw new ca.uhn.fhir.rest.server.exceptions.InvalidRequestException(
                    "value-quantity prefix " + value.getPrefix().getValue() + " not supported here");
        };
    }

}
