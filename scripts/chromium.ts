// The one description of the headless Chromium that the browser suites, the consumer tests and the
// browser benchmarks drive: Debian's chromium package, never a downloaded browser.

/** Where Debian's chromium is; CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags that give WebGL2 and WebGPU (SwiftShader) headless, as root, without network chatter. */
export const FLAGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
];
