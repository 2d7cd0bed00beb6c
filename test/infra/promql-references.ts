/** What a PromQL expression refers to, read with patterns (enough for the project's own queries, not a parser). */
export interface PromqlReferences {
  /** Series names: every identifier of the metric families the services export (anime_*, nodejs_*, process_*). */
  series: string[];
  /** Label matchers per selector: `series{name op "value"}`. */
  matchers: { series: string; label: string; op: string; value: string }[];
  /** Labels the result is aggregated by (`by (...)`): they must be on the series, not only on the scrape target. */
  groupedBy: string[];
  /** Labels a vector match joins on (`on (...)`, `ignoring (...)`). */
  joinedOn: string[];
  /** Labels copied from the other side of a match (`group_left (...)`, `group_right (...)`). */
  copied: string[];
}

const SERIES = /\b((?:anime|nodejs|process)_[a-z0-9_]+)\b/g;
const SELECTOR = /\b((?:anime|nodejs|process)_[a-z0-9_]+)\s*\{([^}]*)\}/g;
const MATCHER = /([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g;

const labelList = (expr: string, keyword: RegExp): string[] =>
  [...expr.matchAll(keyword)].flatMap((m) => m[1].split(',').map((s) => s.trim()).filter(Boolean));

export function promqlReferences(expr: string): PromqlReferences {
  return {
    series: [...new Set([...expr.matchAll(SERIES)].map((m) => m[1]))],
    matchers: [...expr.matchAll(SELECTOR)].flatMap((s) => [...s[2].matchAll(MATCHER)].map((m) => ({ series: s[1], label: m[1], op: m[2], value: m[3] }))),
    groupedBy: labelList(expr, /\bby\s*\(([^)]*)\)/g),
    joinedOn: labelList(expr, /\b(?:on|ignoring)\s*\(([^)]*)\)/g),
    copied: labelList(expr, /\bgroup_(?:left|right)\s*\(([^)]*)\)/g),
  };
}
