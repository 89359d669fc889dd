// A switchable TCP proxy for the cluster tests: clients connect to the
// proxy's fixed URL, which forwards every new connection to its current
// target (a chatd node), as a load balancer in front of a cluster does.
// Switching the target and dropping the connections moves the clients to
// another node, or to a node restarted on a new port.
'use strict';

const net = require('node:net');

/**
 * Starts a proxy on a free loopback port forwarding to target (an
 * http://HOST:PORT URL). Resolves with {url, setTarget(url), drop(),
 * connections(), stop()}: drop() cuts every open connection (both sides,
 * as a lost network would); stop() drops them and closes the listener.
 */
function startProxy(target) {
  let to = new URL(target);
  const open = new Set();
  const server = net.createServer((down) => {
    const up = net.connect({ host: to.hostname, port: Number(to.port) });
    const pair = { down, up };
    open.add(pair);
    const end = () => {
      open.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('error', end);
    up.on('error', end);
    down.on('close', end);
    up.on('close', end);
    down.pipe(up);
    up.pipe(down);
  });
  const drop = () => {
    for (const { down, up } of [...open]) {
      down.destroy();
      up.destroy();
    }
    open.clear();
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        setTarget(url) { to = new URL(url); },
        target() { return to.origin; },
        drop,
        connections() { return open.size; },
        stop() {
          drop();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}

module.exports = { startProxy };
