// Validates an AsyncAPI document with the official parser (@asyncapi/parser).
// Usage: node validate-asyncapi.mjs FILE
// Prints {"valid": bool, "version": "...", "diagnostics": [...]} on stdout; exits 1 when the
// parser reports an error (severity 0), 2 when the file cannot be read.
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate-asyncapi.mjs FILE');
  process.exit(2);
}
let text;
try {
  text = await readFile(file, 'utf8');
} catch (error) {
  console.error(`cannot read ${file}: ${error.message}`);
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text, { source: file });
const severities = ['error', 'warning', 'information', 'hint'];
const report = {
  valid: document !== undefined && !diagnostics.some((d) => d.severity === DiagnosticSeverity.Error),
  version: document ? document.version() : null,
  channels: document ? document.channels().all().map((c) => c.id()) : [],
  operations: document
    ? document.operations().all().map((o) => ({ id: o.id(), action: o.action(), channel: o.channels().all().map((c) => c.id()) }))
    : [],
  diagnostics: diagnostics.map((d) => ({
    severity: severities[d.severity] ?? String(d.severity),
    code: d.code,
    message: d.message,
    path: d.path.join('/'),
  })),
};
console.log(JSON.stringify(report, null, 2));
process.exit(report.valid ? 0 : 1);
