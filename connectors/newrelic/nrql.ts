// Reads the few things the connector needs from a user's NRQL: that it selects
// exactly one value, that value's `AS` alias, and that it leaves TIMESERIES,
// SINCE, UNTIL (added by the connector) and FACET (several series) out.
// Not a parser: quoted text is masked, then only the top level is inspected.

/** What the connector learned from a valid NRQL query. */
export interface NrqlShape {
  /** The `AS` alias of the single selected value, which New Relic uses as the result key. */
  alias?: string;
}

export type NrqlAnalysis = ({ ok: true } & NrqlShape) | { ok: false; message: string };

// Clauses the connector appends itself, or that would split the answer into several series.
const RESERVED_CLAUSES: readonly [RegExp, string][] = [
  [/\bTIMESERIES\b/i, 'TIMESERIES'],
  [/\bSINCE\b/i, 'SINCE'],
  [/\bUNTIL\b/i, 'UNTIL'],
  [/\bFACET\b/i, 'FACET'],
  [/\bCOMPARE\s+WITH\b/i, 'COMPARE WITH'],
];

// Top-level keywords that end the SELECT list.
const CLAUSE_AFTER_SELECT =
  /\b(FROM|WHERE|FACET|LIMIT|OFFSET|SINCE|UNTIL|TIMESERIES|COMPARE|WITH|EXTRAPOLATE|ORDER|SLIDE|JOIN)\b/i;

/**
 * Replace the inside of '...', "..." and `...` with spaces (same length), so
 * keywords and commas inside literals or quoted names are not seen. Returns
 * undefined when a quote is never closed.
 */
export function maskQuoted(nrql: string): string | undefined {
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < nrql.length; i++) {
    const ch = nrql[i];
    if (quote) {
      if (ch === '\\' && i + 1 < nrql.length) {
        out += '  ';
        i++;
      } else if (ch === quote) {
        out += ch;
        quote = undefined;
      } else {
        out += ' ';
      }
    } else {
      if (ch === "'" || ch === '"' || ch === '`') quote = ch;
      out += ch;
    }
  }
  return quote ? undefined : out;
}

/** Blank out everything inside parentheses, keeping positions, so only the top level remains. */
function topLevelOnly(masked: string): string | undefined {
  let depth = 0;
  let out = '';
  for (const ch of masked) {
    if (ch === '(') {
      depth++;
      out += depth === 1 ? ch : ' ';
    } else if (ch === ')') {
      depth--;
      if (depth < 0) return undefined;
      out += depth === 0 ? ch : ' ';
    } else {
      out += depth === 0 ? ch : ' ';
    }
  }
  return depth === 0 ? out : undefined;
}

function unquote(text: string): string {
  const t = text.trim();
  const first = t[0];
  if ((first === "'" || first === '"' || first === '`') && t.endsWith(first) && t.length >= 2) return t.slice(1, -1);
  return t;
}

/** Check a user's NRQL and find the alias of its single selected value. */
export function analyzeNrql(nrql: string): NrqlAnalysis {
  const masked = maskQuoted(nrql);
  if (masked === undefined) return { ok: false, message: 'nrql has a quote that is never closed' };
  // A trailing line comment would swallow the TIMESERIES/SINCE/UNTIL the connector appends.
  if (/--|\/\/|\/\*/.test(masked)) {
    return {
      ok: false,
      message: 'nrql must not contain comments (--, //, /* */): the connector appends clauses after your query',
    };
  }
  for (const [pattern, name] of RESERVED_CLAUSES) {
    if (pattern.test(masked)) {
      const why =
        name === 'FACET' || name === 'COMPARE WITH'
          ? 'it would return several series; write one query per series (filter with WHERE instead)'
          : 'the connector adds TIMESERIES, SINCE and UNTIL itself';
      return { ok: false, message: `nrql must not contain ${name}: ${why}` };
    }
  }
  const top = topLevelOnly(masked);
  if (top === undefined) return { ok: false, message: 'nrql has unbalanced parentheses' };
  const select = /\bSELECT\b/i.exec(top);
  if (!select) return { ok: false, message: 'nrql must contain SELECT, e.g. SELECT count(*) FROM Transaction' };
  if (!/\bFROM\b/i.test(top))
    return { ok: false, message: 'nrql must contain FROM <event type>, e.g. FROM Transaction' };

  const start = select.index + select[0].length;
  const end = CLAUSE_AFTER_SELECT.exec(top.slice(start));
  const stop = end ? start + end.index : top.length;
  const listTop = top.slice(start, stop);
  const listText = nrql.slice(start, stop);
  const items = listTop.split(',').length;
  if (items > 1) {
    return {
      ok: false,
      message:
        `nrql must select exactly one value (found ${items}); use one query per metric, ` +
        'or combine them in one expression such as filter(count(*), WHERE error IS true) / count(*)',
    };
  }
  if (listTop.trim() === '')
    return { ok: false, message: 'nrql selects nothing; give one aggregate, e.g. SELECT count(*)' };
  if (listTop.trim() === '*')
    return { ok: false, message: 'SELECT * returns events, not a number; select one aggregate such as count(*)' };

  // The alias is whatever follows the last top-level AS of the item.
  const asMatches = [...listTop.matchAll(/\bAS\b/gi)];
  const lastAs = asMatches[asMatches.length - 1];
  if (lastAs?.index === undefined) return { ok: true };
  const alias = unquote(listText.slice(lastAs.index + lastAs[0].length));
  if (alias === '') return { ok: false, message: 'nrql has AS without an alias after it' };
  return { ok: true, alias };
}
