// jest for labextension/src/__tests__: JupyterLab's preset (ts-jest + babel for the ES
// modules that @jupyterlab/* and their dependencies ship).
const jestJupyterLab = require('@jupyterlab/testing/lib/jest-config');

const esModules = [
  '@codemirror',
  '@jupyter/ydoc',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@microsoft',
  '@jupyterlab/',
  'exenv-es6',
  'lib0',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  reporters: ['default'],
  transform: {
    ...baseConfig.transform,
    '^.+\\.tsx?$': ['ts-jest/legacy', { tsconfig: './tsconfig.test.json' }]
  },
  roots: ['<rootDir>/labextension/src'],
  testRegex: 'labextension/src/__tests__/.*\\.spec\\.tsx?$',
  collectCoverageFrom: [
    'labextension/src/**/*.{ts,tsx}',
    '!labextension/src/**/*.d.ts'
  ],
  coverageReporters: ['text-summary'],
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
