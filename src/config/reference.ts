// The help text and docs/configuration.md, both rendered from the settings table (settings.ts).
import { COMMANDS, SETTINGS, envNames, type Setting } from './settings.js'

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line)
      line = word
    } else line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(indent + line)
  return lines
}

function flagForm(setting: Setting): string {
  return setting.arg === undefined ? `--${setting.flag}` : `--${setting.flag} ${setting.arg}`
}

function fileKeys(setting: Setting): string[] {
  return [...setting.keys, ...(setting.fileForms ?? [])]
}

export function renderHelp(): string {
  const out = [
    'Usage: warren [options]',
    'Each setting comes from its flag, else its environment variable, else the config file (rabbitmq.conf',
    'syntax), else its default. Sizes take units (50MB, 512MiB, 2GB); a fraction (0.4) is of the RAM.',
    '',
  ]
  for (const setting of SETTINGS) {
    out.push(setting.noFlag ? `  (no flag) ${envNames(setting)[0]}` : `  ${flagForm(setting)}`)
    out.push(...wrap(setting.help, 100, '      '))
    const sources = [`default ${setting.default}`, `env ${envNames(setting).join(', ')}`]
    const keys = fileKeys(setting)
    if (keys.length > 0) sources.push(`file ${keys.join(', ')}`)
    out.push(...wrap(sources.join('; '), 100, '      '))
  }
  for (const command of COMMANDS) out.push(`  -${command.short}, --${command.flag}`, `      ${command.help}`)
  return out.join('\n')
}

const INTRO = `# Configuration

<!-- Generated from src/config/settings.ts by \`node scripts/gen-config-docs.mjs\`; do not edit by hand. -->

Warren reads each setting from, in this order (the first that has it wins):

1. its command-line flag (\`warren --port 5673\`, \`npm start -- --port 5673\`);
2. its environment variable (\`WARREN_PORT=5673\`; a few of RabbitMQ's container variables too);
3. the config file named by \`--config FILE\` (or \`WARREN_CONFIG_FILE\`, or RabbitMQ's \`RABBITMQ_CONFIG_FILE\`),
   written in [rabbitmq.conf](https://www.rabbitmq.com/docs/configure#config-file) syntax with RabbitMQ's
   key names, so that an operator's file carries over;
4. its default.

The file holds one \`key = value\` a line; lines starting with \`#\` are comments. A key that Warren does not
know (a RabbitMQ plugin's, say) is reported as a warning at start, not an error. Settings RabbitMQ does not
have use keys under \`warren.\`.

\`\`\`ini
listeners.tcp.default = 5672
default_user = admin
default_pass = s3cret
loopback_users = none
vm_memory_high_watermark.relative = 0.4
disk_free_limit.absolute = 2GB
consumer_timeout = 900000
management.tcp.port = 15672
log.console.level = warning
\`\`\`

Sizes are bytes, with RabbitMQ's units if wanted: \`kB\`, \`MB\`, \`GB\` (powers of 1000) and \`k\`/\`KiB\`,
\`M\`/\`MiB\`, \`G\`/\`GiB\` (powers of 1024). Where a size may be relative, a number with a decimal point is a
fraction of the machine's RAM (\`0.4\`, \`1.0\`). \`warren --help\` prints the same list as below;
\`warren --version\` prints the version.

## Settings
`

export function renderReference(): string {
  const out = [INTRO]
  for (const setting of SETTINGS) {
    out.push(`### ${setting.noFlag ? `\`${envNames(setting)[0]}\`` : `\`${flagForm(setting)}\``}`, '', setting.help, '')
    out.push(`- default: ${setting.default}`)
    out.push(
      `- environment: ${envNames(setting)
        .map((name) => `\`${name}\``)
        .join(', ')}`,
    )
    const keys = fileKeys(setting)
    if (keys.length > 0) out.push(`- rabbitmq.conf: ${keys.map((key) => `\`${key}\``).join(', ')}`)
    out.push('')
  }
  return out.join('\n')
}
