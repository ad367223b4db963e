// The processor's low-stock settings, written where a threshold edit in Postgres can read them: the edit
// then judges an item's state with the default the processor uses, and announces a new LOW on its topic.
import type { Sql } from '../lib/db.ts'

export interface ProcessorSettings {
  lowStockDefault: number
  lowStockTopic: string
}

export async function recordProcessorSettings(sql: Sql, settings: ProcessorSettings): Promise<void> {
  await sql`
    insert into processor_settings (singleton, low_stock_default, low_stock_topic)
    values (true, ${settings.lowStockDefault}, ${settings.lowStockTopic})
    on conflict (singleton) do update
      set low_stock_default = excluded.low_stock_default, low_stock_topic = excluded.low_stock_topic,
          updated_at = now()`
}
