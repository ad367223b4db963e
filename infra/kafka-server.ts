// Apache Kafka in KRaft combined mode, from Maven Central jars, on loopback. 3.9.1 by default; the 4.x
// line is supported too (STACK_KAFKA_VERSION), and CI runs the integration suites against both.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { type Daemon, mavenRepo, run, spawnDaemon, stopDaemon, waitFor } from './processes.ts'

export const DEFAULT_KAFKA_VERSION = '3.9.1'
export const SUPPORTED_KAFKA = /^(3\.9|4\.[01])\.\d+$/

/** The broker version STACK_KAFKA_VERSION asks for, checked against the lines this project supports. */
export function kafkaVersion(env: NodeJS.ProcessEnv): string {
  const v = env.STACK_KAFKA_VERSION?.trim() || DEFAULT_KAFKA_VERSION
  if (!SUPPORTED_KAFKA.test(v)) {
    throw new Error(`STACK_KAFKA_VERSION must be a 3.9.x, 4.0.x or 4.1.x release, got '${v}'`)
  }
  return v
}

const major = (version: string) => Number(version.split('.')[0])
const pomFor = (version: string) =>
  fileURLToPath(new URL(major(version) >= 4 ? './kafka/pom-4.xml' : './kafka/pom.xml', import.meta.url))

export interface KafkaServerOptions {
  cacheDir: string
  dataDir: string
  /** Default DEFAULT_KAFKA_VERSION. */
  version?: string
  port: number
  controllerPort: number
  heap?: string
  /** A second listener with SASL/SCRAM-SHA-512 authentication, and the one user it knows. */
  scram?: { port: number; username: string; password: string }
}

export interface KafkaServer {
  readonly brokers: string
  readonly logFile: string
  start(): Promise<void>
  /** SIGKILL, for fault injection: no clean shutdown, the log is recovered on restart. */
  kill(): Promise<void>
  stop(): Promise<void>
  pid(): number | undefined
}

/** Downloads the broker jars once per cache folder; later starts reuse them. */
export async function ensureKafkaJars(cacheDir: string, version = DEFAULT_KAFKA_VERSION): Promise<string> {
  const dir = join(cacheDir, `kafka-${version}`, 'libs')
  if (existsSync(join(dir, '.complete'))) return dir
  mkdirSync(dir, { recursive: true })
  await run('mvn', [
    '-q',
    '-B',
    mavenRepo(cacheDir),
    '-f',
    pomFor(version),
    `-Dkafka.version=${version}`,
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${dir}`,
  ])
  if (!readdirSync(dir).some((f) => f.startsWith('kafka_2.13-'))) {
    throw new Error(`Maven finished but no kafka_2.13 jar is in ${dir}`)
  }
  writeFileSync(join(dir, '.complete'), new Date().toISOString())
  return dir
}

function serverProperties(o: KafkaServerOptions, logDir: string): string {
  const base: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${o.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${o.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': '1',
    // Topics are created explicitly by the services; a typo must not invent a topic.
    'auto.create.topics.enable': 'false',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'log.retention.hours': '168',
    'log.segment.bytes': String(64 * 1024 * 1024),
    // The log is fsynced every second. One broker has no replica to fall back on, and the page cache otherwise
    // held a bulk import's log (~200 MB) until the kernel wrote it back in one burst some 30 s later, which
    // stalled Postgres's commits behind it.
    'log.flush.interval.ms': '1000',
    'log.flush.scheduler.interval.ms': '1000',
  }
  const scram: Record<string, string> = o.scram
    ? {
        listeners: `${base.listeners},SASL_PLAINTEXT://127.0.0.1:${o.scram.port}`,
        'advertised.listeners': `${base['advertised.listeners']},SASL_PLAINTEXT://127.0.0.1:${o.scram.port}`,
        'listener.security.protocol.map': `${base['listener.security.protocol.map']},SASL_PLAINTEXT:SASL_PLAINTEXT`,
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config':
          'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      }
    : {}
  const all = { ...base, ...scram }
  return `${Object.entries(all)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`
}

// Kafka 3 (reload4j) and Kafka 4 (log4j2) read different files; each gets the same quiet settings.
const LOG4J2 = [
  'rootLogger.level=WARN',
  'rootLogger.appenderRef.stdout.ref=STDOUT',
  'appender.stdout.type=Console',
  'appender.stdout.name=STDOUT',
  'appender.stdout.layout.type=PatternLayout',
  'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
  'logger.broker.name=kafka.server.BrokerServer',
  'logger.broker.level=INFO',
  '',
].join('\n')

const LOG4J = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.logger.kafka.server.KafkaServer=INFO',
  'log4j.logger.kafka.server.BrokerServer=INFO',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  '',
].join('\n')

export function createKafkaServer(o: KafkaServerOptions): KafkaServer {
  const brokers = `127.0.0.1:${o.port}`
  const logFile = join(o.dataDir, 'kafka.log')
  const propsFile = join(o.dataDir, 'server.properties')
  const version = o.version ?? DEFAULT_KAFKA_VERSION
  const log4jFile = join(o.dataDir, major(version) >= 4 ? 'log4j2.properties' : 'log4j.properties')
  let daemon: Daemon | undefined
  let libs = ''

  const java = (mainClass: string, args: string[]) => [
    `-Xmx${o.heap ?? '512m'}`,
    `-Xms${o.heap ?? '512m'}`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    major(version) >= 4
      ? `-Dlog4j2.configurationFile=${log4jFile}`
      : `-Dlog4j.configuration=file:${log4jFile}`,
    '-cp',
    `${libs}/*`,
    mainClass,
    ...args,
  ]

  async function format(): Promise<void> {
    const logDir = join(o.dataDir, 'kraft-logs')
    if (existsSync(join(logDir, 'meta.properties'))) return
    mkdirSync(logDir, { recursive: true })
    writeFileSync(propsFile, serverProperties(o, logDir))
    writeFileSync(log4jFile, major(version) >= 4 ? LOG4J2 : LOG4J)
    const clusterId = randomBytes(16).toString('base64url')
    // `=` form: a base64url id may start with '-', which the tool would read as an option.
    // In KRaft, SCRAM users are part of the metadata, so they are created when the storage is formatted.
    const users = o.scram
      ? ['--add-scram', `SCRAM-SHA-512=[name=${o.scram.username},password=${o.scram.password}]`]
      : []
    await run(
      'java',
      java('kafka.tools.StorageTool', ['format', `--cluster-id=${clusterId}`, '-c', propsFile, ...users]),
    )
  }

  async function ready(): Promise<void> {
    const kafka = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
    await waitFor(
      'kafka',
      async () => {
        const admin = kafka.admin()
        try {
          await admin.connect()
          const cluster = await admin.describeCluster()
          return cluster.brokers.length > 0 ? true : undefined
        } finally {
          await admin.disconnect().catch(() => {})
        }
      },
      { timeoutMs: 90_000, intervalMs: 250, daemon, logFile },
    )
  }

  return {
    brokers,
    logFile,
    pid: () => daemon?.pid,
    async start() {
      mkdirSync(o.dataDir, { recursive: true })
      libs = await ensureKafkaJars(o.cacheDir, version)
      await format()
      daemon = spawnDaemon('kafka', 'java', java('kafka.Kafka', [propsFile]), { logFile })
      await ready()
    },
    async kill() {
      if (!daemon) return
      daemon.signal('SIGKILL')
      await daemon.exited
    },
    async stop() {
      if (daemon) await stopDaemon(daemon, 30_000)
    },
  }
}
