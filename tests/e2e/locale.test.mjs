// The UI's language in Chromium against the real Orthanc + Helios FHIR Server: a page whose
// `<html lang="de">` gets a German widget with no English string left (every English string of
// the strings table that German words differently is looked for in the text, the labels and
// the titles), German dates and decimals; the `lang` option wins over the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifacts, ctOf, launch, loadManifest, newPage, requireEnv } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** `key: "value"` of one `pub static NAME: Strings = Strings { … };` table of the Rust source. */
function table(name) {
  const source = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/view/strings.rs'), 'utf8');
  const start = source.indexOf(`pub static ${name}: Strings = Strings {`);
  assert.ok(start >= 0, `table ${name}`);
  const body = source.slice(start, source.indexOf('\n};', start));
  return Object.fromEntries([...body.matchAll(/^ {4}(\w+): "((?:[^"\\]|\\.)*)",$/gm)].map((m) => [m[1], m[2]]));
}

/** Everything of the widget a user reads or hears: its text, and its labels and titles. */
const readable = (page, root) => page.evaluate((selector) => {
  const el = document.querySelector(selector);
  const attributes = [...el.querySelectorAll('[aria-label],[title],[placeholder]')]
    .flatMap((e) => ['aria-label', 'title', 'placeholder'].map((a) => e.getAttribute(a)).filter(Boolean));
  return [el.innerText, ...attributes].join('\n');
}, root);

test('German: no English string, German dates and decimals; the lang option wins over the page', async () => {
  const [en, de] = [table('EN'), table('DE')];
  assert.equal(Object.keys(de).length, Object.keys(en).length, 'German has every string');
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const { patient, study } = ctOf(manifest);
  // The CT's prior, compared beside it: the list's mark and the second viewport's header too.
  const prior = patient.studies.find((s) => s.uid !== study.uid && s.series[0]?.modality === 'CT');
  assert.ok(prior, 'the CT has a prior');
  const { page, problems } = await newPage(browser);
  await page.goto(`${requireEnv('E2E_PROXY_URL')}/examples/README.md`);
  await page.evaluate(async ({ patientId, studyUid, priorUid }) => {
    document.documentElement.lang = 'de-DE';
    document.body.innerHTML = '<div id="de" style="height:600px"></div><div id="en" style="height:600px"></div>';
    const { EMRImagingComponent } = await import('/pkg/index.js');
    const shown = (viewer) => new Promise((resolve) => viewer.on('image-displayed', resolve));
    const german = new EMRImagingComponent({ fhirBaseUrl: '/fhir', token: 'e2e-locale' });
    german.mount(document.getElementById('de'));
    const english = new EMRImagingComponent({ fhirBaseUrl: '/fhir', token: 'e2e-locale', lang: 'en' });
    english.mount(document.getElementById('en'));
    const both = [shown(german), shown(english)];
    await german.loadPatientImages(patientId);
    await english.loadPatientImages(patientId);
    await german.openStudy(studyUid);
    await english.openStudy(studyUid);
    await Promise.all(both);
    await german.compare(priorUid);
    window.viewers = { german, english };
  }, { patientId: patient.fhir_id, studyUid: study.uid, priorUid: prior.uid });

  await page.locator('#de [data-testid=prior-pane]').waitFor();
  const text = await readable(page, '#de');
  for (const key of ['comparable', 'compare', 'prior', 'link_window', 'close_comparison']) {
    assert.ok(text.includes(de[key]), `German ${key}: ${de[key]}`);
  }
  // English strings that German words differently, long enough to be words of their own
  // ("Im", "To" would match inside German sentences).
  const english = Object.entries(en).filter(([k, v]) => v !== de[k] && v.length >= 3);
  assert.ok(english.length > 60, `${english.length} strings to look for`);
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const found = english.filter(([, v]) => new RegExp(`(^|[^\\p{L}])${escape(v)}($|[^\\p{L}.])`, 'u').test(text));
  assert.deepEqual(found, [], `English in the German UI:\n${text}`);
  console.log(`German UI: ${english.length} English strings looked for, none found`);
  // Dates and numbers as German writes them.
  const [y, m, d] = patient.birth_date.split('-');
  assert.ok(text.includes(`${de.born} ${d}.${m}.${y}`), `birth date: ${text}`);
  assert.match(text, new RegExp(`${escape(de.zoom)} \\d+ %`), 'zoom as "95 %"');
  assert.match(text, /Pos\. -?\d+(,\d)? mm/, 'slice position with a decimal comma');
  const sd = `${study.date.slice(6, 8)}.${study.date.slice(4, 6)}.${study.date.slice(0, 4)}`;
  assert.ok(text.includes(sd), `study date ${sd}`);
  await page.locator('#de').screenshot({ path: path.join(artifacts, 'locale-de.png') });

  // The option wins over the page: the second widget is English.
  const englishText = await readable(page, '#en');
  assert.ok(englishText.includes(`${en.born} ${patient.birth_date}`), englishText);
  assert.ok(englishText.includes(en.tool_length) && !englishText.includes(de.tool_length));
  assert.deepEqual(problems, []);
  await page.close();
});
