package org.cmm.eventbroker.fhir.bulk;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.ProducerTemplate;

/**
 * The bulk data store: S3 (or an S3-compatible store) through camel-aws2-s3, whose component settings
 * ({@code camel.component.aws2-s3.*}) hold region, credentials and endpoint. Objects are written from a local file
 * (the part being exported is on disk, never in memory) and read as a stream.
 */
final class BulkStorage {

    private final ProducerTemplate producer;
    private final String bucket;

    BulkStorage(ProducerTemplate producer, String bucket) {
        this.producer = producer;
        this.bucket = bucket;
    }

    String bucket() {
        return bucket;
    }

    void upload(String key, Path file, String contentType) throws Exception {
        Exchange sent = producer.send("aws2-s3://" + bucket + "?autoCreateBucket=true", exchange -> {
            Message m = exchange.getMessage();
            m.setHeader("CamelAwsS3Key", key);
            m.setHeader("CamelAwsS3ContentType", contentType);
            m.setHeader("CamelAwsS3ContentLength", Files.size(file));
            m.setBody(file.toFile());
        });
        if (sent.getException() != null) {
            throw sent.getException();
        }
    }

    void delete(String key) throws Exception {
        Exchange sent = producer.send("aws2-s3://" + bucket + "?operation=deleteObject", exchange ->
                exchange.getMessage().setHeader("CamelAwsS3Key", key));
        if (sent.getException() != null) {
            throw sent.getException();
        }
    }

    /** The object's content as a stream (the caller closes it); {@code objectBucket} may differ from the bulk bucket. */
    InputStream open(String objectBucket, String key) throws Exception {
        Exchange sent = producer.send("aws2-s3://" + objectBucket + "?operation=getObject", exchange ->
                exchange.getMessage().setHeader("CamelAwsS3Key", key));
        if (sent.getException() != null) {
            throw sent.getException();
        }
        return sent.getMessage().getMandatoryBody(InputStream.class);
    }
}
