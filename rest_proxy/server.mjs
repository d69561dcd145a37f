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
import { proxyRequests } from '@discordjs/proxy';
import { REST } from '@discordjs/rest';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, api: { type: 'string', default: 'https://discord.com/api/v10' } },
});
// @discordjs/rest takes the API's root and its version apart: https://discord.com/api and 10.
const match = /^(https?:\/\/.+?)\/v(\d+)\/?$/.exec(values.api);
if (!match) {
  console.error(`rest proxy: --api must end in /v<version>, such as https://discord.com/api/v10; got ${values.api}`);
  process.exit(2);
}
const rest = new REST({ api: match[1], version: match[2] });
const server = createServer(proxyRequests(rest));
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
