// HDFS: a NameNode and a DataNode in one JVM (Hadoop's MiniDFSCluster from Maven Central's
// hadoop-client-minicluster), with WebHDFS on the NameNode's HTTP port. Jars, data and log live under
// .services/hdfs/; the data is formatted on the first start only and kept across restarts.
//
// Version: Hadoop 3.4.2 on Java 17. It needs javax.xml.bind (jaxb-api) on the class path, which Java 11+
// no longer ships: without it every WebHDFS request answers HTTP 500 (see hdfs/pom.xml).
//
// Ports, all on the address's host: NameNode HTTP/WebHDFS from the address (9870), NameNode RPC 8020,
// DataNode data transfer 9866, HTTP 9864 (WebHDFS redirects CREATE/OPEN there) and IPC 9867.
//
// For WebHDFS clients: the DataNode answers CREATE/APPEND with an unsolicited "100 Continue" before the
// real status, which Node 20's fetch rejects ("fetch failed", cause "bad response"); send those bodies
// with node:http (see test/integration/smoke/hdfs.test.ts). Every other call works with fetch.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isLocal, serviceAddresses } from './addresses.ts';
import {
  assertPortsFree,
  runningPid,
  serviceDir,
  startDaemon,
  stopDaemon,
  waitUntilHealthy,
} from './daemon.ts';
import { classPath, resolveJars } from './maven.ts';
import { ServiceStartError, type ServiceStatus, type TestService } from './service.ts';

const name = 'hdfs';
const pomPath = join(import.meta.dirname, 'hdfs', 'pom.xml');
const launcherPath = join(import.meta.dirname, 'hdfs', 'Launcher.java');
const startTimeoutMs = 120_000;

/** The fixed ports besides the WebHDFS one, which comes from the address. */
const fixedPorts = { nnRpc: 8020, dnData: 9866, dnHttp: 9864, dnIpc: 9867 } as const;

function webhdfsUrl(): URL {
  return new URL(serviceAddresses().webhdfsUrl);
}

function httpPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** The address's host, as the nodes bind and advertise it (IPv4 loopback for "localhost"). */
function bindHost(url: URL): string {
  return url.hostname === 'localhost' ? '127.0.0.1' : url.hostname;
}

interface NameNodeState {
  version: string;
  liveDataNodes: number;
  safemode: string;
  filesTotal: number;
  capacityUsed: number;
}

async function getJson(url: URL): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  const body = await response.text();
  if (response.status !== 200)
    throw new Error(`${url.pathname} answered ${response.status}: ${body.slice(0, 200)}`);
  return JSON.parse(body) as unknown;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw new Error(`${what} is not an object`);
  return value as Record<string, unknown>;
}

/**
 * A real round trip: WebHDFS GETFILESTATUS on / (the HTTP file system API the tests use), and the
 * NameNode's JMX state (a DataNode registered, out of safe mode), so writes can succeed.
 */
async function probe(): Promise<NameNodeState> {
  const base = webhdfsUrl();
  const root = new URL('/webhdfs/v1/?op=GETFILESTATUS&user.name=kafki', base);
  const status = record(record(await getJson(root), 'GETFILESTATUS').FileStatus, 'FileStatus');
  if (status.type !== 'DIRECTORY')
    throw new Error(`/ is not a directory: ${JSON.stringify(status)}`);

  const [info, state] = await Promise.all([
    jmxBean(base, 'Hadoop:service=NameNode,name=NameNodeInfo'),
    jmxBean(base, 'Hadoop:service=NameNode,name=FSNamesystemState'),
  ]);
  if (typeof info.Safemode !== 'string' || typeof state.NumLiveDataNodes !== 'number') {
    throw new Error('the NameNode JMX beans lack Safemode or NumLiveDataNodes');
  }
  return {
    version: String(info.SoftwareVersion ?? 'unknown'),
    liveDataNodes: state.NumLiveDataNodes,
    safemode: info.Safemode,
    filesTotal: Number(state.FilesTotal ?? 0),
    capacityUsed: Number(state.CapacityUsed ?? 0),
  };
}

