// Babel for jest only (the ES modules of @jupyterlab/* and their dependencies).
module.exports = require('@jupyterlab/testing/lib/babel-config');
