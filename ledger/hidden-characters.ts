// Characters a reader cannot see, or that change how the text around them is laid out: controls, format
// characters (zero-width, bidi overrides, BOM), line and paragraph separators, and every other default-
// ignorable code point (Hangul fillers, variation selectors, the combining grapheme joiner). One set for
// refusing names (item master, sign-in), writing file names out, and, as migration 019's `hidden_class`,
// for the database's own checks; `hidden-characters.test.ts` holds the two together.

const CLASS = String.raw`\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}`

/** Matches one hidden character. */
export const HIDDEN = new RegExp(`[${CLASS}]`, 'u')

/** Matches every hidden character, for replacing. */
export const HIDDEN_ALL = new RegExp(`[${CLASS}]`, 'gu')

/** The first hidden character as U+XXXX, or undefined. */
export function firstHidden(text: string): string | undefined {
  const m = HIDDEN.exec(text)
  return m ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : undefined
}

/** The same set as a Postgres regular-expression bracket (NUL aside, which text cannot hold). */
export function postgresClass(): string {
  const ranges: [number, number][] = []
  let start = -1
  for (let cp = 1; cp <= 0x110000; cp++) {
    const hidden = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && HIDDEN.test(String.fromCodePoint(cp))
    if (hidden && start < 0) start = cp
    if (!hidden && start >= 0) {
      ranges.push([start, cp - 1])
      start = -1
    }
  }
  const esc = (c: number) =>
    c <= 0xffff
      ? `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`
      : `\\U${c.toString(16).toUpperCase().padStart(8, '0')}`
  return `[${ranges.map(([a, b]) => (a === b ? esc(a) : `${esc(a)}-${esc(b)}`)).join('')}]`
}
