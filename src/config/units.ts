// Values as rabbitmq.conf writes them: sizes with RabbitMQ's information units, fractions of the machine's
// memory, booleans. Every parser names the setting in its error, so a bad value says where to look.

/**
 * RabbitMQ's information units (rabbit_resource_monitor_misc:parse_information_unit): k, kiB, M, MiB, G,
 * GiB are powers of 1024; kB, MB, GB powers of 1000; case-insensitive spellings as RabbitMQ accepts them.
 */
const UNITS: ReadonlyMap<string, number> = new Map([
  ...['k', 'K', 'kiB', 'KiB', 'kib', 'KIB'].map((u) => [u, 1024] as const),
  ...['kB', 'KB', 'kb', 'Kb'].map((u) => [u, 1000] as const),
  ...['m', 'M', 'MiB', 'mib', 'MIB'].map((u) => [u, 1024 ** 2] as const),
  ...['MB', 'mb', 'Mb'].map((u) => [u, 1000 ** 2] as const),
  ...['g', 'G', 'GiB', 'gib', 'GIB'].map((u) => [u, 1024 ** 3] as const),
  ...['GB', 'gb', 'Gb'].map((u) => [u, 1000 ** 3] as const),
  ...['t', 'T', 'TiB', 'tib', 'TIB'].map((u) => [u, 1024 ** 4] as const),
  ...['TB', 'tb', 'Tb'].map((u) => [u, 1000 ** 4] as const),
])

export class SettingError extends Error {}

export function integer(name: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new SettingError(`${name} must be an integer from ${min} to ${max}, got '${value}'`)
  return n
}

/** Bytes: an integer, optionally with a unit (2GB, 512MiB, 50MB, 1G). */
export function size(name: string, value: string, min: number, max: number): number {
  const match = /^(\d+)\s*([a-zA-Z]+)?$/.exec(value.trim())
  const unit = match?.[2] === undefined ? 1 : UNITS.get(match[2])
  const n = match && unit !== undefined ? Number(match[1]) * unit : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new SettingError(
      `${name} must be a size from ${min} to ${max} bytes (units: kB MB GB, KiB MiB GiB), got '${value}'`,
    )
  return n
}

/** A fraction of something (the machine's memory): a number with a decimal point, 0.4 or 1.0 */
export function isFraction(value: string): boolean {
  return /^\d*\.\d+$/.test(value.trim())
}

/** Bytes, or a fraction of `whole` when written with a decimal point (0.4 = 40%). */
export function sizeOrFraction(name: string, value: string, whole: number, max: number): number {
  if (!isFraction(value)) return size(name, value, 0, max)
  const fraction = Number(value)
  if (!(fraction >= 0) || fraction > 100) throw new SettingError(`${name}: '${value}' is not a usable fraction`)
  return Math.floor(whole * fraction)
}

/** true/false as rabbitmq.conf writes them; 1/0 and yes/no as environment variables often do. */
export function boolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase()
  if (v === 'true' || v === '1' || v === 'yes') return true
  if (v === 'false' || v === '0' || v === 'no' || v === '') return false
  throw new SettingError(`${name} must be true or false, got '${value}'`)
}
