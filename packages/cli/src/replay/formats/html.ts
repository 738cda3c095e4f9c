import { type Action, insertedEntryText } from "@guardrail/core/runtime";
import { type Aggregate, mainRule, topActors } from "../aggregate";
import type { ReplayLine } from "../record";
import { describeAction } from "./csv";
import { fmt } from "./table";

export interface ReportMeta {
  readonly generatedAt: Date;
  readonly inputs: readonly string[];
  readonly policySource: string;
  readonly policyId: string;
  /** Human-readable filters (`--since 2025-03-01`), empty when none. */
  readonly filters: readonly string[];
  /** Violation and exempt events not listed because of the detail cap. */
  readonly omittedDetails: number;
  /**
   * The policy's rule ids in policy order: each keeps its colour from one report to the next
   * (the n-th rule of the policy is always the n-th colour), whatever the data.
   */
  readonly rules: readonly string[];
}

/** Most violation rows the report lists; the JSON or CSV output has them all. */
export const MAX_DETAIL_ROWS = 20_000;
/**
 * Past this many violation rows the list is folded: one line per resource (opened on a click)
 * and pages of {@link GROUPS_PER_PAGE} resources, so the page stays a few screens long.
 */
export const COLLAPSE_AFTER_ROWS = 300;
export const GROUPS_PER_PAGE = 50;

const esc = (s: string | number | null | undefined) =>
  String(s ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");

/** Colour-blind-safe categorical palette (Okabe–Ito, then Tableau). */
const PALETTE = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#8C564B",
  "#7F7F7F",
  "#BCBD22",
  "#17BECF",
];

const SEVERITY_ORDER: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/**
 * A colour per rule that does not depend on the data: the policy's n-th rule gets the n-th colour;
 * a rule id the policy does not list (none should) gets one from a hash of its name.
 */
