package org.cmm.eventbroker.stack;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * An S3-compatible object store (s3proxy over a jclouds blob store kept in a folder), with the data-lake bucket
 * created. Clients sign requests with the access key and secret given here (AWS signature V2 or V4), path-style.
 * The AWS SDK v2 that camel-aws2-s3 brings sends checksums s3proxy does not know unless
 * {@code aws.requestChecksumCalculation} and {@code aws.responseChecksumValidation} are {@code when_required}.
 *
 * <p>Unlike S3, s3proxy's folder store shows an upload whose client died in the middle: it stays as a temporary file
 * ({@code <key>-<uuid>}, without the metadata a finished object has), and every listing of its bucket fails with 500
 * from then on. The store deletes such files once nothing was written to them for {@link #ABANDONED_AFTER_MS}, as S3
 * forgets an upload that never completed.
 */
public final class S3Store implements AutoCloseable {

    /** How long a temporary upload file must have been left unwritten before it counts as abandoned. */
    static final long ABANDONED_AFTER_MS = 10_000;
    private static final Pattern TEMPORARY = Pattern.compile(
            ".+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final BlobStoreContext blobs;
    private final S3Proxy proxy;
    private final String endpoint;
    private final Path dataDir;
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "s3-store-abandoned-uploads");
        t.setDaemon(true);
        return t;
    });

    public S3Store(String host, int port, Path dataDir, String accessKey, String secretKey, String bucket)
            throws Exception {
        this(host, port, dataDir, accessKey, secretKey, bucket, AuthenticationType.AWS_V2_OR_V4);
    }

    /**
     * A store that asks no one for credentials: its objects are read with a plain {@code GET <endpoint>/<bucket>/<key>},
     * as a FHIR bulk data server's output files are (requiresAccessToken false); signed requests are served too.
     */
    public static S3Store withoutAuthentication(String host, int port, Path dataDir, String bucket) throws Exception {
        return new S3Store(host, port, dataDir, "anonymous", "anonymous", bucket, AuthenticationType.NONE);
    }

    private S3Store(String host, int port, Path dataDir, String accessKey, String secretKey, String bucket,
            AuthenticationType authentication) throws Exception {
        Files.createDirectories(dataDir);
        this.dataDir = dataDir;
        Properties properties = new Properties();
        properties.setProperty("jclouds.filesystem.basedir", dataDir.toAbsolutePath().toString());
        blobs = ContextBuilder.newBuilder("filesystem-nio2")
                .credentials(accessKey, secretKey)
                .overrides(properties)
                .build(BlobStoreContext.class);
        blobs.getBlobStore().createContainerInLocation(null, bucket);
        endpoint = "http://" + host + ":" + port;
        proxy = S3Proxy.builder()
                .blobStore(blobs.getBlobStore())
                .endpoint(URI.create(endpoint))
                .awsAuthentication(authentication, accessKey, secretKey)
                .build();
    }

    public S3Store start() throws Exception {
        proxy.start();
        sweeper.scheduleWithFixedDelay(this::deleteAbandonedUploads, 5, 5, TimeUnit.SECONDS);
        return this;
    }

    /** Deletes the temporary files of uploads left unwritten for {@link #ABANDONED_AFTER_MS}; returns how many. */
    int deleteAbandonedUploads() {
        long before = System.currentTimeMillis() - ABANDONED_AFTER_MS;
        int deleted = 0;
        try (Stream<Path> files = Files.walk(dataDir)) {
            for (Path file : files.filter(Files::isRegularFile)
                    .filter(f -> TEMPORARY.matcher(f.getFileName().toString()).matches()).toList()) {
                try {
                    UserDefinedFileAttributeView attributes = Files.getFileAttributeView(file,
                            UserDefinedFileAttributeView.class);
                    List<String> names = attributes == null ? List.of() : attributes.list();
                    if (!names.contains("content-md5") && Files.getLastModifiedTime(file).toMillis() < before) {
                        Files.deleteIfExists(file);
                        deleted++;
                    }
                } catch (IOException gone) {
                    // finished or deleted meanwhile
                }
            }
        } catch (IOException | RuntimeException e) {
            // the folder changes while it is walked: the next sweep looks again
        }
        return deleted;
    }

    /** The endpoint URL for path-style clients, e.g. {@code http://127.0.0.1:9000}. */
    public String endpoint() {
        return endpoint;
    }

    @Override
    public void close() throws Exception {
        sweeper.shutdownNow();
        try {
            proxy.stop();
        } finally {
            blobs.close();
        }
    }
}
