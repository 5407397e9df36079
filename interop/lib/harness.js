'use strict';

// Test harness for the interop suite: builds the Go fixture server once per
// test run, starts one fixture process per scenario, drives its control API,
// and creates official @hapi/nes clients and raw `ws` clients.

const ChildProcess = require('node:child_process');
const Fs = require('node:fs');
const Net = require('node:net');
const Os = require('node:os');
const Path = require('node:path');

const Nes = require('@hapi/nes');
const Ws = require('ws');


// The bound for every wait on something that must happen. Generous, because
// the suite must not fail on a loaded machine; a wait only lasts this long
// when the awaited thing never happens.
exports.WAIT = Number(process.env.NES_INTEROP_WAIT) || 5000;


const internals = {
    repoRoot: Path.resolve(__dirname, '..', '..'),
    children: new Set(),
    taps: new WeakMap(),                // ws options object -> tap
    binary: null
};


// ---- per-test cleanup (last registered, first run) ----

internals.cleanups = new WeakMap();


// Registers fn to run when test t ends. Cleanups run in reverse order of
// registration (clients are disconnected before their server stops), and a
// failing cleanup does not prevent the others.
exports.cleanup = function (t, fn) {

    let list = internals.cleanups.get(t);
    if (!list) {
        list = [];
        internals.cleanups.set(t, list);
        t.after(async () => {

            const errors = [];
            while (list.length) {
                try {
                    await list.pop()();
                }
                catch (err) {
                    errors.push(err);
                }
            }

            if (errors.length) {
                throw errors[0];
            }
        });
    }

    list.push(fn);
};


// ---- small async helpers ----

exports.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));


exports.deferred = function () {

    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {

        resolve = res;
        reject = rej;
    });

    return { promise, resolve, reject };
};


// Resolves with the promise's value, or rejects after ms with a message
// naming what was awaited.
exports.within = function (promise, ms, what) {

    let timer;
    const timeout = new Promise((resolve, reject) => {

        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
    });

    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};


// Polls fn until it returns a truthy value (returned) or ms elapse (throws).
exports.waitUntil = async function (fn, ms, what, interval = 10) {

    const end = Date.now() + ms;
    for (;;) {
        const value = await fn();
        if (value) {
            return value;
        }

        if (Date.now() > end) {
            throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
        }

        await exports.sleep(interval);
    }
};


// ---- building the fixture ----

