// The package ships no types; its one export is the parser (test/helpers/prometheus-text.ts narrows the result)
declare module 'parse-prometheus-text-format' {
  export default function parse(text: string): unknown
}
