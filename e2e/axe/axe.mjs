// axe.mjs runs axe-core (WCAG 2.0 A and AA, WCAG 2.1 AA) over the staff console's
// pages in the system chromium and prints what it finds as JSON on stdout.
//
//   node axe.mjs --base http://127.0.0.1:8080 \
//     --cookie director=<dimos_staff of a director> --cookie admin=<dimos_staff of an admin> \
//     --case 2026-000001 --query λακκουβα \
//     --param service=1 --param employee=3 --param category=roads --param template=1
//
// Every page is checked as the role that works on it; the sign-in page as a visitor.
// A page that does not answer 200 at its own address (a session that did not take,
// a redirect to sign in) is an error, exit status 2, so that a wrong cookie cannot
// pass as a clean run. Exit status 0 means the pages were checked, whatever axe found:
// the caller (cmd/dimos/axe_test.go) decides which impacts fail.
import puppeteer from 'puppeteer-core';
import { AxePuppeteer } from '@axe-core/puppeteer';
import { parseArgs } from 'node:util';

// PAGES is every page checked, in one place: add a page here when the console grows.
// {case}, {query} and each --param name ({service}, {employee}, {category},
// {template}) are filled in from the command line.
export const PAGES = [
  { path: '/console/signin', as: null },
  { path: '/console/inbox', as: 'director' },
  { path: '/console/cases/{case}', as: 'director' },
  { path: '/console/search?q={query}', as: 'director' },
  { path: '/console/map', as: 'director' },
  { path: '/console/reports', as: 'director' },
  { path: '/console/desk?q={query}', as: 'admin' },
  { path: '/console/admin/api-keys', as: 'admin' },
  { path: '/console/admin/audit', as: 'admin' },
  { path: '/console/admin/services', as: 'admin' },
  { path: '/console/admin/services/new', as: 'admin' },
  { path: '/console/admin/services/{service}', as: 'admin' },
  { path: '/console/admin/employees', as: 'admin' },
  { path: '/console/admin/employees/new', as: 'admin' },
  { path: '/console/admin/employees/{employee}', as: 'admin' },
  { path: '/console/admin/categories', as: 'admin' },
  { path: '/console/admin/categories/new', as: 'admin' },
  { path: '/console/admin/categories/{category}', as: 'admin' },
  { path: '/console/admin/templates/{template}', as: 'admin' },
];

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21aa'];
const COOKIE = 'dimos_staff';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    cookie: { type: 'string', multiple: true, default: [] },
    case: { type: 'string', default: '' },
    query: { type: 'string', default: '' },
    param: { type: 'string', multiple: true, default: [] },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
if (!values.base) {
  console.error('usage: node axe.mjs --base URL --cookie ROLE=VALUE ... [--case NUMBER] [--query WORDS]');
  process.exit(2);
}
const base = new URL(values.base);
const pairs = (list) => Object.fromEntries(list.map((c) => {
  const i = c.indexOf('=');
  return [c.slice(0, i), c.slice(i + 1)];
}));
const cookies = pairs(values.cookie);
const params = { ...pairs(values.param), case: values.case, query: values.query };

const browser = await puppeteer.launch({
  executablePath: values.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = [];
let failed = false;
try {
  for (const p of PAGES) {
    // A placeholder nobody filled is an error, not a page checked at a wrong address.
    const missing = [...p.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).filter((name) => !params[name]);
    const path = p.path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params[name] || ''));
    const url = new URL(path, base).href;
    // A fresh browser context per page: no cookie of one role leaks into the next.
    const context = await browser.createBrowserContext();
    try {
      if (missing.length) throw new Error(`no --param ${missing[0]}=… for ${p.path}`);
      const page = await context.newPage();
      if (p.as) {
        if (!cookies[p.as]) throw new Error(`no --cookie ${p.as}=… for ${p.path}`);
        await context.setCookie({ name: COOKIE, value: cookies[p.as], domain: base.hostname, path: '/console' });
      }
      const resp = await page.goto(url, { waitUntil: 'load' });
      if (!resp || resp.status() !== 200 || page.url() !== url) {
        throw new Error(`${url}: status ${resp && resp.status()}, ended at ${page.url()}`);
      }
      const r = await new AxePuppeteer(page).withTags(TAGS).analyze();
      results.push({
        path, as: p.as,
        violations: r.violations.map((v) => ({
          id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
          nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
        })),
        passes: r.passes.length,
      });
    } catch (err) {
      failed = true;
      results.push({ path, as: p.as, error: String(err && err.message || err) });
    } finally {
      await context.close();
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify({ tags: TAGS, pages: results }, null, 2) + '\n');
process.exit(failed ? 2 : 0);
