// A local HTTP receiver standing in for a webhook (Slack or any other): each request's JSON body is
// answered with the status `answer` returns for it, after `delayMs`.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface WebhookReceiver {
  url: string
  close(): Promise<void>
}

export async function startWebhookReceiver(
  answer: (body: unknown) => number,
  delayMs = 0,
): Promise<WebhookReceiver> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      const status = answer(JSON.parse(body))
      setTimeout(() => res.writeHead(status).end(), delayMs)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        // The sink's fetch keeps connections alive; they would hold close() open for seconds.
        server.closeAllConnections()
      }),
  }
}
