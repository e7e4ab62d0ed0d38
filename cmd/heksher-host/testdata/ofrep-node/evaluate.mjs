// A driver for OpenFeature's Node server SDK with its OFREP provider,
// pointed at a heksher-host: it reads one JSON command per line on stdin,
//   {"type": "boolean"|"string"|"number"|"object", "key": …, "default": …, "context": {…}}
// evaluates it through the SDK, and writes the evaluation details as one
// JSON line on stdout. HEKSHER_HOST is the host's admin URL;
// HEKSHER_TOKEN, if set, its admin token.
import { createInterface } from 'node:readline';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`node ${process.versions.node} is too old: the OpenFeature packages need node 20 or newer`);
  process.exit(2);
}

const headers = process.env.HEKSHER_TOKEN ? { Authorization: `Bearer ${process.env.HEKSHER_TOKEN}` } : {};
await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: process.env.HEKSHER_HOST, headers }));
const client = OpenFeature.getClient();

const methods = {
  boolean: (k, d, c) => client.getBooleanDetails(k, d, c),
  string: (k, d, c) => client.getStringDetails(k, d, c),
  number: (k, d, c) => client.getNumberDetails(k, d, c),
  object: (k, d, c) => client.getObjectDetails(k, d, c),
};

console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  const d = await methods[cmd.type](cmd.key, cmd.default, cmd.context ?? {});
  console.log(JSON.stringify({
    value: d.value, reason: d.reason, variant: d.variant ?? null,
    errorCode: d.errorCode ?? null, errorMessage: d.errorMessage ?? null, flagMetadata: d.flagMetadata ?? {},
  }));
}
await OpenFeature.close();
