// Starts a server binary of this repository for a test and stops it again.
//
// Every server program of chatd prints `listening on http://HOST:PORT` (on
// stdout or stderr) once its socket accepts connections. startServer runs
// bin/<binName> (built by `make build`), listening on a free loopback port
// unless the arguments choose an address, and resolves with that URL.
'use strict';

const { spawn } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

/** Repository root (this file is e2e/lib/server.js). */
const ROOT = path.resolve(__dirname, '..', '..');

const LISTENING = /listening on (http:\/\/[^\s"]+)/;
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

// Servers still running; killed if the test process exits without stopping
// them, so no server outlives its test run.
const running = new Set();
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

/**
 * Spawns bin/<binName> and waits until it prints its listening URL.
 *
 * @param {string} binName   program in bin/, e.g. 'chatd'
 * @param {string[]} [args]  arguments; `-addr 127.0.0.1:0` is appended
 *                           unless they contain -addr / --addr already
 * @param {Record<string,string>} [env]  extra environment variables
 * @returns {Promise<{url: string, proc: import('node:child_process').ChildProcess,
 *                    output: () => string, stop: () => Promise<void>}>}
 */
function startServer(binName, args = [], env = {}) {
  const bin = path.join(ROOT, 'bin', binName);
  if (!fs.existsSync(bin)) {
    return Promise.reject(new Error(`${bin} does not exist: run \`make build\` first`));
  }
  const hasAddr = args.some((a) => /^--?addr(=|$)/.test(a));
  const argv = hasAddr ? [...args] : [...args, '-addr', '127.0.0.1:0'];
  const proc = spawn(bin, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  running.add(proc);
  let output = '';
  let exited = null; // {code, signal} once the process is gone
  const exitPromise = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      exited = { code, signal };
      resolve(exited);
    });
  });

  const stop = async () => {
    if (exited === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (exited === null) proc.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await exitPromise;
      clearTimeout(timer);
    }
    proc.stdout.destroy();
    proc.stderr.destroy();
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop().then(() => reject(err), () => reject(err));
    };
    const timer = setTimeout(
      () => fail(new Error(`${binName} did not print "listening on" within ${START_TIMEOUT_MS} ms; output:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk) => {
      output += chunk.toString();
      if (settled) return;
      const m = LISTENING.exec(output);
      if (m) {
        settled = true;
        clearTimeout(timer);
        resolve({ url: m[1], proc, output: () => output, stop });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('error', (err) => fail(err));
    exitPromise.then(({ code, signal }) =>
      fail(new Error(`${binName} exited (code ${code}, signal ${signal}) before listening; output:\n${output}`)));
  });
}

module.exports = { startServer, ROOT };
