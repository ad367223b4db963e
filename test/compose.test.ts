// There is no Docker engine on these machines, so the compose files are validated against the Compose
// Specification's JSON schema, the one Docker Compose itself uses: compose-go's schema/compose-spec.json,
// fetched through the Go module proxy (the `go` tool, pinned version), and checked for what the
// services need.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  composeVariables,
  type ImageRecipe,
  missingFromImage,
  readImageRecipe,
  sampleEnvKeys,
} from './support/image.ts'

const COMPOSE_GO = 'github.com/compose-spec/compose-go/v2@v2.16.2'

function composeSchema(): object {
  const { Dir } = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', COMPOSE_GO], {
      encoding: 'utf8',
      env: { ...process.env, GOFLAGS: '-mod=mod' },
    }),
  ) as { Dir: string }
  return JSON.parse(readFileSync(join(Dir, 'schema', 'compose-spec.json'), 'utf8'))
}

const load = (file: string) =>
  parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'), { merge: true }) as {
    services: Record<string, Record<string, unknown>>
    volumes?: Record<string, unknown>
  }

describe('compose files', () => {
  // The schema's own formats (ports, durations) are not JSON Schema formats; structure is what is checked.
  const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(
    composeSchema(),
  )

  for (const file of ['docker-compose.yml', 'docker-compose.kafka.yml']) {
    it(`${file} follows the Compose Specification`, () => {
      const ok = validate(load(file))
      expect(validate.errors ?? []).toEqual([])
      expect(ok).toBe(true)
    })
  }

  it('the schema refuses what Compose would refuse', () => {
    const file = load('docker-compose.yml')
    expect(validate({ ...file, servces: {} })).toBe(false)
    expect(validate({ services: { importer: { ...file.services.importer, restart: 7 } } })).toBe(false)
  })

  it('builds one image, publishes health on loopback, connects services as stockflow_app', () => {
    const { services } = load('docker-compose.yml')
    expect(
      Object.entries(services)
        .filter(([, s]) => s.build)
        .map(([n]) => n),
    ).toEqual(['migrate'])
    for (const name of ['importer', 'processor', 'alerter']) {
      const s = services[name] as { image: string; ports: string[]; environment: Record<string, string> }
      expect(s.image).toBe('stockflow:local')
      expect(s.ports).toHaveLength(1)
      expect(s.ports[0]).toMatch(/^127\.0\.0\.1:946\d:946\d$/)
      expect(s.environment.HEALTH_HOST).toBe('0.0.0.0')
      expect(s.environment.DATABASE_URL).toMatch(/^postgres:\/\/stockflow_app:/)
      expect(s.environment.SCHEMA_REGISTRY_URL).toBe('http://schema-registry:8081')
    }
    expect(services.migrate!.environment).toMatchObject({
      DATABASE_URL: expect.stringMatching(/^postgres:\/\/stockflow:/),
    })
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's own interpolation, kept as written.
    expect(services.importer!.user).toBe('${STOCKFLOW_UID:-1000}:${STOCKFLOW_GID:-1000}')
  })

  it('keeps the Kafka log on a volume', () => {
    const kafka = load('docker-compose.kafka.yml')
    const broker = kafka.services.kafka as { volumes: string[]; environment: Record<string, string> }
    expect(broker.volumes).toEqual(['kafka-data:/var/lib/kafka/data'])
    expect(broker.environment.KAFKA_LOG_DIRS).toBe('/var/lib/kafka/data')
    expect(Object.keys(kafka.volumes ?? {})).toEqual(['kafka-data'])
  })

  it('sends the image only what it needs', () => {
    const ignored = readFileSync(new URL('../.dockerignore', import.meta.url), 'utf8').split('\n')
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.stack', 'input', '.git', '.env']))
  })

  describe('every service on our image runs from what the image holds', () => {
    const root = new URL('../', import.meta.url).pathname
    const text = (file: string) => readFileSync(join(root, file), 'utf8')
    const pkg = JSON.parse(text('package.json')) as { dependencies: Record<string, string> }
    const dockerfile = text('Dockerfile')
    const ours = (s: Record<string, unknown>) => s.image === 'stockflow:local' || s.build !== undefined
    const services = ['docker-compose.yml', 'docker-compose.kafka.yml'].flatMap((file) =>
      Object.entries(load(file).services)
        .filter(([, s]) => ours(s))
        .map(([name, s]) => ({ file, name, command: s.command as string[] })),
    )

    const lacking = (recipe: ImageRecipe, command: string[]) =>
      missingFromImage({ root, recipe, command, dependencies: pkg.dependencies })

    it('finds the services built from this repository (none in the Kafka file)', () => {
      expect(services.map((s) => `${s.file}:${s.name}`)).toEqual([
        'docker-compose.yml:migrate',
        'docker-compose.yml:importer',
        'docker-compose.yml:processor',
        'docker-compose.yml:alerter',
        'docker-compose.yml:web',
      ])
    })

    for (const { file, name, command } of services) {
      it(`${file}: ${name} (${command.join(' ')}) has its code, views and migrations in the image`, () => {
        expect(lacking(readImageRecipe(dockerfile, text('.dockerignore')), command)).toEqual([])
      })
    }

    it('notices a folder the Dockerfile leaves out (web/ was, once)', () => {
      const without = readImageRecipe(dockerfile.replace(/^COPY web web$/m, ''), text('.dockerignore'))
      const missing = lacking(without, ['web'])
      expect(missing).toEqual(
        expect.arrayContaining(['web/main.ts', 'web/server.ts', 'web/views', 'web/public']),
      )
      expect(missing.every((f) => f.startsWith('web/'))).toBe(true)
      expect(lacking(without, ['importer'])).toEqual([])
    })

    it("checks health with node: the image's base has neither wget nor curl", () => {
      const { services: all } = load('docker-compose.yml')
      for (const [name, s] of Object.entries(all).filter(([, s]) => ours(s) && s.healthcheck)) {
        const test = (s.healthcheck as { test: string[] }).test
        expect([name, test.slice(0, 3)]).toEqual([name, ['CMD', 'node', '-e']])
      }
    })
  })

  it('lists in sample.env every variable compose reads', () => {
    const root = new URL('../', import.meta.url).pathname
    const listed = sampleEnvKeys(readFileSync(join(root, 'sample.env'), 'utf8'))
    const read = ['docker-compose.yml', 'docker-compose.kafka.yml'].flatMap((f) =>
      composeVariables(readFileSync(join(root, f), 'utf8')),
    )
    expect(read).toEqual(expect.arrayContaining(['STOCKFLOW_UID', 'WEB_TRUST_PROXY']))
    expect(read.filter((v) => !listed.has(v))).toEqual([])
  })
})
