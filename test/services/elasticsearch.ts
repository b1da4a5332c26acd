// Elasticsearch: one 8.x node run from Maven Central, with its data and logs under
// .services/elasticsearch/ (data survives restarts; `down` then `up` finds the indices again).
//
// Where it comes from: org.codelibs:elasticsearch-cluster-runner has no 8.x release on Maven Central
// (7.10.2.0 is its newest there), and Elastic publishes no full 8.x distribution there either. Maven
// Central does serve org.elasticsearch.distribution.integ-test-zip:elasticsearch, the distribution
// Elasticsearch's own REST tests run against: server and Lucene jars plus the modules
// transport-netty4 (HTTP), x-pack-core, x-pack-security and apm. prepare() fetches it
// (elasticsearch/pom.xml) and unpacks it once (elasticsearch/Unzip.java); Launcher.java runs one
// node from it in one JVM, with lib/ on the module path as Elasticsearch's own launcher does.
//
// What that distribution lacks, and so this node lacks: the modules analysis-common (extra analyzers
// and token filters such as `lowercase`), mapper-extras (scaled_float, search_as_you_type,
// token_count...), reindex (_reindex, _update_by_query, _delete_by_query), lang-painless (scripts),
// ingest-common, data-streams, rest-root and the x-pack features beyond core. Launcher.java answers
// GET / and HEAD / itself in rest-root's shape, so client.info() and client.ping() work. Bulk
// indexing, text/keyword mappings, external versioning, delete, search and refresh are all in the
// server itself (see test/integration/smoke/elasticsearch.test.ts).
//
// Settings: single-node discovery, cluster name kafki-test, HTTP on the address's port, transport on
// that port + 100 (9300), both bound to the address's host; security off (plain http); disk
// watermarks off, so a nearly full disk never makes indices read-only. Heap 2 GiB, fixed (as
// Elasticsearch sizes it itself): indexing pressure allows 10% of it, and the tests run several
// pipelines at once.
// Runs on the default Java 17 (and on Java 25).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hostPort, isLocal, serviceAddresses } from './addresses.ts';
import {
  assertPortsFree,
  runningPid,
  serviceDir,
  startDaemon,
  stopDaemon,
  waitUntilHealthy,
} from './daemon.ts';
import { resolveJars } from './maven.ts';
import { ServiceStartError, type ServiceStatus, type TestService } from './service.ts';

const name = 'elasticsearch';
const sourceDir = join(import.meta.dirname, 'elasticsearch');
const pomPath = join(sourceDir, 'pom.xml');
const clusterName = 'kafki-test';
const startTimeoutMs = 180_000;

interface ClusterHealth {
  cluster_name: string;
  status: 'green' | 'yellow' | 'red';
  number_of_nodes: number;
  active_shards: number;
  unassigned_shards: number;
}

interface RootInfo {
  name: string;
  cluster_name: string;
  version: { number: string };
}

function address(): string {
  return serviceAddresses().elasticsearchUrl;
}

