#!/usr/bin/env node
// node tools/mermaid/check.mjs FILE.mmd...: parse each file with mermaid's own
// parser - the one the site's browser runs - and print FILE: <diagram type>, or
// FILE: error: <what mermaid said>. Exit 1 if any file fails, 2 on a usage error.
// tests/test_docs_site.py writes each ```mermaid block of docs/ to such a file.
//
// mermaid is written for browsers: a few diagram types (state diagrams among
// them) sanitize labels with DOMPurify, which needs a DOM. jsdom provides one;
// nothing is rendered, so no browser is needed.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
// Imported only now: mermaid looks for the DOM when it loads.
const { default: mermaid } = await import("mermaid");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tools/mermaid/check.mjs DIAGRAM.mmd...");
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  try {
    const { diagramType } = await mermaid.parse(readFileSync(file, "utf8"));
    console.log(`${file}: ${diagramType}`);
  } catch (error) {
    failed += 1;
    const message = String(error?.message ?? error).replace(/\s*\n\s*/g, " | ");
    console.log(`${file}: error: ${message}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
