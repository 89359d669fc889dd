// Helpers for the multi-node end-to-end tests of chatd: several chatd
// processes sharing one Redis (the Socket.IO adapter, with a channel prefix
// of their own) and one PostgreSQL schema (created by chatd from the
// search_path of the URL).
//
// Environment: DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and REDIS_URL
// (default redis://127.0.0.1:6379/0). When either does not answer, the
// tests are skipped, or fail when CI is set.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFile, execFileSync, spawn } = require('node:child_process');
const { createClient } = require('redis');
const { startServer, ROOT } = require('./server.js');

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/0';

/** The PostgreSQL server of the tests. */
function databaseURL() {
  return process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

/** The Redis of the tests. */
function redisURL() {
  return process.env.REDIS_URL || DEFAULT_REDIS_URL;
}

/** databaseURL() with its search_path parameter set to schema. */
function withSearchPath(url, schema) {
  const u = new URL(url);
  u.searchParams.set('search_path', schema);
  return u.toString();
}

// tcpReachable resolves true when host:port accepts a TCP connection.
function tcpReachable(host, port, ms = 3000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok) => { clearTimeout(timer); sock.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), ms);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Checks that PostgreSQL accepts connections and Redis answers PING.
 * Resolves with null when both do, or with the reason they do not.
 */
async function servicesMissing() {
  const pg = new URL(databaseURL());
  if (!(await tcpReachable(pg.hostname, Number(pg.port || 5432)))) {
    return `PostgreSQL unreachable at ${pg.host} (set DATABASE_URL)`;
  }
  const client = createClient({ url: redisURL() });
  client.on('error', () => {}); // reported through the rejected calls below
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 3000)),
    ]);
  } catch (err) {
    return `Redis unreachable at ${redisURL()} (set REDIS_URL): ${err.message}`;
  } finally {
    client.disconnect().catch(() => {});
  }
  return null;
}

/**
 * Skips test context t when PostgreSQL or Redis is missing; throws instead
 * when CI is set. Resolves true when the services are there.
 */
async function requireServices(t) {
  const missing = await servicesMissing();
  if (!missing) return true;
  if (process.env.CI) throw new Error(missing);
  t.skip(missing);
  return false;
}

/** A fresh name for a PostgreSQL schema or a Redis channel prefix. */
function uniqueName(prefix) {
  return `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
}

// dropSchema drops schema with psql when psql is installed (chatd creates
// the schema but never drops one); without psql the empty-named test schema
// stays behind in the test database.
function dropSchema(schema) {
  const u = new URL(databaseURL());
  u.searchParams.delete('search_path');
  return new Promise((resolve) => {
    execFile('psql', [u.toString(), '-qc', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`],
      { timeout: 30_000 }, () => resolve());
  });
}

/**
 * Starts n chatd nodes (default 2) on one new PostgreSQL schema and one
 * Redis with a new channel prefix. Resolves with
 * {nodes, urls, db, schema, prefix, stop}; nodes are startServer's results;
 * db is the -db URL (for `chatd admin`); stop() stops every node and drops
 * the schema.
 */
async function startCluster({ n = 2, args = [], env = {} } = {}) {
  const schema = uniqueName('chatd_e2e');
  const prefix = uniqueName('chatd-e2e');
  const db = withSearchPath(databaseURL(), schema);
  const common = ['-db', db, '-redis', redisURL(), '-redis-prefix', prefix, ...args];
  const nodes = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node && node.stop()));
    await dropSchema(schema);
    await deleteKeys(prefix);
  };
  // stopNode(i) stops node i gracefully (SIGTERM); startNode(i) starts it
  // again, on a new port (nodes[i] and urls[i] then name the new process).
  const stopNode = async (i) => {
    const node = nodes[i];
    nodes[i] = null;
    if (node) await node.stop();
  };
  const startNode = async (i) => {
    if (nodes[i]) throw new Error(`node ${i} is running`);
    nodes[i] = await startServer('chatd', common, env);
    urls[i] = nodes[i].url;
    return nodes[i];
  };
  const urls = [];
  // The nodes start together, as after a deployment: the migrations must
  // be applied once all the same.
  const started = await Promise.allSettled(
    Array.from({ length: n }, () => startServer('chatd', common, env)));
  for (const r of started) if (r.status === 'fulfilled') nodes.push(r.value);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  urls.push(...nodes.map((node) => node.url));
  return { nodes, urls, db, schema, prefix, stop, stopNode, startNode };
}

/**
 * startCluster(opts), then an account for each of names, signed up on
 * alternate nodes (password "<name>-password") and logged in on every
 * node. Resolves with {c, cookies}: c is startCluster's result, cookies
 * maps a name to its Cookie header values, one per node.
 */
