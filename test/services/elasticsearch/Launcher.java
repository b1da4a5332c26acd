// One Elasticsearch node in this JVM, for Kafki's test harness (test/services/elasticsearch.ts).
//
// Run in source-file mode with the distribution's lib/ on the module path, as Elasticsearch's own
// server-cli does:
//   java --module-path <home>/lib --add-modules=ALL-MODULE-PATH -Des.home=<home> ... Launcher.java
// (test/services/elasticsearch.ts starts it so, with the JVM options server-cli would add).
//
// It does what org.elasticsearch.bootstrap.Elasticsearch does, minus what a throwaway test node
// running as root cannot use: no server-cli handshake on stdin, no native hardening (system call
// filter, mlockall, the refusal to run as root), no security manager or entitlements, no bootstrap
// checks. Modules load from <home>/modules exactly as in a real install, so the HTTP layer, the
// mappings, indexing, versioning and search are Elasticsearch's own code.
//
// System properties:
//   es.home            the unpacked distribution (lib/, modules/, config/)
//   es.data, es.logs   data and log folders (data survives restarts)
//   es.host, es.http.port, es.transport.port, es.cluster.name
//
// Blocks until SIGTERM or SIGINT, then closes the node cleanly (flushes shards, releases the
// node lock) before the JVM exits.

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginBundle;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler.Route;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

public class Launcher {

    private static String required(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("missing system property -D" + name);
        }
        return value;
    }

    public static void main(String[] args) {
        try {
            run();
        } catch (Throwable t) {
            // Elasticsearch's own threads would keep a half-started JVM alive: exit, so the
            // harness sees the process die and shows this in the log tail.
            System.err.println("Elasticsearch failed to start:");
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static void run() throws Exception {
        Path home = Path.of(required("es.home")).toAbsolutePath();
        Path data = Path.of(required("es.data")).toAbsolutePath();
        Path logs = Path.of(required("es.logs")).toAbsolutePath();
        Files.createDirectories(data);
        Files.createDirectories(logs);

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", System.getProperty("es.cluster.name", "kafki-test"))
            .put("node.name", "kafki-test-node")
            .put("discovery.type", "single-node")
            .put("network.host", System.getProperty("es.host", "127.0.0.1"))
            .put("http.port", System.getProperty("es.http.port", "9200"))
            .put("transport.port", System.getProperty("es.transport.port", "9300"))
            // Plain HTTP, no users: a local test node.
            .put("xpack.security.enabled", false)
            // A nearly full disk must not turn indices read-only or leave shards unassigned.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();

        LogConfigurator.configureESLogging();
        LogConfigurator.registerErrorListener();
        // config/ of the distribution is used read-only: elasticsearch.yml there is empty and
        // log4j2.properties is the stock one. Our settings win over the file.
        Environment environment =
            InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> "kafki-test-node");
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.setClusterName(environment.settings().get("cluster.name"));
        LogConfigurator.configure(environment, true);
        Logger logger = LogManager.getLogger(Launcher.class);

        Set<PluginBundle> modules = PluginsLoader.loadModulesBundles(environment.modulesDir());
        logger.info(
            "loading modules {}",
            modules.stream().map(bundle -> bundle.pluginDescriptor().getName()).sorted().toList()
        );
        PluginsLoader pluginsLoader =
            PluginsLoader.createPluginsLoader(modules, PluginsLoader.loadPluginsBundles(environment.pluginsDir()), Map.of());

        Node node = new Node(environment, pluginsLoader);
        // GET / and HEAD / live in the rest-root module, which this distribution does not ship.
        RestController restController = node.injector().getInstance(RestController.class);
        restController.registerHandler(new RootHandler(node.injector().getInstance(ClusterService.class)));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            logger.info("stopping the node");
            try {
                node.prepareForClose();
                node.close();
                if (!node.awaitClose(30, TimeUnit.SECONDS)) {
                    logger.warn("the node did not close within 30 s");
                }
            } catch (Exception e) {
                logger.warn("error while stopping the node", e);
            } finally {
                LogManager.shutdown();
                stopped.countDown();
            }
        }, "kafki-es-shutdown"));

        node.start();
        logger.info(
            "node started: http on {}:{}",
            environment.settings().get("network.host"),
            environment.settings().get("http.port")
        );
        // Block until the shutdown hook has run: the JVM exits after it.
        stopped.await();
    }

    /**
     * The node's identity at GET / (and HEAD / for ping), in the shape of Elasticsearch's own
     * RestMainAction from the rest-root module, which the integ-test distribution leaves out.
     * Clients use it for info() and ping().
     */
    static final class RootHandler extends BaseRestHandler {
        private final ClusterService clusterService;

        RootHandler(ClusterService clusterService) {
            this.clusterService = clusterService;
        }

        @Override
        public String getName() {
            return "kafki_main_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                Build build = Build.current();
                ClusterState state = clusterService.state();
                XContentBuilder body = channel.newBuilder();
                body.startObject();
                body.field("name", clusterService.getNodeName());
                body.field("cluster_name", state.getClusterName().value());
                body.field("cluster_uuid", state.metadata().clusterUUID());
                body.startObject("version")
                    .field("number", build.qualifiedVersion())
                    .field("build_flavor", build.flavor())
                    .field("build_type", build.type().displayName())
                    .field("build_hash", build.hash())
                    .field("build_date", build.date())
                    .field("build_snapshot", build.isSnapshot())
                    .field("lucene_version", org.apache.lucene.util.Version.LATEST.toString())
                    .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                    .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                    .endObject();
                body.field("tagline", "You Know, for Search");
                body.endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, body));
            };
        }
    }
}
