'use strict';

// The official @hapi/nes client, unmodified: connects to argv[2], subscribes
// to argv[3], prints READY and then one JSON line per publication. Exits
// when stdin closes.

const Nes = require('@hapi/nes');

const [url, path] = process.argv.slice(2);
const client = new Nes.Client(url);

const main = async () => {
    await client.connect({ reconnect: false });
    await client.subscribe(path, (message) => {
        process.stdout.write(JSON.stringify({ message }) + '\n');
    });
    process.stdout.write('READY\n');
};

main().catch((err) => {
    process.stderr.write(`subscriber: ${err && err.stack || err}\n`);
    process.exit(1);
});

process.stdin.on('end', async () => {
    await client.disconnect();
    process.exit(0);
});
process.stdin.resume();
