// A real browser for the console tests: Debian's chromium (what .ci/run installs), driven by playwright-core.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium']

export function chromiumPath(): string {
  const given = process.env.CHROMIUM_PATH
  if (given) return given
  const found = CANDIDATES.find((p) => existsSync(p))
  if (!found) {
    throw new Error(
      'no chromium found: install it (apt-get install chromium, as .ci/run does) or set CHROMIUM_PATH',
    )
  }
  return found
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  })
}

/** Where screenshots go: under the test output, one file per page, for people to look at. */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-output', 'screenshots')

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
}

/**
 * Form fields a person cannot name: visible inputs, selects and textareas with no <label>, aria-label or
 * aria-labelledby. The console's pages must have none.
 */
export async function unlabelledFields(page: Page): Promise<string[]> {
  // Typed by hand: this runs in the page, and the project's TypeScript has no DOM library.
  type Field = {
    type?: string
    labels?: { length: number } | null
    outerHTML: string
    getAttribute(name: string): string | null
  }
  return page.$$eval('input, select, textarea', (els) =>
    (els as unknown as Field[])
      .filter((f) => f.type !== 'hidden')
      .filter(
        (f) =>
          (f.labels?.length ?? 0) === 0 &&
          !f.getAttribute('aria-label') &&
          !f.getAttribute('aria-labelledby'),
      )
      .map((f) => f.outerHTML),
  )
}