export function ruleColour(rule: string, policyRules: readonly string[]): string {
  const i = policyRules.indexOf(rule);
  if (i >= 0) return PALETTE[i % PALETTE.length]!;
  let h = 0;
  for (const c of rule) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

function daysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  const d = new Date(`${first}T00:00:00Z`);
  const end = new Date(`${last}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || Number.isNaN(end.getTime())) return [];
  while (d <= end && out.length < 3660) {
    out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

function niceMax(n: number): { max: number; step: number } {
  if (n <= 0) return { max: 4, step: 1 };
  const raw = n / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const s = Math.max(1, step);
  return { max: Math.ceil(n / s) * s, step: s };
}

/** Stacked bars of violation events per day, one colour per rule. Pure SVG: no script, no fonts. */
export function violationChart(a: Aggregate, colours: Map<string, string>): string {
  const known = Object.keys(a.byDay)
    .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))
    .sort();
  if (known.length === 0) {
    return `<p class="empty">No violations in the period: nothing to chart.</p>`;
  }
  const days = daysBetween(known[0]!, known[known.length - 1]!);
  const rules = [...colours.keys()].filter((r) => known.some((d) => (a.byDay[d]?.[r] ?? 0) > 0));
  const totals = days.map((d) => Object.values(a.byDay[d] ?? {}).reduce((s, n) => s + n, 0));
  const { max, step } = niceMax(Math.max(...totals));
  const W = 960;
  const H = 300;
  const left = 48;
  const right = 12;
  const top = 12;
  const bottom = 40;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const slot = plotW / days.length;
  const barW = Math.max(1, Math.min(48, slot * 0.72));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (let v = 0; v <= max; v += step) {
    parts.push(
      `<line class="grid" x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`,
      `<text class="tick" x="${left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  const labelEvery = Math.max(1, Math.ceil(days.length / 14));
  days.forEach((day, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    let acc = 0;
    for (const rule of rules) {
      const n = a.byDay[day]?.[rule] ?? 0;
      if (n === 0) continue;
      const y1 = y(acc + n);
      const h = y(acc) - y1;
      parts.push(
        `<rect class="bar" data-day="${day}" data-rule="${esc(rule)}" data-count="${n}" x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${colours.get(rule)}"><title>${day} · ${esc(rule)}: ${fmt(n)}</title></rect>`,
      );
      acc += n;
    }
    if (i % labelEvery === 0) {
      const date = new Date(`${day}T00:00:00Z`);
      // The year too: a trail often spans a new year, and a printed report outlives its context.
      const label = date.toLocaleDateString("en-GB", {
        day: "numeric",
        month: "short",
        year: "numeric",
        timeZone: "UTC",
      });
      parts.push(
        `<text class="tick" x="${(left + i * slot + slot / 2).toFixed(1)}" y="${H - bottom + 18}" text-anchor="middle">${label}</text>`,
      );
    }
  });
  parts.push(`<line class="axis" x1="${left}" x2="${W - right}" y1="${y(0)}" y2="${y(0)}"/>`);
  const legend = rules
    .map(
      (r) =>
        `<span class="key"><span class="swatch" style="background:${colours.get(r)}"></span>${esc(r)}</span>`,
    )
    .join("");
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Violations per day by rule">${parts.join("")}</svg><div class="legend">${legend}</div>`;
}

function table(
  cls: string,
  headers: readonly (string | [string, "num"])[],
  rows: readonly string[][],
): string {
  const th = headers
    .map((h) => (Array.isArray(h) ? `<th class="num">${esc(h[0])}</th>` : `<th>${esc(h)}</th>`))
    .join("");
  const numeric = headers.map((h) => Array.isArray(h));
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (numeric[i] ? `<td class="num">${c}</td>` : `<td>${c}</td>`)).join("")}</tr>`,
    )
    .join("\n");
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function severityBadge(sev: string): string {
  return `<span class="sev sev-${esc(sev)}">${esc(sev)}</span>`;
}

function when(iso: string | null): string {
  if (!iso) return "";
  return `${esc(iso.slice(0, 10))} <span class="muted">${esc(iso.slice(11, 19))}</span>`;
}

/**
 * The account field of an IAM or STS principal ARN: a reading of a recorded actor's ARN for
 * display, not a check (unlike `AWS_PATTERNS`, any other ARN simply has no account here).
 */
const PRINCIPAL_ARN_ACCOUNT = /^arn:aws[\w-]*:(?:sts|iam)::(\d{12}):/;

/** The account in a principal ARN (`arn:aws:iam::111122223333:user/x`), if any. */
export function accountOf(arn: string | null): string | null {
  return arn ? (PRINCIPAL_ARN_ACCOUNT.exec(arn)?.[1] ?? null) : null;
}

/** The short name of a principal ARN: `assumed-role/Admin/alice` → `Admin/alice`. */
export function shortActor(arn: string | null): string {
  if (!arn) return "unknown";
  // Every partition: aws, aws-cn, aws-us-gov.
  const m = /^arn:aws[a-z-]*:(?:sts|iam)::\d*:(.*)$/.exec(arn);
  if (!m) return arn;
  return m[1]!
    .replace(/^assumed-role\//, "")
    .replace(/^user\//, "user ")
    .replace(/^root$/, "root");
}

/** Escaped, with line-break opportunities after `/` and before `@` (long principal names). */
function breakable(s: string): string {
  return esc(s).replaceAll("/", "/<wbr>").replaceAll("@", "<wbr>@");
}

/** One remediation in words, ids in code: "rule sgr-1 of sg-1 (ingress)". */
function humanAction(a: Action): string {
  const c = (s: string) => `<code>${esc(s)}</code>`;
  switch (a.type) {
    case "revoke-security-group-rules":
      return `${a.ruleIds.length === 1 ? "rule" : "rules"} ${a.ruleIds.map(c).join(", ")} of ${c(a.groupId)}${a.direction ? ` (${a.direction})` : ""}`;
    case "revoke-security-group-permissions":
      return `${esc(describeAction(a).replace(/^revoke \S+ \S+ /, ""))} on ${c(a.groupId)} (${a.direction})`;
    case "delete-network-acl-entry":
      return `entry #${a.ruleNumber} (${a.egress ? "egress" : "ingress"}) of ${c(a.networkAclId)}`;
    case "insert-network-acl-entries":
      return `insert ${a.entries.map((e) => c(insertedEntryText(e))).join(", ")} before entry #${a.before} (${a.egress ? "egress" : "ingress"}) of ${c(a.networkAclId)}<div class="small muted">${esc(a.check)}</div>`;
    case "narrow-security-group-rule":
      return `narrow rule ${c(a.ruleId)} of ${c(a.groupId)} (${a.direction}) to ${esc(describeAction(a).replace(/^narrow \S+ \S+ \S+ to /, ""))}<div class="small muted">${esc(a.check)}</div>`;
  }
}

