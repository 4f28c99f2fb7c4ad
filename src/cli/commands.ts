// warrenctl's commands on commander: the global options (where the API is, who asks, which vhost, the
// output format), the list_* commands (lists.ts) and the commands that change things. Each command is one
// or two management API requests; the API's refusals become one-line errors (client.ts).
import { readFile, writeFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { ApiClient, CliError, EXIT, seg } from './client.js'
import { LIST_COMMANDS, type ListCommand } from './lists.js'
import { checkColumns, renderPairs, renderRows, type Format, type Row } from './table.js'

export const DEFAULT_URL = 'http://127.0.0.1:15672'

interface Globals {
  url: string
  user: string
  password: string
  vhost: string
  format: Format
  quiet?: boolean
}

/** What an action gets: the API client, the global options, and where it writes */
interface Run {
  api: ApiClient
  g: Globals
  /** An informational line (rabbitmqctl's "Adding user ..."), left out with --quiet */
  say: (line: string) => void
  out: (text: string) => void
}

export interface Output {
  out: (text: string) => void
  err: (text: string) => void
}

function runOf(cmd: Command, io: Output): Run {
  const g = cmd.optsWithGlobals<Globals>()
  return {
    api: new ApiClient({ url: g.url, user: g.user, password: g.password }),
    g,
    say: (line) => {
      if (!g.quiet) io.out(line + '\n')
    },
    out: io.out,
  }
}

/** Adds a command whose action gets the Run and its positional arguments and options */
function action(
  io: Output,
  fn: (run: Run, args: string[], opts: Record<string, unknown>) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command
    const opts = args[args.length - 2] as Record<string, unknown>
    const positional = args.slice(0, -2).flatMap((a) => (Array.isArray(a) ? (a as string[]) : [a as string]))
    await fn(
      runOf(cmd, io),
      positional.filter((a) => a !== undefined),
      opts,
    )
  }
}

const vhostSubject = (v: string): string => `vhost '${v}'`
/** RabbitMQ's API answers 400 vhost_or_user_not_found to a permission for a missing vhost or user */
const vhostOrUserReasons = (vhost: string, user: string): Record<string, string> => ({
  vhost_or_user_not_found: `vhost '${vhost}' or user '${user}' not found`,
})
const queueSubject = (q: string, v: string): string => `queue '${q}' in vhost '${v}'`

function parseColumns(positional: string[], option: string | undefined, defaults: string[]): string[] {
  const fromOption = option
    ?.split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
  const chosen = [...positional, ...(fromOption ?? [])]
  return chosen.length > 0 ? chosen : defaults
}

async function list(run: Run, spec: ListCommand, positional: string[], opts: Record<string, unknown>): Promise<void> {
  const { api, g } = run
  const columns = parseColumns(positional, opts['columns'] as string | undefined, spec.defaultColumns)
  const rows = await api.get<Row[]>(spec.path(g.vhost), spec.perVhost ? { subject: vhostSubject(g.vhost) } : {})
  checkColumns(columns, rows, spec.aliases)
  if (g.format === 'table') run.say(spec.banner(g.vhost))
  run.out(renderRows(rows, columns, spec.aliases, g.format))
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new CliError(`${what} is not valid JSON: ${(err as Error).message}`, EXIT.usage)
  }
}

function tagsArgument(tags: string[]): string {
  return tags
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .join(',')
}

async function status(run: Run): Promise<void> {
  const overview = await run.api.get<Row>('/api/overview')
  if (run.g.format === 'json') {
    run.out(JSON.stringify(overview, null, 2) + '\n')
    return
  }
  const pairs: [string, unknown][] = [
    ['product', `${String(overview['product_name'])} ${String(overview['product_version'])}`],
    ['rabbitmq_version', overview['rabbitmq_version']],
    ['management_version', overview['management_version']],
    ['node', overview['node']],
  ]
  const listeners = (overview['listeners'] as Row[] | undefined) ?? []
  pairs.push(['listeners', listeners.map((l) => `${String(l['protocol'])}:${String(l['port'])}`).join(', ')])
  for (const group of ['object_totals', 'queue_totals']) {
    const totals = (overview[group] as Row | undefined) ?? {}
    for (const [k, v] of Object.entries(totals)) pairs.push([`${group}.${k}`, v])
  }
  run.say('Status of the node ...')
  run.out(renderPairs(pairs))
}

