package org.cmm.eventbroker.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;

/**
 * The fuzz tests' properties as one Jazzer standalone target, for the long runs of {@link FuzzBenchmark}: the target is
 * chosen with {@code -Dfuzz.target} (frames, framed, inspection, header, http). Same checks as the {@code @FuzzTest}s.
 */
public final class FuzzTargets {

    private FuzzTargets() {
    }

    public static void fuzzerTestOneInput(FuzzedDataProvider data) throws Exception {
        switch (System.getProperty("fuzz.target", "")) {
            case "frames" -> MllpFrameReaderFuzzTest.anyBytes(data);
            case "framed" -> MllpFrameReaderFuzzTest.framedMessages(data);
            case "inspection" -> Hl7InspectionFuzzTest.inspection(data);
            case "header" -> Hl7InspectionFuzzTest.header(data);
            case "http" -> HttpIntakesFuzzTest.request(data);
            default -> throw new IllegalArgumentException("-Dfuzz.target must be frames, framed, inspection, header or http");
        }
    }
}
