import { defineConfig } from '@playwright/test';

/**
 * Debian's Chromium, never a downloaded browser. SwiftShader gives WebGL2 on CPUs without a GPU.
 * One worker: a federation of browser tabs already shares this machine's two cores.
 */
export default defineConfig({
  testDir: './tests',
  timeout: 20 * 60_000,
  expect: { timeout: 30_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding',
        '--disable-backgrounding-occluded-windows',
        '--enable-unsafe-swiftshader',
      ],
    },
    // A navigation or click that hangs fails with a message instead of running into the 20-minute test limit.
    navigationTimeout: 60_000,
    actionTimeout: 60_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
