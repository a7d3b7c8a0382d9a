package org.cmm.eventbroker.stack;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * An S3-compatible object store (s3proxy over a jclouds blob store kept in a folder), with the data-lake bucket
 * created. Clients sign requests with the access key and secret given here (AWS signature V2 or V4), path-style.
 * The AWS SDK v2 that camel-aws2-s3 brings sends checksums s3proxy does not know unless
 * {@code aws.requestChecksumCalculation} and {@code aws.responseChecksumValidation} are {@code when_required}.
 */
public final class S3Store implements AutoCloseable {

    private final BlobStoreContext blobs;
    private final S3Proxy proxy;
    private final String endpoint;

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
        return this;
    }

    /** The endpoint URL for path-style clients, e.g. {@code http://127.0.0.1:9000}. */
    public String endpoint() {
        return endpoint;
    }

    @Override
    public void close() throws Exception {
        try {
            proxy.stop();
        } finally {
            blobs.close();
        }
    }
}
