// The official OpenAI Node client against a MagicPIG gateway: completions and chat, streamed and
// not, errors. GatewayOpenAiClientTest starts the gateway and runs this with
//   MAGICPIG_BASE_URL=http://127.0.0.1:PORT/v1 MAGICPIG_MODEL=NAME [MAGICPIG_API_KEY=KEY] node openai-client.test.mjs
// (with a key, a wrong key must get 401; without one, the server must not ask for one).
// It prints one line per check and exits non-zero on the first failure.
import OpenAI from 'openai';
import assert from 'node:assert/strict';

const model = process.env.MAGICPIG_MODEL;
const client = new OpenAI({
  baseURL: process.env.MAGICPIG_BASE_URL,
  apiKey: process.env.MAGICPIG_API_KEY ?? 'none', // without a key the server must not ask for one
  maxRetries: 0,
  timeout: 60_000,
});

async function check(name, fn) {
  await fn();
  console.log(`ok - ${name}`);
}

await check('models.list names the served model', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, [model]);
});

let completionText;
await check('completions.create', async () => {
  const r = await client.completions.create({ model, prompt: 'Hello from Node', max_tokens: 12, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 1);
  assert.equal(typeof r.choices[0].text, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  completionText = r.choices[0].text;
});

await check('completions.create stream with usage gives the same text', async () => {
  const stream = await client.completions.create({
    model, prompt: 'Hello from Node', max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, completionText);
  assert.ok(finish === 'stop' || finish === 'length');
  assert.ok(usage && usage.completion_tokens > 0, 'usage arrives in the last chunk');
  assert.ok(chunks > 2, `streamed in pieces (${chunks} chunks)`);
});

let chatText;
await check('chat.completions.create', async () => {
  const r = await client.chat.completions.create({
    model, temperature: 0, max_tokens: 12,
    messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hi' }],
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  chatText = r.choices[0].message.content;
});

await check('chat.completions.create stream gives the same text', async () => {
  const stream = await client.chat.completions.create({
    model, temperature: 0, max_tokens: 12, stream: true,
    messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hi' }],
  });
  let text = '';
  let role = null;
  let finish = null;
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta ?? {};
    if (d.role) role = d.role;
    if (d.content) text += d.content;
    if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.equal(role, 'assistant');
  assert.equal(text, chatText);
  assert.ok(finish === 'stop' || finish === 'length');
});

await check('stop strings end the text', async () => {
  const stop = completionText.slice(4, 6);
  const r = await client.completions.create({ model, prompt: 'Hello from Node', max_tokens: 12, temperature: 0, stop: [stop] });
  assert.equal(r.choices[0].text, completionText.slice(0, completionText.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
});

await check('errors arrive as the client\'s typed errors', async () => {
  await assert.rejects(client.completions.create({ model: 'no-such-model', prompt: 'x' }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && /does not exist/.test(e.message));
  await assert.rejects(client.completions.create({ model, prompt: 'x', max_tokens: -1 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'max_tokens');
  if (process.env.MAGICPIG_API_KEY) {
    const wrongKey = new OpenAI({ baseURL: process.env.MAGICPIG_BASE_URL, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(wrongKey.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  }
});

console.log('all checks passed');
