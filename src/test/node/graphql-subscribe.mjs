// The graphql-ws client (the npm library that speaks graphql-transport-ws) as a test peer of the event API's GraphQL
// (EventApiGraphQlIT): subscribes with the query and variables given, prints every result as one JSON line
// ({"next": payload}), and ends after `count` results ({"done": n}), on an error ({"error": ...}) or after timeoutMs.
// Usage: node graphql-subscribe.mjs <ws-url> <query> <variables-json> <count> [connection-params-json] [timeout-ms]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, query, variablesJson, countArg, paramsJson, timeoutArg] = process.argv.slice(2);
const count = Number(countArg);
const timeoutMs = Number(timeoutArg || 40000);
let received = 0;
let finished = false;

function finish(line, code) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify(line));
  client.dispose();
  setTimeout(() => process.exit(code), 100);
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: paramsJson ? JSON.parse(paramsJson) : undefined,
  retryAttempts: 0,
  lazy: true,
  on: {
    closed: (event) => finish({ closed: { code: event.code, reason: event.reason } }, 3),
  },
});

setTimeout(() => finish({ timeout: received }, 4), timeoutMs);

client.subscribe(
  { query, variables: JSON.parse(variablesJson || '{}') },
  {
    next: (payload) => {
      console.log(JSON.stringify({ next: payload }));
      received += 1;
      if (received >= count) finish({ done: received }, 0);
    },
    error: (error) => finish(Array.isArray(error) ? { error }
      : error && error.code ? { closed: { code: error.code, reason: error.reason } }
        : { error: (error && error.message) || String(error) }, 2),
    complete: () => finish({ complete: received }, received >= count ? 0 : 5),
  },
);
