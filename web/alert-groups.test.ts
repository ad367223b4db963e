import { describe, expect, it } from 'vitest'
import { alertAbout, alertActions, alertFamily, familySummary } from './alert-groups.ts'

describe('alertAbout and alertFamily', () => {
  it('reads the keys the alerter writes', () => {
    expect(alertAbout('import:uploads/day 1.csv')).toEqual({ kind: 'file', file: 'uploads/day 1.csv' })
    expect(alertAbout('process:INSUFFICIENT_STOCK:5:12')).toEqual({
      kind: 'item',
      code: 'INSUFFICIENT_STOCK',
      store: 5,
      item: 12,
    })
    expect(alertAbout('process:UNDECODABLE:events')).toEqual({
      kind: 'code',
      code: 'UNDECODABLE',
      topic: 'events',
    })
    expect(alertAbout('low-stock')).toEqual({ kind: 'low-stock' })
    expect(alertAbout('something-else')).toEqual({ kind: 'other', key: 'something-else' })
  })
  it('groups every item of one code together, and every file’s rejections together', () => {
    expect(alertFamily('process:INSUFFICIENT_STOCK:5:12')).toBe('process:INSUFFICIENT_STOCK')
    expect(alertFamily('process:INSUFFICIENT_STOCK:6:1')).toBe('process:INSUFFICIENT_STOCK')
    expect(alertFamily('process:TOPIC_RESET:events')).toBe('process:TOPIC_RESET')
    expect(alertFamily('import:a.csv')).toBe('import')
    expect(alertFamily('low-stock')).toBe('low-stock')
    expect(alertFamily('odd')).toBe('odd')
  })
})

describe('alertActions', () => {
  it('sends a stock problem to its failed movements, its item and the re-drive', () => {
    expect(alertActions('process:INSUFFICIENT_STOCK:5:12')).toEqual([
      { label: 'See the failed movements', href: '/errors?code=INSUFFICIENT_STOCK&store=5&item=12' },
      { label: 'Open the item', href: '/items/5/12' },
      {
        label: 'Re-drive them once fixed',
        href: '/errors?code=INSUFFICIENT_STOCK&store=5&item=12#redrive-h',
      },
    ])
  })
  it('offers no re-drive where re-driving changes nothing', () => {
    expect(alertActions('process:TRANSACTION_CONFLICT:5:12').map((a) => a.label)).toEqual([
      'See the failed movements',
      'Open the item',
    ])
  })
  it('sends a file’s rejections to its import page, or to Imports when the import is not known', () => {
    expect(alertActions('import:x.csv', 41)).toEqual([
      { label: 'Open its import page: the rejected rows, to fix and drop again', href: '/imports/41' },
    ])
    expect(alertActions('import:x.csv')).toEqual([{ label: 'Find the file in Imports', href: '/imports' }])
  })
  it('sends topic problems to the Pipeline page and low stock to the Stock page', () => {
    expect(alertActions('process:EVENTS_EXPIRED:events')).toEqual([
      { label: 'Check the offsets on the Pipeline page', href: '/pipeline' },
    ])
    expect(alertActions('process:UNDECODABLE:events')).toEqual([
      { label: 'See these errors', href: '/errors?code=UNDECODABLE' },
    ])
    expect(alertActions('low-stock').map((a) => a.href)).toEqual(['/stock?state=low', '/stock?state=out'])
  })
})

describe('familySummary', () => {
  it('names a family and where to act on all of it', () => {
    expect(familySummary('process:UNKNOWN_ITEM')).toEqual({
      label: 'UNKNOWN_ITEM',
      actions: [
        { label: 'Errors: UNKNOWN_ITEM', href: '/errors?code=UNKNOWN_ITEM' },
        { label: 'Re-drive them once fixed', href: '/errors?code=UNKNOWN_ITEM#redrive-h' },
      ],
    })
    expect(familySummary('import').label).toBe('Rows rejected at import')
    expect(familySummary('low-stock').actions).toEqual([
      { label: 'See the items low now', href: '/stock?state=low' },
    ])
    expect(familySummary('process:TOPIC_RESET').actions).toEqual([{ label: 'Pipeline', href: '/pipeline' }])
  })
})
