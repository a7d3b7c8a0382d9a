// Validates an AsyncAPI document with the AsyncAPI initiative's own parser (@asyncapi/parser) and prints every
// diagnostic as JSON: {"errors":n,"warnings":n,"diagnostics":[{severity,code,message,path}]}. Exit 0 when parsed.
// Used by AsyncApiDocumentIT; run by hand: node src/test/node/validate-asyncapi.mjs asyncapi.yaml
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';

const file = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(file, 'utf8'));
const out = diagnostics.map(d => ({ severity: d.severity, code: d.code, message: d.message, path: d.path.join('/') }));
console.log(JSON.stringify({
  parsed: document !== undefined,
  errors: out.filter(d => d.severity === 0).length,
  warnings: out.filter(d => d.severity === 1).length,
  diagnostics: out,
}));
