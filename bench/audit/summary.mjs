// Prints the table of `make audit` from Lighthouse's JSON reports: per page the median of
// its runs for each figure. Usage: node summary.mjs DIR name|path ...
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [dir, ...pages] = process.argv.slice(2);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function figures(lhr) {
  const requests = lhr.audits["network-requests"]?.details?.items ?? [];
  const wasm = requests.filter((r) => r.url.endsWith(".wasm"));
  const score = (k) => Math.round((lhr.categories[k]?.score ?? 0) * 100);
  return {
    performance: score("performance"),
    accessibility: score("accessibility"),
    practices: score("best-practices"),
    seo: score("seo"),
    lcp: lhr.audits["largest-contentful-paint"].numericValue,
    tbt: lhr.audits["total-blocking-time"].numericValue,
    wasm: wasm.reduce((n, r) => n + (r.transferSize ?? 0), 0),
    noindex: /noindex/.test(JSON.stringify(lhr.audits["is-crawlable"]?.details ?? "")),
  };
}

const rows = [];
for (const page of pages) {
  const [name, path] = page.split("|");
  const runs = readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith(".json"))
    .map((f) => figures(JSON.parse(readFileSync(join(dir, f), "utf8"))));
  if (!runs.length) continue;
  const m = (k) => median(runs.map((r) => r[k]));
  rows.push([
    name,
    path.length > 28 ? `${path.slice(0, 27)}…` : path,
    m("performance"),
    m("accessibility"),
    m("practices"),
    runs[0].noindex ? `${m("seo")} (noindex)` : m("seo"),
    `${(m("lcp") / 1000).toFixed(2)} s`,
    `${Math.round(m("tbt"))} ms`,
    `${Math.round(m("wasm") / 1024)} KB`,
  ]);
}
const head = ["page", "path", "perf", "a11y", "best pr.", "SEO", "LCP", "TBT", "wasm (sent)"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ").trimEnd();
console.log(`\nLighthouse 12.2.3, mobile emulation; each figure the median of a page's runs (reports in ${dir})`);
console.log(line(head));
console.log(line(widths.map((w) => "-".repeat(w))));
for (const r of rows) console.log(line(r));
