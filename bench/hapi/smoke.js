'use strict';

// Smoke test of a nes benchmark server (this directory's server.js or
// bench/cmd/nesserver), speaking raw nes protocol v2 frames with ws:
//
//     node smoke.js [-ws-path /nes] -- COMMAND [ARGS...]
//
//     node smoke.js -- node server.js -addr 127.0.0.1:0
//     node smoke.js -ws-path /nes -- go run ../cmd/nesserver -addr 127.0.0.1:0
//
// It starts COMMAND with a pipe as stdin, waits for "LISTENING http://...",
// subscribes to /rooms/bench, POSTs /publish?path=/rooms/bench&n=3&size=100,
// checks the three messages (exactly 100 bytes of JSON, i = 0, 1, 2), requests
// GET /echo over the socket and over plain HTTP, then closes the server's stdin
// and checks that it exits with status 0 within 5 seconds.

const ChildProcess = require('child_process');
const Readline = require('readline');

const Ws = require('ws');


const internals = {};


internals.fail = function (message) {

    process.stderr.write(`FAIL: ${message}\n`);
    process.exit(1);
};


internals.start = function (argv) {

    const child = ChildProcess.spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = Readline.createInterface({ input: child.stdout });
    const listening = new Promise((resolve, reject) => {

        lines.on('line', (line) => {

            const match = /^LISTENING (http:\/\/\S+)$/.exec(line);
            if (!match) {
                return reject(new Error(`unexpected stdout line: ${line}`));
            }

            resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`server exited with ${code} before LISTENING`)));
        setTimeout(() => reject(new Error('no LISTENING line within 60 s')), 60000);
    });

    return { child, listening };
};


internals.main = async function () {

    const args = process.argv.slice(2);
    const dashes = args.indexOf('--');
    if (dashes === -1 || dashes === args.length - 1) {
        internals.fail('usage: node smoke.js [-ws-path /nes] -- COMMAND [ARGS...]');
    }

    const own = args.slice(0, dashes);
    const wsPath = own[0] === '-ws-path' ? own[1] : '/';
    const { child, listening } = internals.start(args.slice(dashes + 1));
    const base = await listening;
    console.log(`listening at ${base}`);

    const ws = new Ws(base.replace(/^http/, 'ws') + wsPath);
    const inbox = [];
    let ids = 100;
    let wake = null;
    ws.on('message', (data) => {

        const text = data.toString();
        const frame = JSON.parse(text);
        if (frame.type === 'ping') {
            ws.send(JSON.stringify({ type: 'ping', id: ++ids }));     // a fresh id: the server answers none, and 400 without one
            return;
        }

        inbox.push({ text, frame });
        wake?.();
    });

    const next = async (what) => {

        const deadline = Date.now() + 5000;
        while (!inbox.length) {
            if (Date.now() > deadline) {
                internals.fail(`timed out waiting for ${what}`);
            }

            await new Promise((resolve) => {

                wake = resolve;
                setTimeout(resolve, 100);
            });
        }

        return inbox.shift();
    };

    await new Promise((resolve, reject) => {

        ws.once('open', resolve);
        ws.once('error', reject);
    });

    ws.send(JSON.stringify({ type: 'hello', id: 1, version: '2', subs: ['/rooms/bench'] }));
    const hello = await next('hello reply');
    console.log(`hello  <- ${hello.text}`);
    if (hello.frame.type !== 'hello' || hello.frame.id !== 1) {
        internals.fail('bad hello reply');
    }

    const res = await fetch(`${base}/publish?path=/rooms/bench&n=3&size=100`, { method: 'POST' });
    if (res.status !== 204) {
        internals.fail(`POST /publish answered ${res.status}`);
    }

    for (let i = 0; i < 3; ++i) {
        const pub = await next(`publication ${i}`);
        if (pub.frame.type !== 'pub' || pub.frame.path !== '/rooms/bench') {
            internals.fail(`expected a pub, got ${pub.text}`);
        }

        const start = pub.text.indexOf('{"t":');
        const raw = pub.text.slice(start, pub.text.indexOf('}', start) + 1);
        const message = JSON.parse(raw);
        if (Buffer.byteLength(raw) !== 100 || message.i !== i || !(message.t > 1.6e18) || !/^x+$/.test(message.pad)) {
            internals.fail(`bad message ${i}: ${raw} (${Buffer.byteLength(raw)} bytes)`);
        }

        const latencyUs = (Date.now() * 1e6 - message.t) / 1e3;
        console.log(`pub    <- ${pub.text}  (${Buffer.byteLength(raw)} bytes, ${latencyUs.toFixed(0)} µs old when read)`);
    }

    ws.send(JSON.stringify({ type: 'request', method: 'GET', path: '/echo', id: 2 }));
    const reply = await next('request reply');
    console.log(`request <- ${reply.text}`);
    if (reply.frame.type !== 'request' || reply.frame.id !== 2 || reply.frame.statusCode !== 200 || reply.frame.payload?.ok !== true) {
        internals.fail('bad /echo reply over the socket');
    }

    const echo = await fetch(`${base}/echo`);
    const body = await echo.text();
    console.log(`GET /echo over HTTP: ${echo.status} ${body}`);
    if (echo.status !== 200 || body !== '{"ok":true}') {
        internals.fail('bad /echo reply over HTTP');
    }

    const started = Date.now();
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stdin.end();
    const result = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(null), 5000))]);
    if (!result) {
        child.kill('SIGKILL');
        internals.fail('the server did not exit within 5 s of its stdin closing');
    }

    console.log(`server exited with ${result.code} ${result.signal ?? ''} ${Date.now() - started} ms after stdin closed`);
    if (result.code !== 0) {
        internals.fail('exit status is not 0');
    }

    ws.terminate();
    console.log('OK');
};


internals.main().catch((err) => internals.fail(err.stack));
