package org.cmm.eventbroker.platform.mllp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SenderRestrictionsTest {

    @TempDir
    Path dir;

    private static byte[] message(String app, String facility) {
        return ("MSH|^~\\&|" + app + "|" + facility + "|CMM|CMM|20240101||ADT^A01|1|P|2.5\rPID|1||X\r")
                .getBytes(StandardCharsets.ISO_8859_1);
    }

    private SenderRestrictions table(String content) throws Exception {
        return SenderRestrictions.load(Files.writeString(dir.resolve("senders.txt"), content).toString());
    }

    @Test
    void aListedCertificateMaySendOnlyAsItsPairsAndSubjectsCompareAsX500Names() throws Exception {
        SenderRestrictions r = table("# comment\nCN=lis, O=Lab | LIS | LAB\ncn=lis,o=lab | LIS | LAB2\nCN=ehr | EPIC | *\n");
        assertEquals(Optional.empty(), r.refusal("CN=lis,O=Lab", message("LIS^x", "LAB")));
        assertEquals(Optional.empty(), r.refusal("CN=LIS,O=LAB", message("LIS", "LAB2")));
        assertTrue(r.refusal("CN=lis,O=Lab", message("LIS", "OTHER")).orElseThrow().contains("LIS^OTHER"));
        assertEquals(Optional.empty(), r.refusal("CN=ehr", message("EPIC", "ANY")), "* matches any facility");
        assertTrue(r.refusal("CN=ehr", message("CERNER", "ANY")).isPresent());
        assertEquals(Optional.empty(), r.refusal("CN=unlisted", message("ANY", "ANY")), "unlisted: not restricted");
        assertEquals(Optional.empty(), r.refusal(null, message("ANY", "ANY")), "no certificate: not restricted");
        assertTrue(r.refusal("CN=ehr", "not hl7".getBytes(StandardCharsets.US_ASCII)).isPresent(),
                "a restricted certificate's unreadable message is refused");
        assertTrue(r.restricts("CN=ehr"));
        assertFalse(r.restricts("CN=unlisted"));
    }

    @Test
    void aMalformedLineIsRefusedAtStartNamingTheLine() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> table("CN=lis | LIS\n"));
        assertTrue(e.getMessage().contains("line 1"), e.getMessage());
        assertEquals(SenderRestrictions.NONE, SenderRestrictions.load(" "));
    }
}
