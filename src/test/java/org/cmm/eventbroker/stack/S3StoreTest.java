package org.cmm.eventbroker.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import org.cmm.eventbroker.testsupport.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The local S3 store forgets an upload whose client died in the middle, as S3 does: s3proxy's folder store keeps its
 * temporary file and then fails every listing of the bucket; the store deletes such a file once it was left unwritten
 * long enough, and keeps the finished objects and an upload still being written.
 */
class S3StoreTest {

    private static final String BUCKET = "cmm-test";

    @TempDir
    Path dir;

    @Test
    void anAbandonedUploadIsDeletedAndTheBucketListsAgain() throws Exception {
        System.setProperty("aws.requestChecksumCalculation", "when_required");
        System.setProperty("aws.responseChecksumValidation", "when_required");
        try (S3Store store = new S3Store("127.0.0.1", FreePorts.next(), dir, "key", "secret-for-tests", BUCKET).start();
                S3Client s3 = S3Client.builder().endpointOverride(URI.create(store.endpoint())).forcePathStyle(true)
                        .region(Region.US_EAST_1).credentialsProvider(StaticCredentialsProvider.create(
                                AwsBasicCredentials.create("key", "secret-for-tests"))).build()) {
            s3.putObject(b -> b.bucket(BUCKET).key("exports/a/Patient.000001.ndjson"),
                    RequestBody.fromString("{}\n", StandardCharsets.UTF_8));
            Path folder = dir.resolve(BUCKET).resolve("exports").resolve("a");
            // what a client that died in the middle of a PUT leaves: the temporary file, no metadata
            Path abandoned = Files.writeString(folder.resolve("Patient.000002.ndjson-" + UUID.randomUUID()), "{\"res");
            Files.setLastModifiedTime(abandoned, FileTime.from(Instant.now().minusMillis(S3Store.ABANDONED_AFTER_MS * 2)));
            Path inFlight = Files.writeString(folder.resolve("Patient.000003.ndjson-" + UUID.randomUUID()), "{\"res");
            assertThrows(S3Exception.class, () -> keys(s3), "s3proxy fails the listing over a temporary file");

            assertEquals(1, store.deleteAbandonedUploads());
            assertTrue(Files.exists(inFlight), "an upload written to just now is kept");
            Files.delete(inFlight); // (its client would finish it)
            assertEquals(List.of("exports/a/Patient.000001.ndjson"), keys(s3));
            assertEquals(0, store.deleteAbandonedUploads(), "a finished object is never taken for an upload");
        }
    }

    private static List<String> keys(S3Client s3) {
        return s3.listObjectsV2(b -> b.bucket(BUCKET)).contents().stream().map(o -> o.key()).toList();
    }
}
