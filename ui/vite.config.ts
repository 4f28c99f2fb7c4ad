// The web UI's build (scripts/build.sh runs `vite build ui`): Preact through Vite's own JSX transform (oxc,
// automatic runtime importing from preact: no Babel), bundled with uPlot and the CSS into ../dist/ui, which
// the management listener serves (src/management/ui.ts). Asset names carry a content hash, so the server
// may let browsers cache them for good; index.html is served uncached.
import { defineConfig } from 'vite'

export default defineConfig({
  // index.html refers to ./assets/..., so the UI works behind a proxy under any path prefix
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: no source maps shipped in the package, no inlined assets to check
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 300,
  },
  logLevel: 'warn',
})
