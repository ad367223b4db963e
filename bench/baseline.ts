// The seed's way, for comparison: one Postgres transaction per event.
import type { Sql } from '../lib/db.ts'
import type { StockMovement } from '../schemas/contract.ts'

export async function applyPerEvent(sql: Sql, movements: StockMovement[]): Promise<number> {
  const started = performance.now()
  for (const m of movements) {
    await sql.begin(async (tx) => {
      const delta = m.event_type === 'incoming' ? m.quantity : -m.quantity
      const inserted = await tx`
        insert into stock_journal (transaction_id, event_type, occurred_at, store_number, item_number, quantity, topic,
                                   partition, "offset", delta, quantity_after)
        values (${m.transaction_id}, ${m.event_type}, ${new Date(m.occurred_at)}, ${m.store_number}, ${m.item_number},
                ${m.quantity}, 'baseline', 0, 0, ${delta},
                coalesce((select quantity from stock_levels
                          where store_number = ${m.store_number} and item_number = ${m.item_number}), 0) + ${delta})
        on conflict do nothing returning 1`
      if (inserted.length === 0) return
      await tx`
        insert into stock_levels (store_number, item_number, quantity, last_transaction_id)
        values (${m.store_number}, ${m.item_number}, ${Math.max(0, delta)}, ${m.transaction_id})
        on conflict (store_number, item_number) do update set quantity = stock_levels.quantity + ${delta},
          last_transaction_id = excluded.last_transaction_id, updated_at = now()`
    })
  }
  return (movements.length * 1000) / (performance.now() - started)
}
