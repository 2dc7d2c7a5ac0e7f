// cargo xtask bench-fetch, browser side:
//   node fetch.mjs PAGE_URL FHIR_BASE PATIENT STUDY SAMPLES PROFILE_DIR LONG_PATIENT LONG_STUDY
//   → one JSON line on stdout.
// A persistent Chromium profile keeps IndexedDB on disk as for a user; the page is reloaded
// between the cold load and the IndexedDB loads, so nothing is left in wasm memory.
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const [url, fhir, patient, study, samplesArg, profile, longPatient, longStudy] = process.argv.slice(2);
const samples = Math.max(1, Number(samplesArg) || 3);

rmSync(profile, { recursive: true, force: true });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const median = (runs) => {
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  return sorted[Math.floor(sorted.length / 2)];
};
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e}\n`));
  page.on('console', (m) => process.stderr.write(`console: ${m.text()}\n`));
  const fresh = async () => {
    await page.goto(url);
    await page.waitForFunction(() => window.benchReady === true);
  };
  // A run whose request stalled (see bench_fetch.rs) is repeated on a fresh page, and counted.
  // `partition(attempt)` names the IndexedDB partition of each attempt, so a repeated cold run
  // starts from an empty cache again.
  let retries = 0;
  const run = async (partition, fn = 'runFetch', who = patient, what = study) => {
    for (let attempt = 1; ; attempt++) {
      const part = partition(attempt);
      try {
        const result = await page.evaluate(([fn, f, p, s, pa]) => window[fn](f, p, s, pa), [fn, fhir, who, what, part]);
        return { ...result, partition: part };
      } catch (e) {
        if (attempt >= 3 || !String(e).includes('did not answer within')) throw e;
        retries += 1;
        process.stderr.write(`retrying after a stalled request: ${String(e).split('\n')[0]}\n`);
        await fresh();
      }
    }
  };
  const network = [];
  for (let i = 0; i < samples; i++) {
    await fresh();
    network.push(await run(() => ''));
  }
  await fresh();
  const cold = await run((attempt) => `bench-cold-${attempt}`);
  const warm = [];
  for (let i = 0; i < samples; i++) {
    await fresh();
    warm.push(await run(() => cold.partition));
  }
  // The long CT opened in a session, cold: a new IndexedDB partition each time.
  const open = [];
  for (let i = 0; i < samples; i++) {
    await fresh();
    open.push(await run((attempt) => `bench-open-${i}-${attempt}`, 'runOpen', longPatient, longStudy));
  }
  const openMedian = { ...median(open.map((o) => ({ ...o, ms: o.allMs }))), firstMs: median(open.map((o) => ({ ms: o.firstMs }))).ms };
  process.stdout.write(JSON.stringify({ cold, warm: median(warm), network: median(network), open: openMedian, retries }) + '\n');
} finally {
  await context.close();
}
