// Where each test service lives. Every address can be overridden by an environment variable,
// so the same tests run against the docker-compose services or a developer's own servers.
// This is the only test module that reads process.env for service locations.

export interface ServiceAddresses {
  postgresUrl: string;
  mariadbUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
  elasticsearchUrl: string;
  webhdfsUrl: string;
}

function env(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
}

export function serviceAddresses(): ServiceAddresses {
  return {
    postgresUrl: env('KAFKI_POSTGRES_URL', 'postgres://postgres@127.0.0.1:5432/test'),
    mariadbUrl: env('KAFKI_MARIADB_URL', 'mysql://root@127.0.0.1:3306/test'),
    redisUrl: env('KAFKI_REDIS_URL', 'redis://127.0.0.1:6379'),
    kafkaBrokers: env('KAFKI_KAFKA_BROKERS', '127.0.0.1:9092').split(','),
    elasticsearchUrl: env('KAFKI_ELASTICSEARCH_URL', 'http://127.0.0.1:9200'),
    webhdfsUrl: env('KAFKI_WEBHDFS_URL', 'http://127.0.0.1:9870'),
  };
}

/** host and port of a URL or a host:port string */
export function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** True when the address points at this machine, so the harness may start or reconfigure it. */
export function isLocal(address: string): boolean {
  const { host } = hostPort(address);
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}
