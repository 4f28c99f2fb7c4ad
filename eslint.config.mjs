import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// Each layer imports only the layers below it: protocol and store know nothing of broker or server;
// broker knows nothing of server.
const upperLayers = (...layers) => ({
  'no-restricted-imports': [
    'error',
    { patterns: layers.flatMap((layer) => [`../${layer}/*`, `**/${layer}/*`, `../${layer}.js`, `**/${layer}.js`]) },
  ],
})

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'src/protocol/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // A promise nobody awaits or catches loses its error (an unhandled rejection ends the process)
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs these itself and reports their failures
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Protocol dispatch switches on AMQP ids; exhaustive cases are checked by tests
      'no-case-declarations': 'off',
    },
  },
  {
    // Plain JavaScript (scripts, this file) is not part of the TypeScript project
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  // The web UI runs in the browser: DOM globals, its own tsconfig (ui/tsconfig.json: DOM lib, Preact JSX)
  {
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: false, project: ['./ui/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        localStorage: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        Response: 'readonly',
        Blob: 'readonly',
        File: 'readonly',
        HTMLElement: 'readonly',
        HTMLDivElement: 'readonly',
        HTMLDialogElement: 'readonly',
        Element: 'readonly',
        Event: 'readonly',
        ResizeObserver: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        URLSearchParams: 'readonly',
        atob: 'readonly',
        btoa: 'readonly',
        addEventListener: 'readonly',
        removeEventListener: 'readonly',
        getComputedStyle: 'readonly',
      },
    },
  },
  { files: ['src/protocol/**/*.ts'], rules: upperLayers('server', 'broker', 'store', 'config', 'auth') },
  { files: ['src/store/**/*.ts'], rules: upperLayers('server', 'broker', 'auth') },
  { files: ['src/broker/**/*.ts'], rules: upperLayers('server') },
  // warrenctl is an HTTP client of the management API: no broker code in it
  {
    files: ['src/cli/**/*.ts'],
    rules: upperLayers('server', 'broker', 'store', 'protocol', 'auth', 'config', 'management', 'util'),
  },
)
