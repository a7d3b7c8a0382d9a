package org.cmm.eventbroker.engagement;

import java.util.Base64;

import org.cmm.eventbroker.engagement.push.Vapid;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecipientTest {

    @Test
    void patientsAndStaffAreSeparateNamespacesAndAnythingElseIsRefused() {
        assertEquals(new Recipient("patient", "MRN1"), Recipient.parse("patient/MRN1").orElseThrow());
        assertEquals(new Recipient("staff", "nurse-7"), Recipient.parse("staff/nurse-7").orElseThrow());
        assertTrue(!Recipient.parse("patient/MRN1").equals(Recipient.parse("staff/MRN1")));
        assertTrue(Recipient.parse("MRN1").isEmpty());
        assertTrue(Recipient.parse("device/x").isEmpty());
        assertTrue(Recipient.parse("patient/../x").isEmpty());
        assertTrue(Recipient.parse("patient/").isEmpty());
    }

    @Test
    void p256dhKeysMustBePointsOnTheCurve() throws Exception {
        byte[] good = Base64.getUrlDecoder().decode(Vapid.generateKeys()[0]);
        assertTrue(DeviceRegistrationDesk.onCurve(good));
        byte[] bad = good.clone();
        bad[64] ^= 1;
        assertFalse(DeviceRegistrationDesk.onCurve(bad));
    }
}
