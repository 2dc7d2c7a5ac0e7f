// cargo xtask bench-fetch, browser side:
//   node fetch.mjs PAGE_URL FHIR_BASE PATIENT STUDY SAMPLES PROFILE_DIR LONG_PATIENT LONG_STUDY CONCURRENCY [CPU_PROFILE]
//   → one JSON line on stdout. With CPU_PROFILE, one more open of the long study runs under
//   Chromium's sampling profiler: the profile is written there (open it in DevTools) and the
//   functions with the most self time are printed on stderr.
// A persistent Chromium profile keeps IndexedDB on disk as for a user; the page is reloaded
// between the cold load and the IndexedDB loads, so nothing is left in wasm memory.
import { createRequire } from 'node:module';
import { rmSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const [url, fhir, patient, study, samplesArg, profile, longPatient, longStudy, concurrency, cpuProfile] = process.argv.slice(2);
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
/** The 30 functions with the most self time in a CDP CPU profile, and the share of each. */
function printSelfTimes(cpu, openMs) {
  const byNode = new Map(cpu.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = cpu.timeDeltas;
  for (let i = 0; i < cpu.samples.length; i++) {
    const frame = byNode.get(cpu.samples[i]).callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}`;
    self.set(name, (self.get(name) ?? 0) + (deltas[i + 1] ?? 0) / 1000);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  process.stderr.write(`profiled open: ${openMs.toFixed(1)} ms to all slices; ${total.toFixed(1)} ms sampled\n`);
  for (const [name, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    process.stderr.write(`${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${name}\n`);
  }
}

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
  // The same series opened again after a reload: everything from IndexedDB.
  const reopen = [];
  for (let i = 0; i < samples; i++) {
    await fresh();
    reopen.push(await run(() => open[0].partition, 'runOpen', longPatient, longStudy));
  }
  if (cpuProfile) {
    await fresh();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
    const profiled = await run((attempt) => `bench-profile-${attempt}`, 'runOpen', longPatient, longStudy);
    const { profile: cpu } = await cdp.send('Profiler.stop');
    writeFileSync(cpuProfile, JSON.stringify(cpu));
    printSelfTimes(cpu, profiled.allMs);
  }
  const plain = [];
  for (let i = 0; i < samples; i++) {
    await fresh();
    plain.push(await page.evaluate((n) => window.runPlainFetch(n), Number(concurrency)));
  }
  const medianOf = (key) => median(plain.map((p) => ({ ...p, ms: p[key] })));
  const openMedian = {
    ...median(open.map((o) => ({ ...o, ms: o.allMs }))),
    firstMs: median(open.map((o) => ({ ms: o.firstMs }))).ms,
    firstRequestMs: median(open.map((o) => ({ ms: o.firstRequestMs }))).ms,
    firstResponseMs: median(open.map((o) => ({ ms: o.firstResponseMs }))).ms,
    reopenMs: median(reopen.map((o) => ({ ms: o.allMs }))).ms,
    reopenFirstMs: median(reopen.map((o) => ({ ms: o.firstMs }))).ms,
    ...(({ plainMs, plainBytes }) => ({ plainMs, plainBytes }))(medianOf('plainMs')),
    plainSeriesMs: medianOf('plainSeriesMs').plainSeriesMs,
    plainSeriesBytes: medianOf('plainSeriesMs').plainSeriesBytes,
  };
  const idb = [];
  for (let i = 0; i < samples; i++) {
    await fresh();
    const read = await page.evaluate((p) => window.runIdbRead(p), cold.partition);
    idb.push({ ms: read.idbMs, bytes: read.idbBytes });
  }
  process.stdout.write(
    JSON.stringify({ cold, warm: median(warm), idb: median(idb), network: median(network), open: openMedian, retries }) + '\n',
  );
} finally {
  await context.close();
}