function verdict(l: ReplayLine): string {
  if (l.outcome === "exempt") {
    const ex = l.findings.find((f) => f.exemption)?.exemption;
    const until = ex?.expires ? ` until ${ex.expires}` : "";
    return `<span class="pill pill-exempt">exempt</span><div class="small muted">${esc(ex ? `${ex.kind}: ${ex.reason}${until}` : "")}</div>`;
  }
  if (l.actions.length > 0) {
    return `<span class="pill pill-enforce">would revoke</span>${l.actions.map((a) => `<div class="small">${humanAction(a)}</div>`).join("")}`;
  }
  return `<span class="pill pill-notify">notify only</span><div class="small muted">a person decides</div>`;
}

const CSS = `
:root{--ink:#1d2530;--muted:#5f6b7a;--line:#e3e7ed;--bg:#f6f8fa;--card:#fff;--accent:#0b5cad;--bad:#b42318;--warn:#b54708;--ok:#067647}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{background:#0f2741;color:#fff;padding:28px 40px 24px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600;letter-spacing:.2px}
header p{margin:0;color:#c5d3e3}
main{max-width:1320px;margin:0 auto;padding:24px 40px 48px}
h2{font-size:16px;margin:0 0 12px;font-weight:600}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:20px 24px;margin:0 0 20px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin:0 0 20px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.kpi .v{font-size:26px;font-weight:650;line-height:1.2}
.kpi .l{color:var(--muted);font-size:12.5px}
.kpi.bad .v{color:var(--bad)}.kpi.warn .v{color:var(--warn)}.kpi.ok .v{color:var(--ok)}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:20px;align-items:start}
.cols section{margin:0 0 20px}
@media (max-width:900px){.cols{grid-template-columns:1fr}}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.3px;border-bottom:2px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
tbody tr:nth-child(even){background:#fafbfc}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.muted{color:var(--muted)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f6;padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
.chart{width:100%;height:auto;display:block}
.chart .grid{stroke:#edf0f3}.chart .axis{stroke:#9aa5b1}
.chart .tick{font-size:11px;fill:#5f6b7a}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin-top:8px;font-size:12.5px}
.key{display:inline-flex;align-items:center;gap:6px}
.swatch{width:12px;height:12px;border-radius:2px;display:inline-block}
.sev{display:inline-block;border-radius:10px;padding:0 8px;font-size:11.5px;font-weight:600;text-transform:uppercase}
.sev-critical{background:#fee4e2;color:#912018}.sev-high{background:#ffead5;color:#93370d}
.sev-medium{background:#fef7c3;color:#854a0e}.sev-low{background:#e0f2fe;color:#075985}
.pill{display:inline-block;border-radius:4px;padding:0 6px;font-size:11.5px;font-weight:600;white-space:nowrap}
.pill-enforce{background:#fee4e2;color:#912018}.pill-notify{background:#fef0c7;color:#93370d}.pill-exempt{background:#e6f4ea;color:#05603a}
.empty{color:var(--muted);margin:0}
.banner{background:#fffaeb;border:1px solid #fedf89;color:#93370d;border-radius:8px;padding:10px 16px;margin:0 0 20px}
.banner a{color:inherit}
.chip{display:inline-block;background:#f1f3f6;border-radius:10px;padding:0 8px;margin:1px 0;font-size:12px;white-space:nowrap}
.who{font-weight:600}
.actors td:nth-child(5){white-space:nowrap}
.detail td:nth-child(1),.nowrap,.rules td:first-child{white-space:nowrap}
.detail td:nth-child(3){min-width:150px;max-width:200px}
.detail td:nth-child(4){font-size:12.5px}
.detail td:nth-child(7){min-width:200px}
#violations{overflow-x:auto}
.group-head th{background:#f1f5fb;text-transform:none;letter-spacing:0;font-size:12.5px;color:var(--ink);border-bottom:1px solid var(--line)}
details.group{border-bottom:1px solid var(--line);padding:6px 0}
details.group summary{cursor:pointer;font-size:13px}
details.group[open] summary{margin-bottom:6px}
.paged>input{position:absolute;opacity:0;pointer-events:none}
.pager{margin:0 0 10px;font-size:12.5px;color:var(--muted)}
.pager label{display:inline-block;min-width:24px;text-align:center;border:1px solid var(--line);border-radius:4px;padding:0 4px;margin:2px 0;cursor:pointer;color:var(--ink)}
.page{display:none}
.small{font-size:12.5px;margin-top:3px}
.small code{font-size:11.5px}
.note{color:var(--muted);font-size:12.5px;margin:10px 0 0}
footer{color:var(--muted);font-size:12px;text-align:center;padding:0 0 32px}
@media print{.page{display:block}.pager{display:none}body{background:#fff}header{background:#fff;color:var(--ink);border-bottom:2px solid var(--ink)}header p{color:var(--muted)}section,.kpi{break-inside:avoid}}
`;

