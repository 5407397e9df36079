'use strict';

// The hapi 21 + @hapi/nes 14 side of the benchmarks, offering the same surface
// as bench/cmd/nesserver and bench/centrifuge:
//
//     node server.js -addr 127.0.0.1:0 [-await]
//
// Once listening it prints one line, "LISTENING http://HOST:PORT", and runs
// until SIGINT, SIGTERM or the end of its stdin, then stops gracefully.
//
//     ws://HOST:PORT/          the nes endpoint (nes upgrades on any path of hapi's listener)
//     GET  /echo               {"ok":true}, over plain HTTP and over the socket
//     POST /publish?path=/rooms/bench&n=200&size=100
//                              publishes n messages {"t":<unix ns>,"i":<index>,"pad":"xx…"}
//                              of size bytes each to path, then answers 204
//
// server.publish() resolves only once the message was written to every
// subscriber, one subscriber after the other. By default /publish does not
// wait for it (like Publish in Go, which only enqueues); with -await each
// publication is awaited before the next one starts, as nes's API documents it
// ("await server.publish(...)"), and the 204 comes after the last delivery.

const Hapi = require('@hapi/hapi');
const Nes = require('@hapi/nes');


const internals = {};


internals.args = function (argv) {

    const args = { addr: '127.0.0.1:0', await: false };
    for (let i = 0; i < argv.length; ++i) {
        const arg = argv[i].replace(/^--?/, '-');
        if (arg === '-addr') {
            args.addr = argv[++i];
        }
        else if (arg.startsWith('-addr=')) {
            args.addr = arg.slice('-addr='.length);
        }
        else if (arg === '-await') {
            args.await = true;
        }
        else {
            throw new Error(`unknown argument ${argv[i]} (usage: node server.js -addr HOST:PORT [-await])`);
        }
    }

    const colon = args.addr ? args.addr.lastIndexOf(':') : -1;
    if (colon === -1) {
        throw new Error(`-addr wants HOST:PORT, got ${args.addr}`);
    }

    args.host = args.addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
    args.port = parseInt(args.addr.slice(colon + 1), 10);
    if (!(args.port >= 0 && args.port <= 65535)) {
        throw new Error(`-addr has a bad port: ${args.addr}`);
    }

    return args;
};


// Unix time in nanoseconds. Date.now() has milliseconds only, so the
// monotonic clock carries the sub-millisecond part from an anchor taken at
// start. The result is a Number: at ~1.7e18 it is exact to 256 ns, and
// JSON.stringify writes it as a plain integer.
internals.epochNs = BigInt(Date.now()) * 1000000n - process.hrtime.bigint();
internals.nowNs = () => Number(internals.epochNs + process.hrtime.bigint());


// {"t":t,"i":i,"pad":"xx…"}, size bytes of JSON when the object without pad
// is not longer already: {"t": , "i": ,"pad":" "} are 20 bytes.
internals.message = function (i, size) {

    const t = internals.nowNs();
    const fixed = 20 + String(t).length + String(i).length;
    return { t, i, pad: 'x'.repeat(Math.max(0, size - fixed)) };
};


internals.main = async function () {

    const args = internals.args(process.argv.slice(2));

    const server = Hapi.server({ host: args.host, port: args.port });
    await server.register({ plugin: Nes, options: {} });     // defaults: no auth, any origin, heartbeat 15 s + 5 s
    server.subscription('/rooms/{id}');

    server.route({
        method: 'GET',
        path: '/echo',
        handler: () => ({ ok: true })
    });

    server.route({
        method: 'POST',
        path: '/publish',
        handler: async (request, h) => {

            const path = request.query.path;
            const n = parseInt(request.query.n, 10);
            const size = request.query.size === undefined ? 100 : parseInt(request.query.size, 10);
            if (!path || !(n >= 0) || !(size >= 0)) {
                return h.response({ error: 'want ?path=/...&n=<count>[&size=<bytes>]' }).code(400);
            }

            for (let i = 0; i < n; ++i) {
                const publication = server.publish(path, internals.message(i, size));
                if (args.await) {
                    await publication;
                }
                else {
                    publication.catch(internals.failed);
                }
            }

            return h.response().code(204);
        }
    });

    await server.start();

    let stopping = false;
    const exit = async () => {

        if (stopping) {
            return;
        }

        stopping = true;
        try {
            await server.stop({ timeout: 5000 });
        }
        catch (err) {
            internals.failed(err);
            process.exit(1);
        }

        process.exit(0);
    };

    process.on('SIGINT', exit);
    process.on('SIGTERM', exit);
    process.stdin.on('end', exit);
    process.stdin.on('error', exit);
    process.stdin.resume();

    const host = args.host.includes(':') ? `[${args.host}]` : args.host;
    process.stdout.write(`LISTENING http://${host}:${server.info.port}\n`);
};


internals.failed = function (err) {

    process.stderr.write(`hapi bench server: ${err && err.stack || err}\n`);
};


internals.main().catch((err) => {

    internals.failed(err);
    process.exit(2);
});
