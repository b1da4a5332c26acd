// Debezium's embedded engine as the benchmark's reference consumer: runs the connector given by
// the key=value arguments (Debezium engine/connector properties), serializes every record to JSON
// (DebeziumEngine.create(Json.class): JsonConverter, schemas included, the format Debezium writes
// to Kafka by default), counts the records of the captured table in a no-op batch consumer, and
// stops once --expect records arrived. Prints one JSON line on stdout:
//
//   {"records":…, "seconds":…, "recordsPerSecond":…, "startupSeconds":…, "peakRssMb":…, …}
//
// where seconds is first record → last record, startupSeconds is JVM start → first record, and
// peakRssMb is VmHWM from /proc/self/status at the end (the source launcher's compile included;
// rssAtMainMb is the resident size when main() started, after that compile).
//
// No build step: run from source with the jars of pom.xml on the class path, e.g.
//
//   mvn -q -f test/bench/debezium/pom.xml dependency:copy-dependencies \
//       -DoutputDirectory=.services/debezium/lib -DincludeScope=runtime
//   java -cp '.services/debezium/lib/*' test/bench/debezium/DebeziumBench.java --expect=1500000 \
//       --topic=bench.public.t connector.class=io.debezium.connector.postgresql.PostgresConnector …
//
// test/bench/debezium/debezium.ts builds the arguments for the PostgreSQL benchmark.

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

public class DebeziumBench {
    public static void main(String[] args) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        long mainStartNanos = System.nanoTime();
        long jvmStartMillis = ManagementFactory.getRuntimeMXBean().getStartTime();
        long sinceJvmStartMillis = System.currentTimeMillis() - jvmStartMillis;
        double rssAtMainMb = procStatusMb("VmRSS");

        Properties props = new Properties();
        long expected = -1;
        String topic = null;
        long timeoutSeconds = 1800;
        for (String arg : args) {
            if (arg.startsWith("--expect=")) expected = Long.parseLong(arg.substring(9));
            else if (arg.startsWith("--topic=")) topic = arg.substring(8);
            else if (arg.startsWith("--timeout-seconds=")) timeoutSeconds = Long.parseLong(arg.substring(18));
            else {
                int eq = arg.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("expected key=value: " + arg);
                props.setProperty(arg.substring(0, eq), arg.substring(eq + 1));
            }
        }
        if (expected <= 0 || topic == null) {
            throw new IllegalArgumentException("--expect=<records> and --topic=<destination> are required");
        }

        final long expectedRecords = expected;
        final String expectedTopic = topic;
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<String> failure = new AtomicReference<>();
        // written by the engine's consumer thread only; read after done.await()
        long[] counts = new long[3]; // [table records, other records, JSON value chars]
        long[] times = new long[2]; // [first record, last record] in System.nanoTime()

        DebeziumEngine<ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class)
                .using(props)
                .notifying((List<ChangeEvent<String, String>> records,
                        DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer) -> {
                    long now = System.nanoTime();
                    if (times[0] == 0) times[0] = now;
                    for (ChangeEvent<String, String> record : records) {
                        if (expectedTopic.equals(record.destination())) {
                            counts[0]++;
                            String value = record.value();
                            if (value != null) counts[2] += value.length();
                        } else {
                            counts[1]++;
                        }
                        committer.markProcessed(record);
                    }
                    committer.markBatchFinished();
                    if (counts[0] >= expectedRecords && times[1] == 0) {
                        times[1] = System.nanoTime();
                        done.countDown();
                    }
                })
                .using((boolean success, String message, Throwable error) -> {
                    if (done.getCount() > 0) {
                        failure.compareAndSet(null, "engine stopped before the last record: " + message
                                + (error == null ? "" : " (" + error + ")"));
                        done.countDown();
                    }
                })
                .build();

        ExecutorService executor = Executors.newSingleThreadExecutor();
        long engineStartNanos = System.nanoTime();
        executor.execute(engine);
        boolean finished = done.await(timeoutSeconds, TimeUnit.SECONDS);
        long endNanos = System.nanoTime();
        double peakRssMb = procStatusMb("VmHWM");
        double cpuSeconds = processCpuSeconds();
        long heapUsed = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();

        engine.close();
        executor.shutdown();
        executor.awaitTermination(30, TimeUnit.SECONDS);

        if (!finished) failure.compareAndSet(null, "timed out after " + timeoutSeconds + " s");
        long first = times[0];
        long last = times[1] == 0 ? endNanos : times[1];
        double seconds = first == 0 ? 0 : (last - first) / 1e9;
        StringBuilder json = new StringBuilder("{");
        field(json, "records", counts[0]);
        field(json, "otherRecords", counts[1]);
        field(json, "seconds", round(seconds, 3));
        field(json, "recordsPerSecond", seconds > 0 ? Math.round(counts[0] / seconds) : 0);
        field(json, "startupSeconds", first == 0 ? 0 : round(sinceJvmStartMillis / 1e3 + (first - mainStartNanos) / 1e9, 3));
        field(json, "engineStartupSeconds", first == 0 ? 0 : round((first - engineStartNanos) / 1e9, 3));
        field(json, "avgValueChars", counts[0] == 0 ? 0 : Math.round((double) counts[2] / counts[0]));
        field(json, "peakRssMb", peakRssMb);
        field(json, "rssAtMainMb", rssAtMainMb);
        field(json, "cpuSeconds", round(cpuSeconds, 2));
        field(json, "heapUsedAtEndMb", round(heapUsed / 1048576.0, 1));
        field(json, "maxHeapMb", round(Runtime.getRuntime().maxMemory() / 1048576.0, 1));
        json.append("\"jvmArgs\":\"")
                .append(escape(String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments())))
                .append("\",");
        json.append("\"engine\":\"").append(escape(engine.getClass().getName())).append("\",");
        json.append("\"javaVersion\":\"").append(escape(System.getProperty("java.version"))).append("\"");
        if (failure.get() != null) json.append(",\"error\":\"").append(escape(failure.get())).append("\"");
        json.append("}");
        System.out.println(json);
        System.out.flush();
        // connector threads may linger after close(); the figures are out
        System.exit(failure.get() == null ? 0 : 1);
    }

    private static void field(StringBuilder json, String name, Object value) {
        json.append('"').append(name).append("\":").append(value).append(',');
    }

    private static double round(double value, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(value * scale) / scale;
    }

    private static String escape(String text) {
        return text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /** A "Vm…: N kB" line of /proc/self/status, in MB (0 where /proc is missing). */
    private static double procStatusMb(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key + ":")) {
                    String kb = line.substring(key.length() + 1).trim().split("\\s+")[0];
                    return round(Long.parseLong(kb) / 1024.0, 1);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return 0;
    }

    private static double processCpuSeconds() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime() / 1e9;
        }
        return 0;
    }

    static {
        Locale.setDefault(Locale.ROOT);
    }
}