async function existingUser(api: ApiClient, name: string): Promise<Row> {
  return api.get<Row>(`/api/users/${seg(name)}`, { subject: `user '${name}'` })
}

/** RabbitMQ's two kinds of policy, as rabbitmqctl names them in its commands and banners */
const POLICY_KINDS = [
  { command: 'policy', path: 'policies', words: 'policy', setWords: 'policy', article: 'a policy' },
  {
    command: 'operator_policy',
    path: 'operator-policies',
    words: 'operator policy',
    setWords: 'operator policy override',
    article: 'an operator policy (it overrides the limits of user policies)',
  },
] as const

export function buildProgram(io: Output, version: string): Command {
  const program = new Command('warrenctl')
  program
    .description("Warren's command line tool: talks to the broker's management HTTP API (RabbitMQ's paths)")
    .version(version)
    .addOption(new Option('--url <url>', 'management API base URL').env('WARREN_MGMT_URL').default(DEFAULT_URL))
    .addOption(new Option('--user <name>', 'user to authenticate as').env('WARREN_MGMT_USER').default('guest'))
    .addOption(new Option('--password <password>', 'password').env('WARREN_MGMT_PASSWORD').default('guest'))
    .option('-p, --vhost <vhost>', 'virtual host', '/')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'leave out informational lines (banners, "Adding user ...")')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: (text, write) => write(text.replace(/^error: /, 'warrenctl: ')),
    })
    .exitOverride()
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 the API refused (not found, bad argument), 64 bad usage,
69 management API unreachable, 77 access refused. See docs/cli.md.`,
  )

  program
    .command('status')
    .description("the node's overview: version, listeners, object and message totals")
    .action(action(io, (run) => status(run)))

  for (const spec of LIST_COMMANDS) {
    program
      .command(spec.name)
      .description(`list ${spec.description} (default columns: ${spec.defaultColumns.join(' ')})`)
      .argument('[columns...]', 'columns to show (rabbitmqctl info items)')
      .option('--columns <a,b,c>', 'columns to show, comma separated')
      .action(action(io, (run, positional, opts) => list(run, spec, positional, opts)))
  }

  program
    .command('add_user')
    .description('create a user (fails if it exists)')
    .argument('<username>')
    .argument('<password>')
    .option('--tags <tags>', 'comma-separated tags', '')
    .action(
      action(io, async ({ api, say }, [name, password], opts) => {
        say(`Adding user "${name}" ...`)
        if (await api.find(`/api/users/${seg(name!)}`))
          throw new CliError(`user '${name}' already exists`, EXIT.refused)
        await api.put(`/api/users/${seg(name!)}`, { password, tags: tagsArgument([opts['tags'] as string]) })
      }),
    )

  program
    .command('delete_user')
    .description('delete a user')
    .argument('<username>')
    .action(
      action(io, async ({ api, say }, [name]) => {
        say(`Deleting user "${name}" ...`)
        await api.delete(`/api/users/${seg(name!)}`, { subject: `user '${name}'` })
      }),
    )

  program
    .command('change_password')
    .description("change a user's password (tags kept)")
    .argument('<username>')
    .argument('<password>')
    .action(
      action(io, async ({ api, say }, [name, password]) => {
        say(`Changing password for user "${name}" ...`)
        const user = await existingUser(api, name!)
        await api.put(`/api/users/${seg(name!)}`, { password, tags: tagsArgument((user['tags'] as string[]) ?? []) })
      }),
    )

  program
    .command('set_user_tags')
    .description("replace a user's tags (none given: no tags)")
    .argument('<username>')
    .argument('[tags...]')
    .action(
      action(io, async ({ api, say }, [name, ...tags]) => {
        say(`Setting tags for user "${name}" to [${tags.join(', ')}] ...`)
        await existingUser(api, name!)
        // Without password nor password_hash the API keeps the password
        await api.put(`/api/users/${seg(name!)}`, { tags: tagsArgument(tags) })
      }),
    )

  program
    .command('add_vhost')
    .description('create a virtual host')
    .argument('<vhost>')
    .option('--description <text>', 'description')
    .action(
      action(io, async ({ api, say }, [name], opts) => {
        say(`Adding vhost "${name}" ...`)
        const description = opts['description'] as string | undefined
        await api.put(`/api/vhosts/${seg(name!)}`, description === undefined ? {} : { description })
      }),
    )

  program
    .command('delete_vhost')
    .description('delete a virtual host and everything in it')
    .argument('<vhost>')
    .action(
      action(io, async ({ api, say }, [name]) => {
        say(`Deleting vhost "${name}" ...`)
        await api.delete(`/api/vhosts/${seg(name!)}`, { subject: vhostSubject(name!) })
      }),
    )

  program
    .command('set_permissions')
    .description("set a user's configure, write and read permissions (regexes) in the vhost (-p)")
    .argument('<username>')
    .argument('<conf>')
    .argument('<write>')
    .argument('<read>')
    .action(
      action(io, async ({ api, g, say }, [user, configure, write, read]) => {
        say(`Setting permissions for user "${user}" in vhost "${g.vhost}" ...`)
        await api.put(
          `/api/permissions/${seg(g.vhost)}/${seg(user!)}`,
          { configure, write, read },
          { reasons: vhostOrUserReasons(g.vhost, user!) },
        )
      }),
    )

  program
    .command('clear_permissions')
    .description("remove a user's permissions in the vhost (-p)")
    .argument('<username>')
    .action(
      action(io, async ({ api, g, say }, [user]) => {
        say(`Clearing permissions for user "${user}" in vhost "${g.vhost}" ...`)
        await api.delete(`/api/permissions/${seg(g.vhost)}/${seg(user!)}`, {
          subject: `permissions of user '${user}' in vhost '${g.vhost}'`,
        })
      }),
    )

  program
    .command('set_topic_permissions')
    .description("set a user's topic permissions (routing key regexes) on an exchange in the vhost (-p)")
    .argument('<username>')
    .argument('<exchange>')
    .argument('<write>')
    .argument('<read>')
    .action(
      action(io, async ({ api, g, say }, [user, exchange, write, read]) => {
        say(`Setting topic permissions on "${exchange}" for user "${user}" in vhost "${g.vhost}" ...`)
        await api.put(
          `/api/topic-permissions/${seg(g.vhost)}/${seg(user!)}`,
          { exchange, write, read },
          { reasons: vhostOrUserReasons(g.vhost, user!) },
        )
      }),
    )

  // Policies and operator policies (RabbitMQ's overrides of user policies) share their commands' shape
  for (const kind of POLICY_KINDS) {
    program
      .command(`set_${kind.command}`)
      .description(`set ${kind.article} in the vhost (-p); definition is a JSON object`)
      .argument('<name>')
      .argument('<pattern>')
      .argument('<definition>')
      .option('--priority <n>', 'priority', '0')
      .addOption(
        new Option('--apply-to <kind>', 'what it applies to').choices(['queues', 'exchanges', 'all']).default('all'),
      )
      .action(
        action(io, async ({ api, g, say }, [name, pattern, definitionText], opts) => {
          const definition = parseJson(definitionText!, `${kind.words} definition`)
          const priority = Number(opts['priority'])
          if (!Number.isInteger(priority))
            throw new CliError(`priority '${String(opts['priority'])}' is not an integer`, EXIT.usage)
          say(
            `Setting ${kind.setWords} "${name}" for pattern "${pattern}" to "${definitionText}" with priority "${priority}" ...`,
          )
          await api.put(`/api/${kind.path}/${seg(g.vhost)}/${seg(name!)}`, {
            pattern,
            definition,
            priority,
            'apply-to': opts['applyTo'],
          })
        }),
      )

    program
      .command(`clear_${kind.command}`)
      .description(`remove ${kind.article} from the vhost (-p)`)
      .argument('<name>')
      .action(
        action(io, async ({ api, g, say }, [name]) => {
          say(`Clearing ${kind.words} "${name}" on vhost "${g.vhost}" ...`)
          await api.delete(`/api/${kind.path}/${seg(g.vhost)}/${seg(name!)}`, {
            subject: `${kind.words} '${name}' in vhost '${g.vhost}'`,
          })
        }),
      )
  }

  program
    .command('purge_queue')
    .description("remove a queue's ready messages")
    .argument('<queue>')
    .action(
      action(io, async ({ api, g, say }, [queue]) => {
        say(`Purging queue '${queue}' in vhost '${g.vhost}' ...`)
        await api.delete(`/api/queues/${seg(g.vhost)}/${seg(queue!)}/contents`, {
          subject: queueSubject(queue!, g.vhost),
        })
      }),
    )

  program
    .command('delete_queue')
    .description('delete a queue')
    .argument('<queue>')
    .option('--if-empty', 'only if it has no messages')
    .option('--if-unused', 'only if it has no consumers')
    .action(
      action(io, async ({ api, g, say }, [queue], opts) => {
        say(`Deleting queue '${queue}' on vhost '${g.vhost}' ...`)
        const query = new URLSearchParams()
        if (opts['ifEmpty']) query.set('if-empty', 'true')
        if (opts['ifUnused']) query.set('if-unused', 'true')
        const q = query.size > 0 ? `?${query.toString()}` : ''
        await api.delete(`/api/queues/${seg(g.vhost)}/${seg(queue!)}${q}`, { subject: queueSubject(queue!, g.vhost) })
      }),
    )

  program
    .command('close_connection')
    .description('close a client connection (name as list_connections --columns name shows it)')
    .argument('<connection>')
    .argument('[explanation]', 'the reason the client is told', 'Closed via warrenctl')
    .action(
      action(io, async ({ api, say }, [name, explanation]) => {
        say(`Closing connection ${name}, reason: ${explanation}...`)
        await api.delete(`/api/connections/${seg(name!)}`, {
          headers: { 'x-reason': explanation! },
          subject: `connection '${name}'`,
        })
      }),
    )

  program
    .command('export_definitions')
    .description("write the broker's definitions (users, vhosts, permissions, queues, ...) as JSON")
    .argument('<file>', "a file, or '-' for stdout")
    .action(
      action(io, async ({ api, out, say }, [file]) => {
        const definitions = await api.get('/api/definitions')
        const text = JSON.stringify(definitions, null, 2) + '\n'
        if (file === '-') {
          out(text)
          return
        }
        await writeFile(file!, text)
        say(`Exported definitions to ${file}`)
      }),
    )

  program
    .command('import_definitions')
    .description('import definitions from a JSON file (as export_definitions writes)')
    .argument('<file>', "a file, or '-' for stdin")
    .action(
      action(io, async ({ api, say }, [file]) => {
        let text: string
        try {
          text = file === '-' ? await readStdin() : await readFile(file!, 'utf8')
        } catch (err) {
          throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.usage)
        }
        const definitions = parseJson(text, file === '-' ? 'stdin' : file!)
        say(`Importing definitions from ${file === '-' ? 'stdin' : file} ...`)
        await api.post('/api/definitions', definitions)
      }),
    )

  return program
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
