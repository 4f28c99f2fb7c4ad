// The shape of a JSON value, for comparing two brokers' answers without comparing their values: for an
// object the set of its keys, recursively, and each value's type; for an array the shape of its elements,
// with the keys every element has told apart from those only some have.
export type Shape =
  | { type: 'null' | 'boolean' | 'number' | 'string' | 'empty-array' }
  | { type: 'object'; keys: Map<string, Shape> }
  | { type: 'array'; of: Shape; sometimes: Set<string> }
  | { type: 'mixed'; types: string[] }

export function shapeOf(value: unknown): Shape {
  if (value === null || value === undefined) return { type: 'null' }
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') {
    return { type: typeof value as 'boolean' | 'number' | 'string' }
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return { type: 'empty-array' }
    const shapes = value.map(shapeOf)
    const sometimes = new Set<string>()
    if (shapes.every((s) => s.type === 'object')) {
      const all = shapes as Extract<Shape, { type: 'object' }>[]
      for (const s of all) for (const k of s.keys.keys()) if (!all.every((o) => o.keys.has(k))) sometimes.add(k)
    }
    return { type: 'array', of: shapes.reduce(merge), sometimes }
  }
  const keys = new Map<string, Shape>()
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) keys.set(k, shapeOf(v))
  return { type: 'object', keys }
}

/** One shape for two values found in the same place (two elements of an array) */
function merge(a: Shape, b: Shape): Shape {
  if (a.type === 'object' && b.type === 'object') {
    const keys = new Map(a.keys)
    for (const [k, s] of b.keys) keys.set(k, keys.has(k) ? merge(keys.get(k)!, s) : s)
    return { type: 'object', keys }
  }
  if (a.type === 'array' && b.type === 'array') {
    return { type: 'array', of: merge(a.of, b.of), sometimes: new Set([...a.sometimes, ...b.sometimes]) }
  }
  if (a.type === 'empty-array' && (b.type === 'array' || b.type === 'empty-array')) return b
  if (b.type === 'empty-array' && a.type === 'array') return a
  if (a.type === b.type) return a
  const types = new Set([...typesOf(a), ...typesOf(b)])
  return { type: 'mixed', types: [...types].sort() }
}

const typesOf = (s: Shape): string[] => (s.type === 'mixed' ? s.types : [s.type])

export const describeShape = (s: Shape): string =>
  s.type === 'mixed' ? s.types.join('|') : s.type === 'array' ? `array of ${describeShape(s.of)}` : s.type

/**
 * Where two shapes differ, as `path: what` lines. `path` is `.key` per object level and `[]` per array
 * level; the first shape is the reference's (RabbitMQ's), the second the one checked (Warren's).
 */
export function shapeDifferences(expected: Shape, actual: Shape, path = ''): string[] {
  if (expected.type === 'object' && actual.type === 'object') {
    const out: string[] = []
    for (const [k, s] of expected.keys) {
      const a = actual.keys.get(k)
      if (!a) out.push(`${path}.${k}: missing (${describeShape(s)})`)
      else out.push(...shapeDifferences(s, a, `${path}.${k}`))
    }
    for (const [k, s] of actual.keys) if (!expected.keys.has(k)) out.push(`${path}.${k}: extra (${describeShape(s)})`)
    return out
  }
  if (expected.type === 'array' && actual.type === 'array') {
    const out = shapeDifferences(expected.of, actual.of, `${path}[]`)
    for (const k of expected.sometimes) {
      if (!actual.sometimes.has(k) && expected.of.type === 'object' && actual.of.type === 'object') {
        if (actual.of.keys.has(k)) out.push(`${path}[].${k}: in every element, expected in some only`)
      }
    }
    for (const k of actual.sometimes) {
      if (!expected.sometimes.has(k) && expected.of.type === 'object' && expected.of.keys.has(k)) {
        out.push(`${path}[].${k}: in some elements only, expected in every one`)
      }
    }
    return out
  }
  // An empty list answers the same question as a full one; a number may be a whole or a fraction
  if (expected.type === 'empty-array' && actual.type === 'array') return []
  if (expected.type === 'array' && actual.type === 'empty-array') return [`${path}: empty, expected elements`]
  if (expected.type === 'mixed' || actual.type === 'mixed') {
    const e = typesOf(expected)
    const a = typesOf(actual)
    return a.every((t) => e.includes(t))
      ? []
      : [`${path}: ${describeShape(actual)}, expected ${describeShape(expected)}`]
  }
  if (expected.type !== actual.type) return [`${path}: ${describeShape(actual)}, expected ${describeShape(expected)}`]
  return []
}
