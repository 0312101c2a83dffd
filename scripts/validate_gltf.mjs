#!/usr/bin/env node
// Validate glTF/GLB files with the Khronos glTF validator (npm `gltf-validator`).
//   node scripts/validate_gltf.mjs FILE [FILE...]
// Prints one JSON object per run: {"files": [{file, errors, warnings, infos, hints, messages}], "ok": bool}.
// Exits 0 only when every file has zero errors and zero warnings; 1 otherwise; 2 on bad usage.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let validator;
try {
  validator = require("gltf-validator");
} catch (e) {
  console.error("error: gltf-validator is not installed; run `npm install` in scripts/ (or bash scripts/setup.sh --test)");
  process.exit(2);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/validate_gltf.mjs FILE.glb [FILE.gltf ...]");
  process.exit(2);
}

const results = [];
let ok = true;
for (const file of files) {
  let bytes;
  try {
    bytes = new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    results.push({ file, errors: 1, warnings: 0, infos: 0, hints: 0, messages: [{ code: "IO_ERROR", message: String(e) }] });
    ok = false;
    continue;
  }
  try {
    const report = await validator.validateBytes(bytes, {
      uri: path.basename(file),
      maxIssues: 100,
      externalResourceFunction: (uri) =>
        new Promise((resolve, reject) => {
          fs.readFile(path.resolve(path.dirname(file), decodeURIComponent(uri)), (err, data) =>
            err ? reject(err.toString()) : resolve(new Uint8Array(data)),
          );
        }),
    });
    const issues = report.issues;
    const entry = {
      file,
      errors: issues.numErrors,
      warnings: issues.numWarnings,
      infos: issues.numInfos,
      hints: issues.numHints,
      messages: issues.messages.map((m) => ({ code: m.code, severity: m.severity, message: m.message, pointer: m.pointer })),
    };
    if (entry.errors > 0 || entry.warnings > 0) ok = false;
    results.push(entry);
  } catch (e) {
    results.push({ file, errors: 1, warnings: 0, infos: 0, hints: 0, messages: [{ code: "VALIDATOR_FAILED", message: String(e) }] });
    ok = false;
  }
}
console.log(JSON.stringify({ validator: validator.version(), ok, files: results }, null, 2));
process.exit(ok ? 0 : 1);
