package org.cmm.eventbroker.fhir;

import java.util.Map;

/**
 * The HL7 v2 name (table 0396) of the code systems FHIR orders use, so a CE/CWE carries "LN" where the resource said
 * http://loinc.org. A system without a v2 name travels as its URI; a coding without a system is marked "L" (local).
 */
public final class CodingSystems {

    private static final Map<String, String> HL7_NAMES = Map.of(
            "http://loinc.org", "LN",
            "http://snomed.info/sct", "SCT",
            "http://www.nlm.nih.gov/research/umls/rxnorm", "RXNORM",
            "http://hl7.org/fhir/sid/ndc", "NDC",
            "http://hl7.org/fhir/sid/cvx", "CVX",
            "http://www.ama-assn.org/go/cpt", "C4",
            "http://hl7.org/fhir/sid/icd-10", "I10",
            "http://unitsofmeasure.org", "UCUM");

    private CodingSystems() {
    }

    /** The v2 coding system name for a FHIR system URI (null or blank: "L"). */
    public static String hl7Name(String fhirSystem) {
        if (fhirSystem == null || fhirSystem.isBlank()) {
            return "L";
        }
        return HL7_NAMES.getOrDefault(fhirSystem.trim(), fhirSystem.trim());
    }
}
