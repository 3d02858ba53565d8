// The official `openai` client against `enclave serve`: if these pass, code
// written for OpenAI works unchanged against Enclave. Needs OPENAI_BASE_URL
// (http://127.0.0.1:PORT/v1), OPENAI_API_KEY and MODEL in the environment.
import OpenAI from "openai";

const baseURL = process.env.OPENAI_BASE_URL;
const model = process.env.MODEL;
const client = new OpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY, maxRetries: 0 });
const messages = [{ role: "user", content: "Tell me about the fox." }];

let passed = 0;
let failed = 0;
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`PASS ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

await check("models.list", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert(ids.includes(model), `models: ${JSON.stringify(ids)}`);
});

await check("chat.completions.create", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 8, seed: 1 });
  assert(r.object === "chat.completion", JSON.stringify(r));
  assert(r.choices[0].message.role === "assistant", JSON.stringify(r));
  assert(typeof r.choices[0].message.content === "string", JSON.stringify(r));
  assert(["stop", "length"].includes(r.choices[0].finish_reason), JSON.stringify(r));
  assert(r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, JSON.stringify(r.usage));
});

await check("chat.completions.create stream", async () => {
  const params = { model, messages, max_tokens: 12, temperature: 0.7, seed: 5 };
  const whole = await client.chat.completions.create(params);
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    text += chunk.choices[0].delta.content ?? "";
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert(text === whole.choices[0].message.content, `stream ${JSON.stringify(text)} != ${JSON.stringify(whole)}`);
  assert(finish === whole.choices[0].finish_reason, `finish ${finish}`);
  assert(usage && usage.completion_tokens === whole.usage.completion_tokens, `usage ${JSON.stringify(usage)}`);
});

await check("chat stream helper (runner)", async () => {
  const runner = client.beta.chat.completions.stream({ model, messages, max_tokens: 6, seed: 2 });
  const final = await runner.finalChatCompletion();
  assert(final.choices[0].message.role === "assistant", JSON.stringify(final));
});

await check("completions.create", async () => {
  const r = await client.completions.create({ model, prompt: "The quick brown fox", max_tokens: 6, stop: ["\n"], logprobs: 2 });
  assert(r.object === "text_completion", JSON.stringify(r));
  assert(typeof r.choices[0].text === "string", JSON.stringify(r));
  assert(r.choices[0].logprobs.tokens.length === r.usage.completion_tokens || r.choices[0].finish_reason === "stop",
         JSON.stringify(r));
});

await check("completions.create stream", async () => {
  const params = { model, prompt: "Once upon a time", max_tokens: 10, seed: 9 };
  const whole = await client.completions.create(params);
  const stream = await client.completions.create({ ...params, stream: true });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
  assert(text === whole.choices[0].text, `stream ${JSON.stringify(text)} != ${JSON.stringify(whole.choices[0].text)}`);
});

await check("errors: bad key is AuthenticationError", async () => {
  const bad = new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 });
  try {
    await bad.models.list();
  } catch (e) {
    assert(e instanceof OpenAI.AuthenticationError && e.status === 401, `${e}`);
    return;
  }
  throw new Error("no error for a bad key");
});

await check("errors: out-of-range parameter is BadRequestError", async () => {
  try {
    await client.chat.completions.create({ model, messages, temperature: 5 });
  } catch (e) {
    assert(e instanceof OpenAI.BadRequestError && e.status === 400, `${e}`);
    assert(e.param === "temperature", `param ${e.param}`);
    return;
  }
  throw new Error("temperature 5 was accepted");
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
