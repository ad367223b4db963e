// Apicurio Registry, which serves Confluent's schema-registry API at /apis/ccompat/v7. Its storage is an
// H2 database file in the stack's data folder, so schema ids survive a restart like Kafka's records and
// Postgres's rows do: an event still on the topic decodes against the schema it was written with.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Daemon, mavenRepo, run, spawnDaemon, stopDaemon, waitFor } from './processes.ts'

// 3.1.x is not published on Maven Central and 3.3.x needs Java 21; 2.6.x runs on the Java 17 we have.
export const APICURIO_VERSION = '2.6.13.Final'

export interface RegistryServerOptions {
  cacheDir: string
  dataDir: string
  port: number
  heap?: string
}

export interface RegistryServer {
  readonly url: string
  readonly logFile: string
  start(): Promise<void>
  stop(): Promise<void>
  pid(): number | undefined
}

export async function ensureApicurio(cacheDir: string): Promise<string> {
  const dir = join(cacheDir, `apicurio-${APICURIO_VERSION}`)
  const jar = join(dir, `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`)
  if (existsSync(join(dir, '.complete'))) return jar
  mkdirSync(dir, { recursive: true })
  await run('mvn', [
    '-q',
    '-B',
    mavenRepo(cacheDir),
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy',
    `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`,
    `-DoutputDirectory=${dir}`,
  ])
  const archive = readdirSync(dir).find((f) => f.endsWith('.tar.gz'))
  if (!archive) throw new Error(`Maven finished but no Apicurio archive is in ${dir}`)
  await run('tar', ['xzf', archive], { cwd: dir })
  if (!existsSync(jar)) throw new Error(`Apicurio archive did not contain ${jar}`)
  writeFileSync(join(dir, '.complete'), new Date().toISOString())
  return jar
}

export function createRegistryServer(o: RegistryServerOptions): RegistryServer {
  const url = `http://127.0.0.1:${o.port}/apis/ccompat/v7`
  const logFile = join(o.dataDir, 'registry.log')
  let daemon: Daemon | undefined

  return {
    url,
    logFile,
    pid: () => daemon?.pid,
    async start() {
      mkdirSync(o.dataDir, { recursive: true })
      const jar = await ensureApicurio(o.cacheDir)
      daemon = spawnDaemon(
        'registry',
        'java',
        [
          `-Xmx${o.heap ?? '384m'}`,
          '-Djava.awt.headless=true',
          '-Dquarkus.http.host=127.0.0.1',
          `-Dquarkus.http.port=${o.port}`,
          '-Dquarkus.log.level=WARN',
          '-jar',
          jar,
        ],
        {
          logFile,
          cwd: o.dataDir,
          // The app's SQL storage reads its JDBC URL from this variable; a file URL makes it persistent.
          env: { ...process.env, REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${join(o.dataDir, 'registry-db')}` },
        },
      )
      await waitFor('schema registry', async () => ((await fetch(`${url}/subjects`)).ok ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 250,
        daemon,
        logFile,
      })
    },
    async stop() {
      if (daemon) await stopDaemon(daemon)
    },
  }
}
