// A Node `ws` client (the npm WebSocket library) as a test peer of the event API's WebSocket stream /ws/streams/{topic}
// (EventApiGraphQlIT): prints every text frame as one JSON line ({"frame": ...}) and ends after `count` frames
// ({"done": n}), when the server closes ({"closed": {code, reason}}) or after timeoutMs.
// Usage: node ws-stream.mjs <ws-url> <count> [timeout-ms]
import WebSocket from 'ws';

const [url, countArg, timeoutArg] = process.argv.slice(2);
const count = Number(countArg);
let received = 0;
let finished = false;
const ws = new WebSocket(url);

function finish(line, code) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify(line));
  ws.terminate();
  setTimeout(() => process.exit(code), 100);
}

setTimeout(() => finish({ timeout: received }, 4), Number(timeoutArg || 40000));
ws.on('unexpected-response', (req, res) => finish({ status: res.statusCode }, 2));
ws.on('error', (e) => finish({ error: e.message }, 2));
ws.on('close', (code, reason) => finish({ closed: { code, reason: reason.toString() } }, received >= count ? 0 : 3));
ws.on('message', (data, isBinary) => {
  if (isBinary) return;
  console.log(JSON.stringify({ frame: JSON.parse(data.toString()) }));
  received += 1;
  if (received >= count) finish({ done: received }, 0);
});