internals.runKey = function () {

    // One build per `node --test` run: test files run as children of the same
    // runner process, so key the build on the parent's pid and start time.

    const ppid = process.ppid;
    try {
        const stat = Fs.readFileSync(`/proc/${ppid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return `${ppid}-${fields[19]}`;                 // field 22: starttime
    }
    catch {
        return `pid-${process.pid}`;                    // No /proc: one build per file
    }
};


internals.cleanOldBuilds = function (base, keep) {

    let entries = [];
    try {
        entries = Fs.readdirSync(base);
    }
    catch {
        return;
    }

    for (const entry of entries) {
        if (entry === keep) {
            continue;
        }

        const pid = Number(entry.split('-')[entry.startsWith('pid-') ? 1 : 0]);
        let alive = false;
        try {
            process.kill(pid, 0);
            alive = true;
        }
        catch (err) {
            alive = err.code === 'EPERM';
        }

        if (!alive) {
            Fs.rmSync(Path.join(base, entry), { recursive: true, force: true });
        }
    }
};


internals.build = function (dir) {

    const out = Path.join(dir, 'fixture.tmp');
    const args = ['build', '-o', out];
    if (process.env.NES_INTEROP_RACE === '1') {
        args.push('-race');                             // The fixture then fails its test on any data race
    }

    args.push('./interop/fixture');
    const result = ChildProcess.spawnSync('go', args, {
        cwd: internals.repoRoot,
        encoding: 'utf8',
        timeout: 300_000
    });

    if (result.error) {
        const hint = result.error.code === 'ENOENT' ? ' (is the Go toolchain on PATH?)' : '';
        return `go build ./interop/fixture could not run${hint}: ${result.error.message}`;
    }

    if (result.status !== 0) {
        return `go build ./interop/fixture failed (exit ${result.status}):\n${result.stderr}${result.stdout}`;
    }

    Fs.renameSync(out, Path.join(dir, 'fixture'));
    return null;
};


// Returns the path of the fixture binary, building it if this run has not.
// Throws (never skips) when the build fails.
exports.fixtureBinary = async function () {

    if (process.env.NES_INTEROP_FIXTURE) {
        return process.env.NES_INTEROP_FIXTURE;
    }

    if (internals.binary) {
        return internals.binary;
    }

    const base = Path.join(Os.tmpdir(), 'nes-go-interop');
    const key = internals.runKey() + (process.env.NES_INTEROP_RACE === '1' ? '-race' : '');
    const dir = Path.join(base, key);
    const binary = Path.join(dir, 'fixture');
    const errorFile = Path.join(dir, 'build.err');

    Fs.mkdirSync(dir, { recursive: true });

    let builder = false;
    try {
        Fs.mkdirSync(Path.join(dir, 'lock'));
        builder = true;
    }
    catch (err) {
        if (err.code !== 'EEXIST') {
            throw err;
        }
    }

    if (builder) {
        internals.cleanOldBuilds(base, key);
        const error = internals.build(dir);
        if (error) {
            Fs.writeFileSync(errorFile, error);
            throw new Error(error);
        }
    }
    else {
        await exports.waitUntil(() => Fs.existsSync(binary) || Fs.existsSync(errorFile), 300_000, 'the fixture build of another test file', 50);
        if (Fs.existsSync(errorFile)) {
            throw new Error(Fs.readFileSync(errorFile, 'utf8'));
        }
    }

    internals.binary = binary;
    return binary;
};


// ---- fixture processes ----

process.on('exit', () => {

    for (const child of internals.children) {
        child.kill('SIGKILL');
    }
});


// Starts a fixture process with the scenario config. Returns
// { port, url, wsUrl, control, stop(), stderr(), exited }.
exports.startServer = async function (config = {}) {

    const binary = await exports.fixtureBinary();
    const child = ChildProcess.spawn(binary, ['-config', JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    internals.children.add(child);

    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {

        stderr += chunk;
    });

    const exited = new Promise((resolve) => {

        child.on('exit', (code, signal) => {

            internals.children.delete(child);
            resolve({ code, signal });
        });
    });

    const listening = new Promise((resolve, reject) => {

        let stdout = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk) => {

            stdout += chunk;
            const match = stdout.match(/^LISTENING (\d+) CONTROL (\d+)\n/m);
            if (match) {
                resolve({ port: Number(match[1]), controlPort: Number(match[2]) });
            }
        });

        child.on('error', reject);
        exited.then(({ code, signal }) => reject(new Error(`fixture exited before listening (code ${code}, signal ${signal}):\n${stderr}`)));
    });

    const { port, controlPort } = await exports.within(listening, 10_000, 'the fixture to listen');

    const server = {
        port,
        controlPort,
        url: `http://127.0.0.1:${port}`,
        wsUrl: `ws://127.0.0.1:${port}`,
        exited,
        alive: () => child.exitCode === null && child.signalCode === null,
        stderr: () => stderr,
        control: internals.control(`http://127.0.0.1:${controlPort}`),
        stop: async () => {

            if (child.exitCode !== null || child.signalCode !== null) {
                return exited;
            }

            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            const result = await exited;
            clearTimeout(timer);
            return result;
        }
    };

    return server;
};


internals.control = function (base) {

    const call = async (method, path, body) => {

        const res = await fetch(base + path, {
            method,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body)
        });

        const text = await res.text();
        let data;
        try {
            data = JSON.parse(text);
        }
        catch {
            throw new Error(`control ${method} ${path}: ${res.status} ${text}`);
        }

        if (res.status !== 200) {
            const err = new Error(`control ${method} ${path}: ${res.status} ${data.error}`);
            err.status = res.status;
            throw err;
        }

        return data;
    };

    return {
        publish: (path, message, internal) => call('POST', '/publish', internal === undefined ? { path, message } : { path, message, internal }),
        broadcast: (message) => call('POST', '/broadcast', { message }),
        // Publish and Broadcast with nes.ToUser(user)
        publishToUser: (user, path, message) => call('POST', '/publish', { path, message, user }),
        broadcastToUser: (user, message) => call('POST', '/broadcast', { message, user }),
        send: (socket, message) => call('POST', '/socket/send', { socket, message }),
        socketPublish: (socket, path, message) => call('POST', '/socket/publish', { socket, path, message }),
        revoke: function (socket, path, message) {

            return call('POST', '/socket/revoke', arguments.length >= 3 ? { socket, path, message } : { socket, path });
        },
        disconnect: (socket) => call('POST', '/socket/disconnect', { socket }),
        disconnectAll: () => call('POST', '/disconnect-all', {}),
        mark: (socket) => call('POST', '/socket/mark', { socket }),
        // EachSocket (optionally nes.OnSubscription, nes.ForUser); each socket
        // has id, remoteAddr, subscriptions, open, app and credentials
        // ({user, scope, claims, artifact, expires} or null).
        sockets: async (subscription, { user } = {}) => {

            const query = new URLSearchParams();
            if (subscription !== undefined) {
                query.set('subscription', subscription);
            }

            if (user !== undefined) {
                query.set('user', user);
            }

            const qs = query.toString();
            return (await call('GET', '/sockets' + (qs ? '?' + qs : ''))).sockets;
        },
        eachPublish: (subscription, path, message) => call('POST', '/each-publish', { subscription, path, message }),
        stats: () => call('GET', '/stats'),
        // Recorded hook calls (hook: connection, disconnection, subscribe,
        // unsubscribe, filter, message). With count, waits up to timeout ms
        // for at least count of them.
        events: async (hook, { count = 0, timeout = exports.WAIT } = {}) => {

            const query = new URLSearchParams();
            if (hook) {
                query.set('hook', hook);
            }

            query.set('count', String(count));
            query.set('timeout', String(timeout));
            const data = await call('GET', '/events?' + query);
            return data.events;
        },
        shutdown: (timeout) => call('POST', '/shutdown', timeout === undefined ? {} : { timeout })
    };
};