/** One bean of the NameNode's /jmx servlet, e.g. Hadoop:service=NameNode,name=NameNodeInfo. */
async function jmxBean(base: URL, query: string): Promise<Record<string, unknown>> {
  const url = new URL('/jmx', base);
  url.searchParams.set('qry', query);
  const beans = record(await getJson(url), 'JMX answer').beans;
  return record(Array.isArray(beans) ? beans[0] : undefined, `JMX bean ${query}`);
}

async function healthy(): Promise<boolean> {
  const state = await probe();
  return state.liveDataNodes >= 1 && state.safemode === '';
}

/** "fetch failed" says little; its cause (ECONNREFUSED, a timeout) says why. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = 'code' in cause ? ` ${String(cause.code)}` : '';
    return `${error.message}:${code} ${cause.message}`;
  }
  return error.message;
}

/** The Hadoop version of the fetched jars (hadoop-client-minicluster-X.jar), if any. */
function jarVersion(): string | undefined {
  const lib = join(serviceDir(name), 'lib');
  if (!existsSync(lib)) return undefined;
  for (const file of readdirSync(lib)) {
    const match = /^hadoop-client-minicluster-(.+)\.jar$/.exec(file);
    if (match) return match[1];
  }
  return undefined;
}

function prepareJars(): string {
  return resolveJars(name, pomPath);
}

export const hdfs: TestService = {
  name,
  address: () => serviceAddresses().webhdfsUrl,

  async status(): Promise<ServiceStatus> {
    const address = this.address();
    try {
      const state = await probe();
      const up = state.liveDataNodes >= 1 && state.safemode === '';
      const detail =
        `live datanodes=${state.liveDataNodes}, safemode=${state.safemode === '' ? 'off' : state.safemode}, ` +
        `files+dirs=${state.filesTotal}, used=${state.capacityUsed} B`;
      return { name, address, up, version: state.version, detail };
    } catch (error) {
      return { name, address, up: false, version: jarVersion(), detail: describeError(error) };
    }
  },

  async prepare(): Promise<void> {
    prepareJars();
  },

  async up(): Promise<void> {
    const address = this.address();
    if (await healthy().catch(() => false)) return;
    if (!isLocal(address)) {
      throw new ServiceStartError(
        name,
        `no healthy HDFS (WebHDFS with a live DataNode) at ${address}`,
      );
    }

    // One we started earlier may still be starting: wait for it rather than start a second one.
    const existing = runningPid(name);
    if (existing !== undefined) {
      await waitUntilHealthy(name, healthy, { timeoutMs: startTimeoutMs, pid: existing }).catch(
        (error: unknown) => {
          throw new ServiceStartError(
            name,
            `the HDFS started earlier (pid ${existing}) is not healthy; stop it with \`services:down hdfs\`\n` +
              (error instanceof Error ? error.message : String(error)),
          );
        },
      );
      return;
    }

    const url = webhdfsUrl();
    const host = bindHost(url);
    const nnHttp = httpPort(url);
    await assertPortsFree(name, host, [nnHttp, ...Object.values(fixedPorts)]);

    const lib = prepareJars();
    const dir = serviceDir(name);
    const pid = startDaemon({
      name,
      command: 'java',
      args: [
        '-Xms128m',
        '-Xmx512m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.net.preferIPv4Stack=true',
        '-cp',
        classPath(lib),
        launcherPath,
        `dir=${join(dir, 'data')}`,
        `host=${host}`,
        `nnHttp=${nnHttp}`,
        `nnRpc=${fixedPorts.nnRpc}`,
        `dnData=${fixedPorts.dnData}`,
        `dnHttp=${fixedPorts.dnHttp}`,
        `dnIpc=${fixedPorts.dnIpc}`,
      ],
      cwd: dir,
    });
    await waitUntilHealthy(name, healthy, { timeoutMs: startTimeoutMs, pid });
  },

  async down(): Promise<void> {
    await stopDaemon(name);
  },
};