const DETAIL_HEADERS = [
  "when (UTC)",
  "account",
  "actor",
  "change",
  "rule",
  "what was opened",
  "guardrail",
];

/** The violations of one resource, in time order. */
export interface ResourceGroup {
  readonly resource: string;
  readonly account: string | null;
  readonly lines: readonly ReplayLine[];
}

const byTime = (a: ReplayLine, b: ReplayLine) => {
  const x = a.eventTime ?? "~";
  const y = b.eventTime ?? "~";
  return x < y ? -1 : x > y ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0;
};

/**
 * Violations grouped by the resource they touched (its main finding's security group, rule or
 * ACL entry), each group in time order, the groups by their first event: a resource's story reads
 * top down, and the page reads as a timeline of resources.
 */
export function groupByResource(details: readonly ReplayLine[]): ResourceGroup[] {
  const groups = new Map<
    string,
    { resource: string; account: string | null; lines: ReplayLine[] }
  >();
  for (const l of details) {
    const main = mainRule(l) ?? l.findings[0]?.rule;
    const f = l.findings.find((x) => x.rule === main) ?? l.findings[0];
    const resource = f?.resource ?? "(unknown resource)";
    const key = `${l.account ?? ""} ${resource}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { resource, account: l.account, lines: [] };
      groups.set(key, g);
    }
    g.lines.push(l);
  }
  for (const g of groups.values()) g.lines.sort(byTime);
  return [...groups.values()].sort((a, b) => byTime(a.lines[0]!, b.lines[0]!));
}

function groupTitle(g: ResourceGroup): string {
  const first = g.lines[0]?.eventTime;
  const last = g.lines.at(-1)?.eventTime;
  const span = first
    ? ` · ${esc(first.slice(0, 10))}${last && last.slice(0, 10) !== first.slice(0, 10) ? ` to ${esc(last.slice(0, 10))}` : ""}`
    : "";
  const rules = [...new Set(g.lines.flatMap((l) => l.findings.map((f) => f.rule)))];
  return `<code>${esc(g.resource)}</code> <span class="muted">${esc(g.account ?? "")}</span> · ${fmt(g.lines.length)} ${g.lines.length === 1 ? "event" : "events"}${span} · ${rules.map(esc).join(", ")}`;
}

function rowsHtml(lines: readonly ReplayLine[], row: (l: ReplayLine) => string[]): string {
  return lines
    .map(
      (l) =>
        `<tr class="event">${row(l)
          .map((c) => `<td>${c}</td>`)
          .join("")}</tr>`,
    )
    .join("\n");
}

/**
 * The violation list. Up to {@link COLLAPSE_AFTER_ROWS} rows: one table, a heading row per
 * resource. Past that: a folded line per resource (`<details>`, opened on a click) on pages of
 * {@link GROUPS_PER_PAGE} resources, switched by radio buttons and CSS: still no script, and the
 * page stays a few screens long whatever the trail. Printing shows every page.
 */
export function renderViolations(
  groups: readonly ResourceGroup[],
  row: (l: ReplayLine) => string[],
): string {
  const th = `<thead><tr>${DETAIL_HEADERS.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>`;
  const rows = groups.reduce((n, g) => n + g.lines.length, 0);
  if (rows <= COLLAPSE_AFTER_ROWS) {
    const bodies = groups
      .map(
        (g) =>
          `<tbody class="group"><tr class="group-head"><th colspan="${DETAIL_HEADERS.length}">${groupTitle(g)}</th></tr>\n${rowsHtml(g.lines, row)}\n</tbody>`,
      )
      .join("\n");
    return `<table class="detail">${th}\n${bodies}</table>`;
  }
  const pages: ResourceGroup[][] = [];
  for (let i = 0; i < groups.length; i += GROUPS_PER_PAGE) {
    pages.push(groups.slice(i, i + GROUPS_PER_PAGE));
  }
  const radios = pages
    .map(
      (_, i) =>
        `<input type="radio" name="violation-page" id="pg-${i + 1}"${i === 0 ? " checked" : ""} aria-label="page ${i + 1}">`,
    )
    .join("");
  const css = pages
    .map(
      (_, i) =>
        `#pg-${i + 1}:checked~.pages>#page-${i + 1}{display:block}#pg-${i + 1}:checked~.pager label[for=pg-${i + 1}]{background:var(--accent);color:#fff}`,
    )
    .join("");
  const pager =
    pages.length > 1
      ? `<nav class="pager">${fmt(groups.length)} resources, ${fmt(GROUPS_PER_PAGE)} a page: ${pages
          .map((p, i) => {
            const from = p[0]?.lines[0]?.eventTime?.slice(0, 10) ?? "";
            return `<label for="pg-${i + 1}" title="from ${esc(from)}">${i + 1}</label>`;
          })
          .join(" ")}</nav>`
      : "";
  const body = pages
    .map(
      (p, i) =>
        `<div class="page" id="page-${i + 1}">${p
          .map(
            (g) =>
              `<details class="group"><summary>${groupTitle(g)}</summary><table class="detail">${th}<tbody>\n${rowsHtml(g.lines, row)}\n</tbody></table></details>`,
          )
          .join("\n")}</div>`,
    )
    .join("\n");
  return `<style>${css}</style><p class="note">${fmt(rows)} rows, folded by resource: open one to see its events.</p><div class="paged">${radios}${pager}<div class="pages">${body}</div></div>`;
}

/**
 * `--format html`: one self-contained page (inline CSS and SVG, no script, nothing fetched) for
 * someone who will not read JSON: headline numbers, violations per day per rule, who and where,
 * and every violation with what the guardrail would have done.
 */
export function renderHtml(a: Aggregate, details: readonly ReplayLine[], meta: ReportMeta): string {
  const violations = a.byOutcome.violation ?? 0;
  const exempt = a.byOutcome.exempt ?? 0;
  const accountsHit = Object.values(a.byAccount).filter((x) => x.violation > 0).length;
  const rulesByWeight = Object.entries(a.byRule)
    .sort((x, y) => y[1].violations - x[1].violations || (x[0] < y[0] ? -1 : 1))
    .map(([r]) => r);
  const colours = new Map(
    rulesByWeight
      .filter((r) => (a.byRule[r]?.violations ?? 0) > 0)
      .map((r) => [r, ruleColour(r, meta.rules)]),
  );
  const period =
    a.firstEvent && a.lastEvent
      ? `${a.firstEvent.slice(0, 10)} to ${a.lastEvent.slice(0, 10)}`
      : "no events";

  const kpis = [
    ["bad", fmt(violations), "violations"],
    ["bad", fmt(a.actions), "revocations the guardrail would make"],
    ["warn", fmt(violations - a.revokingEvents), "violations to review (notify only)"],
    ["ok", fmt(exempt), "exempted by policy"],
    ["", fmt(accountsHit), `accounts with violations (of ${fmt(Object.keys(a.byAccount).length)})`],
    ["", fmt(a.records), `CloudTrail records read (${fmt(a.files)} files)`],
  ]
    .map(
      ([cls, v, l]) =>
        `<div class="kpi ${cls}"><div class="v">${v}</div><div class="l">${esc(l)}</div></div>`,
    )
    .join("");

  const accountRows = Object.entries(a.byAccount)
    .sort((x, y) => y[1].violation - x[1].violation || (x[0] < y[0] ? -1 : 1))
    .map(([acct, t]) => [
      `<code>${esc(acct)}</code>`,
      fmt(t.violation),
      fmt(t.exempt),
      fmt(t.compliant),
      fmt(t.actions),
    ]);
  const actorRows = topActors(a, 15).map(([actor, t]) => {
    const rules = Object.entries(t.rules).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    const accounts = Object.keys(t.accounts).sort();
    return [
      `<span class="who" title="${esc(actor)}">${esc(shortActor(actor))}</span><br><span class="muted">${esc(accountOf(actor) ?? accounts.join(", "))}</span>`,
      fmt(t.violations),
      fmt(t.exempt),
      rules
        .slice(0, 3)
        .map(([r, n]) => `<span class="chip">${esc(r)} <b>${fmt(n)}</b></span>`)
        .join(" ") +
        (rules.length > 3 ? ` <span class="muted">+${rules.length - 3} more</span>` : ""),
      esc(t.last ? t.last.slice(0, 10) : ""),
    ];
  });
  const ruleRows = Object.entries(a.byRule)
    .sort(
      (x, y) =>
        (SEVERITY_ORDER[x[1].severity] ?? 9) - (SEVERITY_ORDER[y[1].severity] ?? 9) ||
        y[1].violations - x[1].violations,
    )
    .map(([rule, t]) => [
      `<span class="swatch" style="background:${colours.get(rule) ?? "#d0d5dd"}"></span> ${esc(rule)}`,
      severityBadge(t.severity),
      fmt(t.violations),
      fmt(t.enforce),
      fmt(t.notify),
      fmt(t.waived),
    ]);

  const detailRow = (l: ReplayLine) => {
    const main = mainRule(l) ?? l.findings[0]?.rule;
    const f = l.findings.find((x) => x.rule === main) ?? l.findings[0];
    const others = [...new Set(l.findings.map((x) => x.rule))].filter((r) => r !== f?.rule);
    return [
      when(l.eventTime),
      `<span class="nowrap">${esc(l.account)}</span><br><span class="muted">${esc(l.region)}</span>`,
      `<span title="${esc(l.actor)}">${breakable(shortActor(l.actor))}</span>`,
      `${esc(l.eventName)}<br><code>${esc(f?.resource ?? "")}</code>`,
      f
        ? `${severityBadge(f.severity)}<br><span class="nowrap">${esc(f.rule)}</span>${others.length > 0 ? `<div class="small muted">also ${others.map(esc).join(", ")}</div>` : ""}`
        : "",
      esc(f?.reason ?? ""),
      verdict(l),
    ];
  };
  const violationList = renderViolations(groupByResource(details), detailRow);

  const problems =
    a.problems.length + a.invalidSamples.length === 0
      ? ""
      : `<section id="problems"><h2>Input that could not be used</h2>${
          a.problems.length > 0
            ? `<p>${fmt(a.problems.length)} unreadable file(s) or line(s); everything else was processed.</p>${table(
                "problems",
                ["source", "problem"],
                a.problems
                  .slice(0, 200)
                  .map((p) => [`<code>${esc(p.source)}</code>`, esc(p.message)]),
              )}`
            : ""
        }${
          a.invalidSamples.length > 0
            ? `<p>${fmt((a.byOutcome.invalid ?? 0) - a.problems.length)} invalid event(s)${a.invalidSamples.length < (a.byOutcome.invalid ?? 0) - a.problems.length ? ", the first shown" : ""}:</p>${table(
                "invalid",
                ["source", "why"],
                a.invalidSamples
                  .filter((s) => !a.problems.some((p) => p.source === s.source))
                  .map((p) => [`<code>${esc(p.source)}</code>`, esc(p.message)]),
              )}`
            : ""
        }</section>`;

  const banner =
    a.problems.length > 0
      ? `<div class="banner">${fmt(a.problems.length)} input file(s) or line(s) could not be read and are not in these numbers: see <a href="#problems">Input that could not be used</a>.</div>`
      : "";
  const omitted =
    meta.omittedDetails > 0
      ? `<p class="note">${fmt(meta.omittedDetails)} more not listed; the JSON or CSV output has every event.</p>`
      : "";

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Network guardrail report · ${esc(period)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Network guardrail report</h1>
<p>Security-group and network-ACL changes in CloudTrail, ${esc(period)} · what the guardrail would have done</p>
</header>
<main>
<div class="kpis">${kpis}</div>
${banner}<section id="chart"><h2>Violations per day, by rule</h2>${violationChart(a, colours)}<p class="note">Each violation is counted once, under its most severe rule.</p></section>
<div class="cols">
<section id="accounts"><h2>By account</h2>${
    accountRows.length > 0
      ? table(
          "accounts",
          [
            "account",
            ["violations", "num"],
            ["exempt", "num"],
            ["compliant", "num"],
            ["revocations", "num"],
          ],
          accountRows,
        )
      : `<p class="empty">No security-group or network-ACL changes.</p>`
  }</section>
<section id="rules"><h2>By rule</h2>${
    ruleRows.length > 0
      ? table(
          "rules",
          [
            "rule",
            "severity",
            ["violating", "num"],
            ["enforce", "num"],
            ["notify", "num"],
            ["exempted", "num"],
          ],
          ruleRows,
        )
      : `<p class="empty">No rule matched.</p>`
  }</section>
</div>
<section id="actors"><h2>Who made the changes</h2>${
    actorRows.length > 0
      ? table(
          "actors",
          [
            "actor",
            ["violations", "num"],
            ["exempt", "num"],
            "rules most often broken",
            "last seen",
          ],
          actorRows,
        )
      : `<p class="empty">Nobody: no violations.</p>`
  }</section>
<section id="violations"><h2>Violations and exemptions (${fmt(details.length + meta.omittedDetails)})</h2>${
    details.length > 0 ? violationList : `<p class="empty">None.</p>`
  }${omitted}</section>
${problems}
</main>
<footer>Generated ${esc(meta.generatedAt.toISOString().replace("T", " ").slice(0, 19))} UTC by <code>guardrail replay</code> · policy: ${esc(meta.policySource)} (policy id <code>${esc(meta.policyId)}</code>) · input: ${esc(meta.inputs.join(", ") || "stdin")}${
    meta.filters.length > 0 ? ` · filters: ${esc(meta.filters.join(" "))}` : ""
  }</footer>
</body>
</html>
`;
}