// ---- official client ----

// Records every frame the official client sends and receives, without
// changing what the client does: Client.WebSocket is the documented hook for
// the WebSocket class (PROTOCOL.md §4); this subclass only observes.
class TapWebSocket extends Ws {

    constructor(url, options) {

        super(url, options);
        const tap = internals.taps.get(options);
        this._nesTap = tap;
        if (!tap) {
            return;
        }

        tap.sockets.push(this);
        const index = tap.sockets.length - 1;
        this.on('message', (data, isBinary) => {

            tap.frames.push({ dir: 'in', conn: index, data: isBinary ? data : data.toString(), binary: isBinary, at: Date.now() });
            tap.changed();
        });

        this.on('close', (code, reason) => {

            tap.closes.push({ conn: index, code, reason: reason.toString(), at: Date.now() });
            tap.changed();
        });
    }

    send(data, ...args) {

        if (this._nesTap) {
            this._nesTap.frames.push({ dir: 'out', conn: this._nesTap.sockets.indexOf(this), data: String(data), at: Date.now() });
            this._nesTap.changed();
        }

        return super.send(data, ...args);
    }
}

Nes.Client.WebSocket = TapWebSocket;

exports.Client = Nes.Client;


internals.newTap = function () {

    const tap = {
        frames: [],
        closes: [],
        sockets: [],
        waiters: [],
        changed: () => {

            const waiters = tap.waiters;
            tap.waiters = [];
            waiters.forEach((fn) => fn());
        },
        // Frames received / sent as strings
        received: () => tap.frames.filter((f) => f.dir === 'in').map((f) => f.data),
        sent: () => tap.frames.filter((f) => f.dir === 'out').map((f) => f.data),
        // Waits until predicate(tap) is truthy
        until: (predicate, ms = exports.WAIT, what = 'a client frame') => {

            return exports.within(new Promise((resolve) => {

                const check = () => {

                    const value = predicate(tap);
                    if (value) {
                        return resolve(value);
                    }

                    tap.waiters.push(check);
                };

                check();
            }), ms, what);
        }
    };

    return tap;
};


