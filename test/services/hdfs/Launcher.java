// HDFS for the tests: one NameNode and one DataNode in this JVM (Hadoop's MiniDFSCluster), WebHDFS on the
// NameNode's HTTP port. Run as a single source file with the jars of pom.xml on the class path:
//
//   java -cp '.services/hdfs/lib/*' test/services/hdfs/Launcher.java dir=.services/hdfs/data host=127.0.0.1 \
//     nnHttp=9870 nnRpc=8020 dnData=9866 dnHttp=9864 dnIpc=9867
//
// Fixed ports, all on one host, so WebHDFS redirects (NameNode -> DataNode) reach a client on this machine.
// The file system is formatted the first time only; later starts keep the data. Blocks until SIGTERM,
// then shuts both nodes down cleanly.

import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.util.VersionInfo;
import org.apache.log4j.ConsoleAppender;
import org.apache.log4j.Level;
import org.apache.log4j.LogManager;
import org.apache.log4j.Logger;
import org.apache.log4j.PatternLayout;
import sun.misc.Signal;

public class Launcher {
  public static void main(String[] args) throws Exception {
    quietLogs();
    Map<String, String> options = parse(args);
    File base = new File(options.getOrDefault("dir", "data")).getAbsoluteFile();
    String host = options.getOrDefault("host", "127.0.0.1");
    int nnHttp = port(options, "nnHttp", 9870);
    int nnRpc = port(options, "nnRpc", 8020);
    int dnData = port(options, "dnData", 9866);
    int dnHttp = port(options, "dnHttp", 9864);
    int dnIpc = port(options, "dnIpc", 9867);

    Configuration conf = new HdfsConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
    conf.setBoolean("dfs.permissions.enabled", false);
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setInt("dfs.replication", 1);
    conf.setInt("dfs.namenode.safemode.extension", 0);
    conf.setInt("dfs.namenode.safemode.extension.testing", 0);
    // Every node binds and advertises the one host, so redirects to the DataNode stay reachable.
    conf.set("dfs.namenode.rpc-address", host + ":" + nnRpc);
    conf.set("dfs.namenode.http-address", host + ":" + nnHttp);
    conf.set("dfs.datanode.address", host + ":" + dnData);
    conf.set("dfs.datanode.http.address", host + ":" + dnHttp);
    conf.set("dfs.datanode.ipc.address", host + ":" + dnIpc);
    conf.set("dfs.datanode.hostname", host);
    conf.setBoolean("dfs.datanode.use.datanode.hostname", false);
    conf.setBoolean("dfs.client.use.datanode.hostname", false);
    // Small machine: fewer handler threads.
    conf.setInt("dfs.namenode.handler.count", 4);
    conf.setInt("dfs.namenode.service.handler.count", 2);
    conf.setInt("dfs.datanode.handler.count", 2);
    conf.setInt("dfs.datanode.max.transfer.threads", 256);

    // SIGTERM/SIGINT stop the nodes from this thread, before the JVM's shutdown begins (in a shutdown hook
    // Hadoop's own hooks get in the way). One arriving during start-up stops the nodes once they are up.
    CountDownLatch stopRequested = new CountDownLatch(1);
    for (String signal : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(signal), received -> stopRequested.countDown());
    }

    boolean format = !formatted(base);
    System.out.printf(
        "kafki-hdfs: Hadoop %s, %s %s (NameNode rpc %s:%d, http %s:%d; DataNode data %d, http %d, ipc %d)%n",
        VersionInfo.getVersion(), format ? "formatting" : "reusing", base, host, nnRpc, host, nnHttp,
        dnData, dnHttp, dnIpc);

    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(conf, base)
            .numDataNodes(1)
            .storagesPerDatanode(1)
            .nameNodePort(nnRpc)
            .nameNodeHttpPort(nnHttp)
            .checkDataNodeAddrConfig(true)
            .checkDataNodeHostConfig(true)
            .format(format)
            .manageNameDfsDirs(true)
            .manageDataDfsDirs(true)
            .waitSafeMode(true)
            .build();
    cluster.waitActive();

    System.out.printf(
        "kafki-hdfs: ready, WebHDFS at http://%s:%d/webhdfs/v1/, fs.defaultFS %s%n",
        host, nnHttp, cluster.getFileSystem().getUri());
    stopRequested.await();
    System.out.println("kafki-hdfs: shutting down");
    // Interrupted threads warn at length while stopping; keep only real errors.
    LogManager.getRootLogger().setLevel(Level.ERROR);
    Logger.getLogger("org.apache.hadoop.hdfs.server.datanode.DataNode").setLevel(Level.FATAL);
    // Not cluster.shutdown(): even with deleteDfsDir=false it marks the whole base folder deleteOnExit,
    // which would wipe the data at every stop. Stopping the nodes themselves keeps it.
    cluster.getFileSystem().close();
    cluster.shutdownDataNodes();
    cluster.shutdownNameNodes();
    System.out.println("kafki-hdfs: stopped");
    System.exit(0);
  }

  /** True when the NameNode's storage (base/name-0-1, base/name-0-2) already holds a formatted image. */
  private static boolean formatted(File base) {
    File[] names = base.listFiles((dir, name) -> name.startsWith("name"));
    if (names == null) return false;
    for (File name : names) {
      if (new File(name, "current/VERSION").isFile()) return true;
    }
    return false;
  }

  /** WARN and above to stdout (the service log), with the launcher's own lines printed directly. */
  private static void quietLogs() {
    Logger root = LogManager.getRootLogger();
    root.removeAllAppenders();
    root.addAppender(new ConsoleAppender(new PatternLayout("%d{ISO8601} %-5p %c{1}: %m%n")));
    root.setLevel(Level.WARN);
    // Jersey (WebHDFS) logs through java.util.logging: INFO banners and warnings about Hadoop's own resources.
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.SEVERE);
    // Known noise on a plain JVM without native Hadoop libraries or a Hadoop install.
    for (String name :
        new String[] {
          "org.apache.hadoop.util.NativeCodeLoader",
          "org.apache.hadoop.util.Shell",
          "org.apache.hadoop.metrics2",
          "org.apache.hadoop.http.HttpRequestLog",
          "org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit",
          "org.apache.hadoop.security.authentication.server.AuthenticationFilter",
          "org.apache.hadoop.hdfs.server.datanode.web.DatanodeHttpServer",
          "org.apache.hadoop.hdfs.server.datanode.DirectoryScanner",
        }) {
      Logger.getLogger(name).setLevel(Level.ERROR);
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("expected key=value, got " + arg);
      options.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    return options;
  }

  private static int port(Map<String, String> options, String key, int fallback) {
    String value = options.get(key);
    return value == null ? fallback : Integer.parseInt(value);
  }
}