/** GET a JSON document from the service; credentials in the URL become a Basic header. */
async function getJson<T>(path: string, timeoutMs = 3000): Promise<T> {
  const url = new URL(path, address());
  const headers: Record<string, string> = { accept: 'application/json' };
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** fetch hides the reason (ECONNREFUSED, a timeout) in error.cause. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

function health(): Promise<ClusterHealth> {
  return getJson<ClusterHealth>('/_cluster/health');
}

/** Healthy: the cluster answers and every primary shard is assigned (green or yellow). */
async function healthy(): Promise<boolean> {
  const { status } = await health();
  return status === 'green' || status === 'yellow';
}

function ports(): { host: string; http: number; transport: number } {
  const { host, port } = hostPort(address());
  const http = port || 9200;
  return { host, http, transport: http + 100 };
}

/** The unpacked distribution for the zip in lib/, unpacking it on first use. */
function install(): string {
  const lib = resolveJars(name, pomPath);
  const zip = readdirSync(lib).find((file) => /^elasticsearch-.+\.zip$/.test(file));
  if (zip === undefined) throw new ServiceStartError(name, `no elasticsearch-*.zip in ${lib}`);
  const home = join(serviceDir(name), zip.replace(/\.zip$/, ''));
  if (existsSync(join(home, 'lib'))) return home;
  try {
    execFileSync('java', [join(sourceDir, 'Unzip.java'), join(lib, zip), home], {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 300_000,
    });
  } catch (error) {
    const output =
      error instanceof Error && 'stderr' in error ? String(error.stderr) : String(error);
    throw new ServiceStartError(name, `unpacking ${zip} failed`, output.slice(-3000));
  }
  return home;
}

function versionFromHome(home: string): string | undefined {
  return /elasticsearch-(.+)$/.exec(home)?.[1];
}

export const elasticsearch: TestService = {
  name,
  address,

  async status(): Promise<ServiceStatus> {
    const url = this.address();
    const ours = runningPid(name) !== undefined;
    try {
      const [root, cluster] = await Promise.all([getJson<RootInfo>('/'), health()]);
      return {
        name,
        address: url,
        up: cluster.status !== 'red',
        version: root.version.number,
        detail:
          `cluster ${cluster.cluster_name} ${cluster.status}, ${cluster.number_of_nodes} node(s), ` +
          `${cluster.active_shards} active / ${cluster.unassigned_shards} unassigned shard(s)` +
          (ours
            ? `, transport ${ports().host}:${ports().transport}`
            : ', not started by this harness'),
      };
    } catch (error) {
      return {
        name,
        address: url,
        up: false,
        detail: (ours ? 'JVM running but not answering: ' : '') + describeError(error),
      };
    }
  },

  async prepare(): Promise<void> {
    if (isLocal(this.address())) install();
  },

  async up(): Promise<void> {
    const url = this.address();
    if (await healthy().catch(() => false)) return;
    if (!isLocal(url)) {
      throw new ServiceStartError(
        name,
        `unreachable or unhealthy at ${url}; start it or point KAFKI_ELASTICSEARCH_URL elsewhere`,
      );
    }

    // Our JVM from an earlier `up` may still be starting or recovering: wait for it.
    const earlier = runningPid(name);
    if (earlier !== undefined) {
      await waitUntilHealthy(name, healthy, { timeoutMs: startTimeoutMs, pid: earlier });
      return;
    }

    const { host, http, transport } = ports();
    await assertPortsFree(name, host, [http, transport]);

    const home = install();
    const dir = serviceDir(name);
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const pid = startDaemon({
      name,
      command: 'java',
      args: [
        '-Xms2g',
        '-Xmx2g',
        '-Xss1m',
        '-XX:+UseG1GC',
        '-XX:+ExitOnOutOfMemoryError',
        '-XX:-OmitStackTraceInFastThrow',
        `-Djava.io.tmpdir=${tmp}`,
        // The system properties Elasticsearch's own launcher (server-cli) sets.
        '-Dfile.encoding=UTF-8',
        '-Djava.awt.headless=true',
        '-Djna.nosys=true',
        '-Des.networkaddress.cache.ttl=60',
        '-Des.networkaddress.cache.negative.ttl=10',
        '-Dio.netty.noUnsafe=true',
        '-Dio.netty.noKeySetOptimization=true',
        '-Dio.netty.recycler.maxCapacityPerThread=0',
        '-Dlog4j.shutdownHookEnabled=false',
        '-Dlog4j2.disable.jmx=true',
        '-Dlog4j2.formatMsgNoLookups=true',
        // Elasticsearch is modular: lib/ goes on the module path, as server-cli puts it.
        '--module-path',
        join(home, 'lib'),
        '--add-modules=ALL-MODULE-PATH',
        // Native code (JNA or the JDK's FFI) as server-cli allows it; the libraries (zstd, vec)
        // are found under es.path.home/lib/platform.
        '--enable-native-access=org.elasticsearch.nativeaccess,org.apache.lucene.core',
        `-Des.path.home=${home}`,
        `-Des.home=${home}`,
        `-Des.data=${join(dir, 'data')}`,
        `-Des.logs=${join(dir, 'logs')}`,
        `-Des.host=${host}`,
        `-Des.http.port=${http}`,
        `-Des.transport.port=${transport}`,
        `-Des.cluster.name=${clusterName}`,
        join(sourceDir, 'Launcher.java'),
      ],
      cwd: dir,
    });
    await waitUntilHealthy(name, healthy, { timeoutMs: startTimeoutMs, pid });
    const info = await getJson<RootInfo>('/');
    const expected = versionFromHome(home);
    if (expected !== undefined && info.version.number !== expected) {
      throw new ServiceStartError(name, `started ${info.version.number}, expected ${expected}`);
    }
  },

  async down(): Promise<void> {
    await stopDaemon(name);
  },
};
