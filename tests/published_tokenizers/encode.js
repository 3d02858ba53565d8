// Encodes texts with the published tokenizers through @lenml/tokenizers, a
// JavaScript port of transformers.js' tokenizers, as an independent
// reference for `enclave tokenize` (tests/tokenizer_reference_test.py).
//
//   node encode.js MODEL... < texts.json   (a JSON array of strings)
//
// prints {"MODEL": [[id, ...] per text], ...}, without special tokens.
"use strict";

const fs = require("fs");

const texts = JSON.parse(fs.readFileSync(0, "utf8"));
const out = {};
for (const model of process.argv.slice(2)) {
  const tokenizer = require(`@lenml/tokenizer-${model}`).fromPreTrained();
  out[model] = texts.map((text) => tokenizer.encode(text, { add_special_tokens: false }));
}
process.stdout.write(JSON.stringify(out) + "\n");
