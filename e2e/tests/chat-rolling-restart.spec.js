// The chat page through a rolling restart of a two-node chatd cluster
// (Redis Streams adapter, PostgreSQL): each page reaches the cluster
// through a switchable proxy, as behind a load balancer. Node A restarts
// (SIGTERM, started again) while its page goes to node B, then node B
// while its page goes to node A: each page resumes its session (no
// history reload: a mark on a shown message stays) and shows the messages
// posted during the restart. Skipped without PostgreSQL and Redis, unless
// CI is set (then it fails).
const { test, expect } = require('@playwright/test');
const cluster = require('../lib/cluster.js');
const { startProxy } = require('../lib/proxy.js');
const { T, newUserPage, say, texts, noProblems } = require('./ui.js');

test.describe('chatd UI, a rolling restart of the cluster', () => {
  let c;
  const proxies = [];
  let missing = null;

  test.beforeAll(async () => {
    missing = await cluster.servicesMissing();
    if (missing) {
      if (process.env.CI) throw new Error(missing);
      return;
    }
    c = await cluster.startCluster({ args: ['-msg-rate', '0'] });
    proxies.push(await startProxy(c.urls[0]), await startProxy(c.urls[1]));
  });
  test.afterAll(async () => {
    for (const p of proxies) await p.stop();
    if (c) await c.stop();
  });

  // restart stops node i while its proxy leads to the other node, then
  // starts it again and points the proxy back at it; during resumes once
  // the node is stopped.
  async function restart(i, during) {
    const p = proxies[i];
    p.setTarget(c.urls[1 - i]);
    await c.stopNode(i);
    await during();
    await c.startNode(i);
    p.setTarget(c.urls[i]);
  }

  // kept marks the last message shown on page: a history reload would
  // draw it anew, without the mark.
  const keep = (page) => page.locator(T('message')).last().evaluate((el) => { el.dataset.kept = 'yes'; });

  test('pages resume across the restart of their node, nothing reloaded, nothing missed', async ({ browser }) => {
    test.skip(!!missing, missing || '');
    test.setTimeout(60_000);
    const [pA, pB] = proxies;
    const ann = await newUserPage(browser, pA.url, 'ann'); // on node A
    const ben = await newUserPage(browser, pB.url, 'ben'); // on node B

    await say(ann, 'before the restarts');
    await expect(ben.locator(T('message-text')).filter({ hasText: 'before the restarts' })).toBeVisible();
    await keep(ann);
    await keep(ben);

    // Node A restarts: ann's page goes to node B, and hears ben meanwhile.
    await restart(0, async () => {
      await say(ben, 'while node A restarts');
    });
    await expect(ann.locator(T('conn-status'))).toHaveAttribute('data-state', 'connected', { timeout: 15_000 });
    await expect(ann.locator(T('message-text')).filter({ hasText: 'while node A restarts' })).toBeVisible();
    await expect(ann.locator('[data-kept="yes"]')).toHaveCount(1);
    await expect(ann.locator(T('message-input'))).toBeEnabled();

    // Node B restarts: both pages are on it now and go to node A.
    await restart(1, async () => {
      await expect(ann.locator(T('conn-status'))).toHaveAttribute('data-state', 'connected', { timeout: 15_000 });
      await say(ann, 'while node B restarts');
    });
    for (const page of [ann, ben]) {
      await expect(page.locator(T('conn-status'))).toHaveAttribute('data-state', 'connected', { timeout: 15_000 });
      await expect(page.locator(T('message-text')).filter({ hasText: 'while node B restarts' })).toBeVisible();
      await expect(page.locator('[data-kept="yes"]')).toHaveCount(1);
    }
    await say(ben, 'after the restarts');
    await expect(ann.locator(T('message-text')).filter({ hasText: 'after the restarts' })).toBeVisible();
    const want = ['before the restarts', 'while node A restarts', 'while node B restarts', 'after the restarts'];
    expect(await texts(ann)).toEqual(want);
    expect(await texts(ben)).toEqual(want);
    noProblems(ann, ben);
  });
});
