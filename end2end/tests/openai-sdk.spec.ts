// The official OpenAI Node SDK (a client no one here wrote) against Realms, with the mock upstream
// behind an OpenAI-type channel: chat (whole and streamed), responses (whole and streamed), the
// models list, and the SDK's typed errors. The usage log then names the API of each request.
import { test, expect } from "./realms";
import OpenAI from "openai";

const ANSWER = "Hello from the mock upstream.";

test("the OpenAI SDK works through Realms", async ({ realms, mock }) => {
  test.setTimeout(60_000);
  const ok = realms.ok;
  await ok(["user", "create", "--email", "dev@example.com"], { REALMS_PASSWORD: "password123" });
  await ok(["balance", "add", "--user", "dev@example.com", "--usd", "20", "--reason", "e2e"]);
  const token = (await ok(["token", "create", "--user", "dev@example.com", "--name", "sdk"])).trim().split("\n").pop()!;
  // The base URL with /v1, as OpenAI-compatible providers document it: never doubled.
  await ok(["channel", "create", "--name", "oai", "--type", "openai", "--base-url", `${mock.url}/v1`, "--key", mock.key]);
  await ok(["channel", "create", "--name", "ant", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  await ok(["model", "create", "--id", "gpt-e2e", "--input-price", "2", "--output-price", "8"]);
  await ok(["model", "create", "--id", "claude-e2e", "--input-price", "3", "--output-price", "15"]);
  await ok(["binding", "create", "--model", "gpt-e2e", "--channel", "oai"]);
  await ok(["binding", "create", "--model", "claude-e2e", "--channel", "ant"]);

  const client = new OpenAI({ baseURL: `${realms.url}/v1`, apiKey: token, maxRetries: 0 });
  // The running instance picks the CLI's changes up by itself (within about a second).
  await expect
    .poll(async () => (await client.models.list()).data.map((m) => m.id).sort().join(","), { timeout: 10_000 })
    .toBe("claude-e2e,gpt-e2e");
  const model = await client.models.retrieve("gpt-e2e");
  expect(model.id).toBe("gpt-e2e");

  const chat = await client.chat.completions.create({
    model: "gpt-e2e",
    messages: [{ role: "user", content: "hello" }],
  });
  expect(chat.choices[0].message.content).toBe(ANSWER);
  expect(chat.usage?.prompt_tokens).toBe(12);

  const stream = await client.chat.completions.create({
    model: "gpt-e2e",
    messages: [{ role: "user", content: "hello" }],
    stream: true,
  });
  let text = "";
  let usageChunks = 0;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    if (chunk.usage) usageChunks += 1;
  }
  expect(text).toBe(ANSWER);
  expect(usageChunks, "no usage chunk the client did not ask for").toBe(0);

  const asked = await client.chat.completions.create({
    model: "gpt-e2e",
    messages: [{ role: "user", content: "hello" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let reported = 0;
  for await (const chunk of asked) if (chunk.usage) reported = chunk.usage.completion_tokens;
  expect(reported).toBe(7);

  const response = await client.responses.create({ model: "gpt-e2e", input: "hello" });
  expect(response.output_text).toBe(ANSWER);
  const events: string[] = [];
  const streamed = await client.responses.create({ model: "gpt-e2e", input: "hello", stream: true });
  for await (const event of streamed) events.push(event.type);
  expect(events).toContain("response.completed");

  // Typed errors.
  const bad = new OpenAI({ baseURL: `${realms.url}/v1`, apiKey: "rlm_not-a-real-token-at-all-0000000000000000", maxRetries: 0 });
  await expect(bad.chat.completions.create({ model: "gpt-e2e", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(
    OpenAI.AuthenticationError,
  );
  await expect(client.chat.completions.create({ model: "gpt-nope", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(
    OpenAI.NotFoundError,
  );
  const wrongApi = client.chat.completions.create({ model: "claude-e2e", messages: [{ role: "user", content: "x" }] });
  await expect(wrongApi).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  await expect(wrongApi).rejects.toThrow(/Anthropic channels only/);

  // The usage log names the API of each request.
  await expect
    .poll(async () => {
      const lines = (await ok(["usage", "list", "--json"])).trim().split("\n").filter(Boolean);
      return lines.map((l) => JSON.parse(l).api).sort().join(",");
    }, { timeout: 10_000 })
    .toBe("chat.completions,chat.completions,chat.completions,chat.completions,chat.completions,responses,responses");
});