async function startClusterWithAccounts(names, opts) {
  const { signup, login } = require('./chat.js');
  const c = await startCluster(opts);
  const cookies = {};
  try {
    for (const [i, name] of names.entries()) {
      await signup(c.urls[i % c.urls.length], name, `${name}-password`);
      cookies[name] = await Promise.all(c.urls.map((u) => login(u, name, `${name}-password`)));
    }
  } catch (err) {
    await c.stop();
    throw err;
  }
  return { c, cookies };
}

// deleteKeys deletes the Redis keys of a test cluster's prefix (the
// stream, the recoverable sessions, the presence).
async function deleteKeys(prefix) {
  const client = createClient({ url: redisURL() });
  client.on('error', () => {});
  try {
    await client.connect();
    for await (const key of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) await client.del(key);
  } catch { /* best effort */ } finally {
    client.disconnect().catch(() => {});
  }
}

/** The nginx binary on PATH (or in /usr/sbin), or null. */
function nginxBinary() {
  for (const dir of [...(process.env.PATH || '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    const bin = path.join(dir, 'nginx');
    try {
      fs.accessSync(bin, fs.constants.X_OK);
      return bin;
    } catch { /* not here */ }
  }
  return null;
}

/**
 * The nginx configuration of docs/deploy.md (its first ```nginx block),
 * with the upstream servers replaced by upstreams (host:port of the nodes)
 * and the listen directive by listen (host:port).
 */
function deployNginxConfig(upstreams, listen) {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');
  const m = /```nginx\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error('docs/deploy.md has no nginx block');
  let conf = m[1];
  const servers = [...conf.matchAll(/^(\s*)server (\S+)(.*);$/gm)];
  if (servers.length !== upstreams.length) {
    throw new Error(`docs/deploy.md upstream has ${servers.length} servers, want ${upstreams.length}`);
  }
  servers.forEach((s, i) => { conf = conf.replace(s[0], `${s[1]}server ${upstreams[i]}${s[3]};`); });
  if (!/^\s*listen 80;$/m.test(conf)) throw new Error('docs/deploy.md: no "listen 80;"');
  return conf.replace(/^(\s*)listen 80;$/m, `$1listen ${listen};`);
}

// freePort returns a loopback port nothing listens on right now.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs nginx (not as a daemon) with the configuration of docs/deploy.md in
 * front of upstreams, on a free loopback port, with every file in a new
 * temporary directory. `nginx -t` checks the configuration first. Resolves
 * with {url, conf, output, stop}.
 */
async function startNginx(upstreams) {
  const bin = nginxBinary();
  if (!bin) throw new Error('nginx is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-nginx-'));
  fs.chmodSync(dir, 0o755); // worker processes may run as another user
  const port = await freePort();
  const site = deployNginxConfig(upstreams, `127.0.0.1:${port}`);
  const conf = [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'worker_processes 1;',
    'events { worker_connections 256; }',
    'http {',
    '    access_log off;',
    `    client_body_temp_path ${dir}/client_body;`,
    `    proxy_temp_path ${dir}/proxy;`,
    `    fastcgi_temp_path ${dir}/fastcgi;`,
    `    uwsgi_temp_path ${dir}/uwsgi;`,
    `    scgi_temp_path ${dir}/scgi;`,
    site.replace(/^/gm, '    '),
    '}',
    '',
  ].join('\n');
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, conf);
  const args = ['-p', dir, '-c', confPath, '-e', `${dir}/error.log`];
  try {
    execFileSync(bin, [...args, '-t'], { stdio: 'pipe', timeout: 30_000 });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx -t failed: ${err.stderr}\n${conf}`);
  }
  const proc = spawn(bin, [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  let gone = false;
  exited.then(() => { gone = true; });
  const stop = async () => {
    if (!gone) {
      proc.kill('SIGTERM'); // fast shutdown of the master and its workers
      const timer = setTimeout(() => { if (!gone) proc.kill('SIGKILL'); }, 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await tcpReachable('127.0.0.1', port, 500))) {
    if (gone || Date.now() > deadline) {
      const log = fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : '';
      await stop();
      throw new Error(`nginx did not listen on ${port}: ${output}\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, conf, output: () => output, stop };
}

module.exports = {
  nginxBinary,
  deployNginxConfig,
  startNginx,
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  databaseURL,
  redisURL,
  withSearchPath,
  servicesMissing,
  requireServices,
  uniqueName,
  startCluster,
  startClusterWithAccounts,
};