// Creates an official client for the server. Errors reported through onError
// are collected in client.errors (instead of console.error). The client is
// disconnected when the test ends. The frame tap is client.tap.
exports.client = function (t, server, { path = '', ws = {}, timeout } = {}) {

    const wsOptions = { ...ws };
    const tap = internals.newTap();
    internals.taps.set(wsOptions, tap);

    const options = { ws: wsOptions };
    if (timeout !== undefined) {
        options.timeout = timeout;
    }

    const client = new Nes.Client(server.url + path, options);
    client.errors = [];
    client.onError = (err) => client.errors.push(err);
    client.tap = tap;

    exports.cleanup(t, () => client.disconnect());
    return client;
};


// Connects with reconnection off unless asked for, so a broken test does not
// keep reconnecting.
exports.connect = async function (t, server, { clientOptions, ...connectOptions } = {}) {

    const client = exports.client(t, server, clientOptions);
    await client.connect({ reconnect: false, ...connectOptions });
    return client;
};


// ---- ordering barrier ----

internals.barriers = 0;


// Sends an update to one socket through the control API and waits until the
// client (official client with a tap, or raw client) has received it. Each
// socket has one FIFO send queue, so anything the server queued for that
// socket before the barrier has arrived by the time this resolves: a
// negative check ("X was not delivered") made after a barrier is a real
// check, not a guess about timing.
exports.barrier = async function (server, client, socketId) {

    const message = { barrier: ++internals.barriers };
    const frame = JSON.stringify({ type: 'update', message });
    const id = socketId || client.id;
    await server.control.send(id, message);
    if (client.tap) {
        await client.tap.until((tap) => tap.received().includes(frame), exports.WAIT, 'the barrier update');
    }
    else {
        await client.until((raw) => raw.frames.includes(frame), exports.WAIT, 'the barrier update');
    }
};


// ---- raw ws client ----

