package org.cmm.eventbroker.lake;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.file.CodecFactory;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;

/**
 * The three formats a lake sink writes, one per sink: Parquet (columnar, for the query engines), Avro (row files
 * with their schema, for replays and Spark/Flink jobs) and NDJSON (one JSON object per line, readable by anything).
 * Each writes the columns of {@link LakeColumns} into a local file that the sink uploads once it is cut.
 */
public enum LakeFileFormat {

    PARQUET("parquet", "application/vnd.apache.parquet"),
    AVRO("avro", "application/avro"),
    JSON("json", "application/x-ndjson");

    private final String extension;
    private final String contentType;

    LakeFileFormat(String extension, String contentType) {
        this.extension = extension;
        this.contentType = contentType;
    }

    public static LakeFileFormat of(String name) {
        String n = name == null ? "" : name.trim().toUpperCase(Locale.ROOT);
        if (n.equals("NDJSON")) {
            return JSON;
        }
        try {
            return valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Unknown lake file format '" + name + "': parquet, avro or json");
        }
    }

    public String extension() {
        return extension;
    }

    public String contentType() {
        return contentType;
    }

    /** A writer of rows into a new local file. */
    public RowWriter open(Path file) throws IOException {
        return switch (this) {
            case PARQUET -> new ParquetRows(file);
            case AVRO -> new AvroRows(file);
            case JSON -> new JsonRows(file);
        };
    }

    /** Rows into one local file; {@link #close()} completes the file (footer, sync markers). */
    public interface RowWriter extends AutoCloseable {
        void write(GenericRecord row) throws IOException;

        @Override
        void close() throws IOException;
    }

    private static final class ParquetRows implements RowWriter {
        private final ParquetWriter<GenericRecord> writer;

        ParquetRows(Path file) throws IOException {
            // LocalOutputFile: no Hadoop FileSystem; Hadoop's Configuration only carries the writer's settings
            writer = AvroParquetWriter.<GenericRecord>builder(new LocalOutputFile(file))
                    .withSchema(LakeColumns.SCHEMA)
                    .withConf(new Configuration(false))
                    .withCompressionCodec(CompressionCodecName.SNAPPY)
                    .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                    .build();
        }

        @Override
        public void write(GenericRecord row) throws IOException {
            writer.write(row);
        }

        @Override
        public void close() throws IOException {
            writer.close();
        }
    }

    private static final class AvroRows implements RowWriter {
        private final DataFileWriter<GenericRecord> writer;

        AvroRows(Path file) throws IOException {
            writer = new DataFileWriter<>(new GenericDatumWriter<GenericRecord>(LakeColumns.SCHEMA));
            writer.setCodec(CodecFactory.deflateCodec(6));
            writer.create(LakeColumns.SCHEMA, Files.newOutputStream(file));
        }

        @Override
        public void write(GenericRecord row) throws IOException {
            writer.append(row);
        }

        @Override
        public void close() throws IOException {
            writer.close();
        }
    }

    /** NDJSON: the same column names; the payload as base64 (JSON has no bytes), timestamps in epoch milliseconds. */
    private static final class JsonRows implements RowWriter {
        private static final ObjectMapper MAPPER = new ObjectMapper()
                .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        private final OutputStream out;

        JsonRows(Path file) throws IOException {
            out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        }

        @Override
        public void write(GenericRecord row) throws IOException {
            Map<String, Object> line = new java.util.LinkedHashMap<>();
            for (org.apache.avro.Schema.Field field : row.getSchema().getFields()) {
                Object value = row.get(field.name());
                if (value instanceof ByteBuffer bytes) {
                    byte[] copy = new byte[bytes.remaining()];
                    bytes.duplicate().get(copy);
                    value = copy; // Jackson writes byte[] as base64
                } else if (value instanceof CharSequence text) {
                    value = text.toString();
                }
                line.put(field.name(), value);
            }
            MAPPER.writeValue(out, line);
            out.write('\n');
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
