/**
 * Playwright configuration of isocell's browser tests: Galata's defaults, Debian's
 * chromium (Playwright cannot download its own browsers here), and JupyterLab started by
 * start-lab.sh with isocell's server extension.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// Another Jupyter may hold 8888 on a developer's machine: ISOCELL_UI_PORT moves the tests.
const port = process.env.ISOCELL_UI_PORT || '8888';
const url = `http://localhost:${port}`;

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: './test-results',
  // A real environment is built during the tests: give each test room.
  timeout: 240000,
  expect: { timeout: 30000 },
  workers: 1,
  retries: 0,
  reporter: [
    ['list'],
    ['html', { open: 'never', outputFolder: 'playwright-report' }]
  ],
  use: {
    ...baseConfig.use,
    baseURL: url,
    viewport: { width: 1280, height: 720 },
    trace: 'retain-on-failure',
    video: 'off',
    launchOptions: {
      executablePath: chromium,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic'
      ]
    }
  },
  webServer: {
    command: 'bash start-lab.sh',
    url: `${url}/lab`,
    timeout: 120000,
    // Only a server started for these tests has isocell's extension and a throwaway home.
    reuseExistingServer: process.env.ISOCELL_UI_REUSE === '1',
    stdout: 'ignore',
    stderr: 'pipe'
  }
};