// A raw WebSocket for hand-made frames. Collects every received frame as a
// string (text) or Buffer (binary).
exports.raw = async function (t, server, { path = '/', headers, origin, maxPayload, open = true } = {}) {

    const options = { headers };
    if (origin !== undefined) {
        options.origin = origin;
    }

    if (maxPayload !== undefined) {
        options.maxPayload = maxPayload;
    }

    const ws = new Ws(server.wsUrl + path, options);
    const raw = {
        ws,
        frames: [],
        binary: [],
        waiters: [],
        closeInfo: null,
        error: null,
        unexpectedResponse: null
    };

    const changed = () => {

        const waiters = raw.waiters;
        raw.waiters = [];
        waiters.forEach((fn) => fn());
    };

    raw.until = (predicate, ms = exports.WAIT, what = 'a raw frame') => {

        return exports.within(new Promise((resolve) => {

            const check = () => {

                const value = predicate(raw);
                if (value) {
                    return resolve(value);
                }

                raw.waiters.push(check);
            };

            check();
        }), ms, what);
    };

    ws.on('message', (data, isBinary) => {

        raw.frames.push(isBinary ? data : data.toString());
        raw.binary.push(isBinary);
        changed();
    });

    const closed = exports.deferred();
    ws.on('close', (code, reason) => {

        raw.closeInfo = { code, reason: reason.toString(), at: Date.now() };
        closed.resolve(raw.closeInfo);
        changed();
    });

    ws.on('error', (err) => {

        raw.error = err;
        changed();
    });

    ws.on('unexpected-response', (req, res) => {

        raw.unexpectedResponse = { statusCode: res.statusCode, headers: res.headers };
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {

            body += chunk;
        });

        res.on('end', () => {

            raw.unexpectedResponse.body = body;
            changed();
        });

        req.destroy();
        closed.resolve({ code: null, unexpected: true });
        changed();
    });

    // Sends a string as is, anything else as JSON.
    raw.send = (data) => {

        return new Promise((resolve, reject) => {

            ws.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data), (err) => (err ? reject(err) : resolve()));
        });
    };

    // Waits for the n-th (0-based) received frame.
    raw.frame = (n, ms = exports.WAIT) => raw.until((r) => r.frames.length > n && r.frames[n], ms, `raw frame #${n}`);

    // Waits for the first frame (from index `from`) matching predicate.
    raw.find = (predicate, ms = exports.WAIT, what = 'a matching raw frame', from = 0) => {

        return raw.until((r) => r.frames.slice(from).find((f) => typeof f === 'string' && predicate(f, JSON.parse(f))), ms, what);
    };

    // Sends a message and waits for the next frame whose parsed id equals id.
    raw.request = async (message, ms = exports.WAIT) => {

        const from = raw.frames.length;
        await raw.send(message);
        return raw.find((f, m) => m.id === message.id, ms, `the reply to id ${JSON.stringify(message.id)}`, from);
    };

    raw.closed = (ms = exports.WAIT) => exports.within(closed.promise, ms, 'the raw socket to close');

    raw.close = () => {

        if (ws.readyState === Ws.OPEN || ws.readyState === Ws.CONNECTING) {
            ws.terminate();
        }
    };

    raw.hello = async (extra = {}) => {

        const reply = JSON.parse(await raw.request({ type: 'hello', version: '2', id: 'h1', ...extra }));
        raw.id = reply.socket;
        return reply;
    };

    exports.cleanup(t, () => raw.close());

    if (open) {
        await exports.within(new Promise((resolve, reject) => {

            ws.once('open', resolve);
            ws.once('error', reject);
            ws.once('unexpected-response', () => reject(new Error(`upgrade refused: HTTP ${raw.unexpectedResponse.statusCode}`)));
        }), exports.WAIT, 'the raw socket to open');
    }

    return raw;
};


// ---- per-test server ----

// Starts a fixture for one test and stops it when the test ends.
exports.server = async function (t, config = {}) {

    const server = await exports.startServer(config);
    exports.cleanup(t, async () => {

        const { code, signal } = await server.stop();
        const stderr = server.stderr();
        if (stderr.includes('WARNING: DATA RACE')) {
            throw new Error(`the fixture reported a data race:\n${stderr}`);
        }

        if (code !== 0 || signal !== null) {
            throw new Error(`the fixture exited with code ${code}, signal ${signal}:\n${stderr}`);
        }
    });

    return server;
};


// ---- TCP proxy (to make the server look silent to a client) ----

// A TCP proxy to the server. freeze() stops forwarding server→client bytes
// (they are dropped), so the client sees a silent server while the
// connection stays open.
exports.proxy = async function (t, server) {

    const pairs = new Set();
    let frozen = false;

    const proxy = Net.createServer((downstream) => {

        const upstream = Net.connect(server.port, '127.0.0.1');
        const pair = { downstream, upstream };
        pairs.add(pair);

        downstream.on('data', (chunk) => upstream.write(chunk));
        upstream.on('data', (chunk) => {

            if (!frozen) {
                downstream.write(chunk);
            }
        });

        const end = () => {

            pairs.delete(pair);
            downstream.destroy();
            upstream.destroy();
        };

        downstream.on('close', end);
        upstream.on('close', end);
        downstream.on('error', end);
        upstream.on('error', end);
    });

    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = proxy.address().port;

    const result = {
        port,
        url: `http://127.0.0.1:${port}`,
        freeze: () => {

            frozen = true;
        },
        close: () => {

            for (const pair of pairs) {
                pair.downstream.destroy();
                pair.upstream.destroy();
            }

            return new Promise((resolve) => proxy.close(resolve));
        }
    };

    exports.cleanup(t, () => result.close());
    return result;
};
