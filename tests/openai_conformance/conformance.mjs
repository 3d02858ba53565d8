// The official `openai` client against `enclave serve`: if these pass, code
// written for OpenAI works unchanged against Enclave. Needs OPENAI_BASE_URL
// (https://127.0.0.1:PORT/v1, or http://), OPENAI_API_KEY and MODEL in the environment.
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

// --- tools: the tiny model uses the llama3 template, so calls are Llama 3.1 JSON;
// tool_choice required / named makes the server's grammar force a well-formed call.
const tools = [
  { type: "function", function: { name: "get_weather", description: "Weather in a city",
    parameters: { type: "object", properties: { city: { type: "string", maxLength: 10 },
      unit: { type: "string", enum: ["c", "f"] } }, required: ["city"], additionalProperties: false } } },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
];
function checkCall(call, name) {
  assert(call.type === "function" && call.id.startsWith("call_"), JSON.stringify(call));
  assert(!name || call.function.name === name, JSON.stringify(call));
  const args = JSON.parse(call.function.arguments);
  if (call.function.name === "get_weather") {
    // maxLength counts code points (JSON Schema), not UTF-16 units as .length does.
    assert(typeof args.city === "string" && [...args.city].length <= 10, call.function.arguments);
    assert(args.unit === undefined || ["c", "f"].includes(args.unit), call.function.arguments);
  }
}

await check("tools: tool_choice required gives tool_calls", async () => {
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({ model, messages, tools, tool_choice: "required", seed, max_tokens: 200 });
    const m = r.choices[0].message;
    assert(r.choices[0].finish_reason === "tool_calls", JSON.stringify(r));
    assert(m.content === null && m.tool_calls.length === 1, JSON.stringify(m));
    checkCall(m.tool_calls[0]);
  }
});

await check("tools: a named tool_choice calls that function", async () => {
  const r = await client.chat.completions.create({ model, messages, tools, seed: 4, max_tokens: 200,
    tool_choice: { type: "function", function: { name: "get_weather" } } });
  checkCall(r.choices[0].message.tool_calls[0], "get_weather");
});

await check("tools: streamed tool calls assemble in the client's stream helper", async () => {
  const params = { model, messages, tools, tool_choice: "required", seed: 6, max_tokens: 200 };
  const whole = await client.chat.completions.create(params);
  const runner = client.beta.chat.completions.stream(params);
  const final = await runner.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  checkCall(call);
  assert(final.choices[0].finish_reason === "tool_calls", JSON.stringify(final));
  const expected = whole.choices[0].message.tool_calls[0];
  assert(call.function.name === expected.function.name && call.function.arguments === expected.function.arguments,
         `${JSON.stringify(call)} != ${JSON.stringify(expected)}`);
  // The raw deltas: the first names the call, later ones carry arguments, all at index 0.
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const deltas = [];
  for await (const chunk of stream) {
    for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) deltas.push(d);
  }
  assert(deltas.length >= 2 && deltas[0].id.startsWith("call_") && deltas[0].function.name === expected.function.name,
         JSON.stringify(deltas));
  assert(deltas.every((d) => d.index === 0), JSON.stringify(deltas));
  assert(deltas.map((d) => d.function.arguments ?? "").join("") === expected.function.arguments, JSON.stringify(deltas));
});

await check("tools: tool messages continue the conversation", async () => {
  const convo = [
    ...messages,
    { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function",
      function: { name: "get_weather", arguments: '{"city":"Seoul"}' } }] },
    { role: "tool", tool_call_id: "call_1", content: '{"temp": 3}' },
  ];
  const r = await client.chat.completions.create({ model, messages: convo, tools, max_tokens: 8, seed: 1 });
  assert(["stop", "length", "tool_calls"].includes(r.choices[0].finish_reason), JSON.stringify(r));
  const none = await client.chat.completions.create({ model, messages: convo, tools, tool_choice: "none", max_tokens: 8 });
  assert(typeof none.choices[0].message.content === "string" && !none.choices[0].message.tool_calls,
         JSON.stringify(none));
});

await check("tools: a malformed tool is BadRequestError naming it", async () => {
  try {
    await client.chat.completions.create({ model, messages, tools: [{ type: "function", function: { name: "bad name" } }] });
  } catch (e) {
    assert(e instanceof OpenAI.BadRequestError && e.param === "tools[0].function.name", `${e} ${e.param}`);
    return;
  }
  throw new Error("a function name with a space was accepted");
});

await check("errors: an unknown parameter is BadRequestError naming it", async () => {
  try {
    await client.chat.completions.create({ model, messages, max_tokns: 5 });
  } catch (e) {
    assert(e instanceof OpenAI.BadRequestError && e.param === "max_tokns", `${e} ${e.param}`);
    return;
  }
  throw new Error("max_tokns was accepted");
});

await check("response_format json_schema with the client", async () => {
  const schema = { type: "object", properties: { answer: { type: "string", maxLength: 20 },
    confidence: { type: "number", minimum: 0, maximum: 1 } }, required: ["answer", "confidence"],
    additionalProperties: false };
  const r = await client.chat.completions.create({ model, messages, max_tokens: 120, seed: 3,
    response_format: { type: "json_schema", json_schema: { name: "reply", schema, strict: true } } });
  const v = JSON.parse(r.choices[0].message.content);
  assert(typeof v.answer === "string" && v.confidence >= 0 && v.confidence <= 1, r.choices[0].message.content);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
