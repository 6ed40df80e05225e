import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort, RedisServer } from './redis-server.js';

const run = promisify(execFile);

/**
 * A real Redis Cluster of three masters (no replicas) on loopback ports, each a `redis-server` child with
 * its own directory for the cluster's node file, joined with `redis-cli --cluster create`.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: readonly RedisServer[],
    private readonly dirs: readonly string[],
  ) {}

  /** Starts three nodes, gives them the 16384 slots, and resolves once every node says the cluster is ok. */
  static async start(): Promise<RedisCluster> {
    const dirs: string[] = [];
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const dir = await mkdtemp(join(tmpdir(), 'dspu-cluster-'));
        dirs.push(dir);
        // The cluster bus needs a port of its own; the default (port + 10000) may be taken or out of range.
        const bus = String(await freePort());
        const args = ['--cluster-enabled', 'yes', '--cluster-port', bus, '--dir', dir];
        nodes.push(await RedisServer.start([...args, '--cluster-node-timeout', '2000']));
      }
      const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
      await run('redis-cli', [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      const cluster = new RedisCluster(nodes, dirs);
      await cluster.waitUntilOk();
      return cluster;
    } catch (error) {
      await Promise.all(nodes.map((node) => node.stop()));
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
      throw error;
    }
  }

  /** A new cluster client (the caller quits it). */
  client(): Cluster {
    const client = new Cluster([{ host: '127.0.0.1', port: this.nodes[0].port }]);
    client.on('error', () => undefined);
    return client;
  }

  /** Stops every node and removes their directories. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    await Promise.all(this.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  private async waitUntilOk(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const states = await Promise.all(this.nodes.map((node) => clusterState(node.port)));
      if (states.every((state) => state === 'ok')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the Redis Cluster did not reach cluster_state:ok');
  }
}

async function clusterState(port: number): Promise<string | undefined> {
  const node = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  node.on('error', () => undefined);
  try {
    await node.connect();
    const info = (await node.call('CLUSTER', 'INFO')) as string;
    return /cluster_state:(\w+)/.exec(info)?.[1];
  } finally {
    node.disconnect();
  }
}
