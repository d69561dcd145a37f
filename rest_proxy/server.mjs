// One REST budget for every process of the bot: @discordjs/proxy in front of Discord's API.
//
//     node rest_proxy/server.mjs --port 8790 --api https://discord.com/api/v10
//
// Every process of the bot sends its REST calls here (DISCORD_API_BASE=http://127.0.0.1:8790/api/v10); one
// @discordjs/rest client sends them on, keeping Discord's global limit (50 requests a second) and each route's
// bucket for all of them, and queues a call rather than let Discord answer 429. Calls keep their own Authorization
// header. Serves on 127.0.0.1 only; SIGINT or SIGTERM stops it.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { proxyRequests } from '@discordjs/proxy';
import { DefaultRestOptions, REST } from '@discordjs/rest';

// Discord allows 50 requests a second for the whole bot (topics/rate-limits › Global Rate Limit; interaction routes
// are not counted). @discordjs/rest keeps 50 per window of its own, sent as a burst when the window opens; Discord's
// window does not open at the same instant, so a burst can straddle two of them. So calls leave here one at a time,
// never more than PER_SECOND in any second and at least SPACING_MS apart (a loop that wakes late catches up at
// most at that pace, never in a burst). Discord counts a call when it arrives, not when it left: calls delayed on
// the way (the network, a busy machine) arrive closer together. Ten calls of room under 50 keep any one-second window
// of Discord's within the limit while the calls' delays vary by up to a quarter of a second (46 left 87 ms: a
// loaded machine's twin once counted 6 calls over). Longer delays (a stalled network, or a twin on a machine so busy
// that its loop stops for 300 ms: it then counts the calls that waited as if they came together) are kept in bounds
// by sending a call only while fewer than MAX_IN_FLIGHT are unanswered: any second of Discord's counts at most the
// PER_SECOND calls sent in it and the MAX_IN_FLIGHT sent before, 50 in all. Ten in flight carry 40 calls a second
// while Discord answers within a quarter of a second.
const PER_SECOND = 40;
const SPACING_MS = 20;
const MAX_IN_FLIGHT = 10;
const sent = []; // when the calls of the last second left
let queue = Promise.resolve();
let inFlight = 0;
const waitingForRoom = []; // resolvers of the call waiting for one of the MAX_IN_FLIGHT to be answered

async function room() {
  while (inFlight >= MAX_IN_FLIGHT) await new Promise((resolve) => waitingForRoom.push(resolve));
}

function answered() {
  inFlight -= 1;
  waitingForRoom.shift()?.();
}

async function turn() {
  for (;;) {
    const now = performance.now();
    while (sent.length && sent[0] <= now - 1000) sent.shift();
    const wait = Math.max(sent.length ? sent[sent.length - 1] + SPACING_MS - now : 0,
                          sent.length >= PER_SECOND ? sent[0] + 1000 - now : 0);
    if (wait <= 0) {
      sent.push(now);
      return;
    }
    await sleep(wait);
  }
}

async function paced(url, init) {
  let counted = false;
  if (!/\/(interactions|webhooks)\//.test(url)) {
    // A call its bot gave up on while it waited is not sent, and takes no turn.
    queue = queue.then(async () => {
      if (init.signal?.aborted) return;
      await room();
      await turn();
      inFlight += 1;
      counted = true;
    });
    await queue;
  }
  try {
    return await DefaultRestOptions.makeRequest(url, init);
  } finally {
    if (counted) answered();
  }
}

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, api: { type: 'string', default: 'https://discord.com/api/v10' } },
});
// @discordjs/rest takes the API's root and its version apart: https://discord.com/api and 10.
const match = /^(https?:\/\/.+?)\/v(\d+)\/?$/.exec(values.api);
if (!match) {
  console.error(`rest proxy: --api must end in /v<version>, such as https://discord.com/api/v10; got ${values.api}`);
  process.exit(2);
}
// A call may wait its turn here for a while under load: 60 s before it counts as lost, not @discordjs/rest's 15 s.
// The global limit is kept by `paced` alone: @discordjs/rest's own count would also spend turns on calls that are
// dropped (their bot gone) before they are sent.
const rest = new REST({ api: match[1], version: match[2], makeRequest: paced, timeout: 60_000,
                        globalRequestsPerSecond: Infinity });
// A call may have to be sent again (after a 429, a dropped connection): its body is read whole first, so that it can
// be (the proxy would otherwise stream it from the bot's request, and a second try would send nothing).
// A call whose bot has gone away (discord.py cancels "is typing" once it has answered) is dropped from the queue
// rather than sent late, ahead of the calls that still matter.
const queueRequest = rest.queueRequest.bind(rest);
rest.queueRequest = async (request) => {
  const incoming = request.body;
  if (incoming && typeof incoming.pipe === 'function') {
    request.signal = incoming.gone;
    const body = Buffer.concat(await incoming.toArray());
    request.body = body.length ? body : undefined;
  }
  return queueRequest(request);
};
const proxy = proxyRequests(rest);
// One failed call must not stop the proxy: a bot may give up on a call (discord.py cancels "is typing" once it has
// answered), closing the connection the proxy is reading from or writing to.
const server = createServer((req, res) => {
  const gone = new AbortController();
  res.on('close', () => res.writableFinished || gone.abort());
  req.gone = gone.signal;
  proxy(req, res).catch((error) => {
    if (!gone.signal.aborted) {  // a call the bot gave up on needs no line
      console.error(`rest proxy: ${req.method} ${req.url}: ${error.message}`);
    }
    if (!res.headersSent) res.statusCode = 502;
    res.end();
  });
});
server.on('error', (error) => {
  console.error(`rest proxy: cannot serve on 127.0.0.1:${values.port}: ${error.message}`);
  process.exit(2);
});
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`rest proxy: http://127.0.0.1:${port}/api/v${match[2]} -> ${values.api}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));  // the bot's processes stop first
}
