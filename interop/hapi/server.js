'use strict';

// A real hapi 21 + @hapi/nes 14 server for the Go tests (internal/hapitest).
//
// Usage:
//
//     node server.js '<config JSON>'     (or: the config as the first line of stdin)
//
// It prints one line
//
//     LISTENING <nes port> CONTROL <control port>
//
// and exits when its stdin reaches EOF, so a dying test binary never leaks
// servers. The nes port is hapi's listener (nes accepts the WebSocket upgrade
// on any path). The control port is a separate plain Node HTTP server that
// survives /stop and /restart of the hapi server. See README.md.

const Http = require('http');

const Boom = require('@hapi/boom');
const Hapi = require('@hapi/hapi');
const Nes = require('@hapi/nes');


const internals = {
    server: null,           // the current hapi server (null while stopped)
    port: 0,                // the nes port, kept across restarts
    config: null,
    events: [],
    waiters: new Set()
};


// ---- recorded hook calls ----

internals.record = function (hook, fields) {

    const event = Object.assign({ seq: internals.events.length + 1, hook, at: Date.now() }, fields);
    internals.events.push(event);
    for (const wake of internals.waiters) {
        wake();
    }
};


internals.userOf = function (socket) {

    const credentials = socket && socket.auth && socket.auth.credentials;
    return credentials && credentials.user ? credentials.user : undefined;
};


// ---- the test auth scheme: "Authorization: Custom <name>" ----

internals.accounts = {
    john: { user: 'john', scope: ['a'] },
    ed: { user: 'ed', scope: ['a', 'b'] },
    app: { app: 'app', scope: ['a'] }               // application credentials: no user
};


internals.scheme = function (server, options) {

    return {
        authenticate: function (request, h) {

            const header = request.headers.authorization;
            if (!header) {
                throw Boom.unauthorized(null, 'Custom');
            }

            const [kind, name] = header.trim().split(/\s+/);
            if (kind !== 'Custom') {
                throw Boom.unauthorized(null, 'Custom');
            }

            const account = Object.prototype.hasOwnProperty.call(internals.accounts, name) ? internals.accounts[name] : null;
            if (!account) {
                internals.record('authenticate', { result: 'rejected', name });
                throw Boom.unauthorized('Bad credentials', 'Custom');
            }

            internals.record('authenticate', { result: 'ok', name });
            const credentials = JSON.parse(JSON.stringify(account));
            return h.authenticated({ credentials, artifacts: { name, authAt: Date.now() } });
        },
        verify: function (auth) {

            const name = auth.artifacts && auth.artifacts.name;
            const expiry = options.verifyExpiry;
            const expired = expiry > 0 && (!auth.artifacts || Date.now() - auth.artifacts.authAt >= expiry);
            internals.record('verify', { name, result: expired ? 'expired' : 'ok' });
            if (expired) {
                throw Boom.unauthorized('Credentials expired', 'Custom');
            }
        }
    };
};


// ---- configurable behaviours ----

internals.onMessage = function (mode) {

    switch (mode) {
        case undefined:
        case null:
        case 'none':
            return undefined;

        case 'echo':
            return (socket, message) => {

                internals.record('message', { socket: socket.id, message });
                return { echo: message };
            };

        case 'fail':
            return (socket, message) => {

                internals.record('message', { socket: socket.id, message });
                throw Boom.badRequest('You asked me to fail');
            };

        case 'script':
            return (socket, message) => {

                internals.record('message', { socket: socket.id, message });
                switch (message) {
                    case 'fail': throw Boom.badRequest('You asked me to fail');
                    case 'crash': throw new Error('crashed on purpose');
                    case 'nothing': return undefined;
                    case 'disconnect': socket.disconnect(); return undefined;
                }

                return { echo: message };
            };
    }

    throw new Error(`unknown onMessage behaviour: ${mode}`);
};


internals.filter = function (mode) {

    switch (mode) {
        case undefined:
        case null:
        case 'none':
            return undefined;

        case 'a-equals-1':
            return (path, message) => Boolean(message && message.a === 1);

        case 'override':
            return (path, message, { socket }) => ({ override: { overridden: true, path, original: message, socket: socket.id } });

        case 'user-equals-message':
            return (path, message, { credentials }) => Boolean(credentials && credentials.user === message);

        case 'internal-b-equals-1':
            return (path, message, { internal }) => Boolean(internal && internal.b === 1);
    }

    throw new Error(`unknown filter behaviour: ${mode}`);
};


internals.subscriptionOptions = function (sub) {

    const options = {
        onSubscribe: (socket, path, params) => {

            internals.record('subscribe', { socket: socket.id, user: internals.userOf(socket), path, params });
            switch (sub.onSubscribe) {
                case 'refuse': throw Boom.forbidden('Refused');
                case 'error': throw new Error('onSubscribe failed on purpose');
                case 'publish-initial': return socket.publish(path, 'Initial state');
            }
        },
        onUnsubscribe: (socket, path, params) => {

            internals.record('unsubscribe', { socket: socket.id, path, params });
        }
    };

    const filter = internals.filter(sub.filter);
    if (filter) {
        options.filter = filter;
    }

    if (sub.auth !== undefined && sub.auth !== null) {
        options.auth = sub.auth;                    // false, or {mode, scope, entity, index}
    }

    return options;
};


// ---- the hapi server ----

internals.build = async function (config, port) {

    const server = Hapi.server({ host: '127.0.0.1', port });

    const plugin = {};
    if (config.heartbeat !== undefined && config.heartbeat !== null) {
        plugin.heartbeat = config.heartbeat;        // false or {interval, timeout}
    }

    if (config.maxChunkChars) {
        plugin.payload = { maxChunkChars: config.maxChunkChars };
    }

    if (config.headers !== undefined) {
        plugin.headers = config.headers;            // null, '*' or a list of names
    }

    if (config.maxConnections) {
        plugin.maxConnections = config.maxConnections;
    }

    if (config.origin) {
        plugin.origin = config.origin;
    }

    plugin.onMessage = internals.onMessage(config.onMessage);
    plugin.onConnection = (socket) => internals.record('connection', { socket: socket.id, user: internals.userOf(socket) });
    plugin.onDisconnection = (socket) => internals.record('disconnection', { socket: socket.id });

    const auth = config.auth;
    if (auth) {
        server.auth.scheme('custom', internals.scheme);
        server.auth.strategy('default', 'custom', { verifyExpiry: auth.verifyExpiry });
        server.auth.default('default');

        plugin.auth = { type: auth.type ?? 'direct' };
        if (auth.mode && auth.mode !== 'required') {
            plugin.auth.route = { mode: auth.mode };
        }

        for (const key of ['password', 'index', 'maxConnectionsPerUser', 'minAuthVerifyInterval', 'timeout', 'cookie', 'isSecure', 'isHttpOnly', 'isSameSite', 'path', 'ttl', 'endpoint']) {
            if (auth[key] !== undefined && auth[key] !== null) {
                plugin.auth[key] = auth[key];
            }
        }
    }
    else {
        plugin.auth = false;
    }

    await server.register({ plugin: Nes, options: plugin });

    // Routes: public ones have auth false, so they answer the same with or
    // without authentication; /who tries authentication, /private requires it.

    const open = auth ? { auth: false } : {};

    server.route({
        method: 'GET',
        path: '/hello',
        options: Object.assign({ id: 'hello-route' }, open),
        handler: () => ({ greeting: 'hi' })
    });

    server.route({
        method: 'POST',
        path: '/echo/{id}',
        options: open,
        handler: (request) => ({
            id: request.params.id,
            payload: request.payload ?? null,
            query: request.query,
            hdr: request.headers['x-custom'],
            socket: Boolean(request.socket),
            ct: request.headers['content-type'],
            headers: request.headers
        })
    });

    server.route({ method: 'GET', path: '/text', options: open, handler: () => 'plain text' });
    server.route({ method: 'GET', path: '/jsonstring', options: open, handler: (request, h) => h.response('{"raw":true}').type('application/json') });
    server.route({ method: 'GET', path: '/null', options: open, handler: () => null });
    server.route({ method: 'GET', path: '/forbidden', options: open, handler: () => Boom.forbidden('Nope') });
    server.route({
        method: 'GET',
        path: '/big',
        options: open,
        handler: (request) => {

            const n = parseInt(request.query.n, 10) || 0;
            const s = request.query.s || 'x';
            return s.repeat(n);
        }
    });

    const who = (request) => ({
        authenticated: request.auth.isAuthenticated,
        credentials: request.auth.credentials ?? null,
        socket: request.socket ? request.socket.id : null
    });

    server.route({ method: 'GET', path: '/who', options: auth ? { auth: { mode: 'try' } } : {}, handler: who });
    if (auth) {
        server.route({ method: 'GET', path: '/private', handler: who });
    }

    for (const sub of config.subscriptions ?? []) {
        server.subscription(sub.path, internals.subscriptionOptions(sub));
    }

    await server.start();
    return server;
};


// ---- control API ----

internals.json = function (res, status, body) {

    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
};


internals.body = function (req) {

    return new Promise((resolve, reject) => {

        const chunks = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('error', reject);
        req.on('end', () => {

            const text = Buffer.concat(chunks).toString('utf8').trim();
            try {
                resolve(text ? JSON.parse(text) : {});
            }
            catch (err) {
                reject(Boom.badRequest('invalid JSON body: ' + err.message));
            }
        });
    });
};


internals.running = function () {

    if (!internals.server) {
        throw Boom.conflict('the hapi server is stopped');
    }

    return internals.server;
};


internals.sockets = async function (server, options) {

    const sockets = [];
    await server.eachSocket((socket) => {

        sockets.push(socket);
    }, options);

    return sockets;
};


internals.findSocket = async function (id) {

    const sockets = await internals.sockets(internals.running());
    const socket = sockets.find((s) => s.id === id);
    if (!socket) {
        throw Boom.notFound(`no socket ${id}`);
    }

    return socket;
};


internals.stop = async function () {

    const server = internals.server;
    if (!server) {
        return false;
    }

    internals.server = null;
    await server.stop({ timeout: 2000 });
    return true;
};


internals.start = async function () {

    if (internals.server) {
        return false;
    }

    internals.server = await internals.build(internals.config, internals.port);
    return true;
};


internals.actions = {

    // {path, message, user?, internal?}: server.publish
    'POST /publish': async (body) => {

        const options = {};
        if (body.user) {
            options.user = body.user;
        }

        if (body.internal !== undefined) {
            options.internal = body.internal;
        }

        await internals.running().publish(body.path, body.message, options);
        return { ok: true };
    },

    // {message, user?}: server.broadcast
    'POST /broadcast': async (body) => {

        await internals.running().broadcast(body.message, body.user ? { user: body.user } : {});
        return { ok: true };
    },

    // every socket: socket.disconnect()
    'POST /disconnect-all': async () => {

        const sockets = await internals.sockets(internals.running());
        await Promise.all(sockets.map((socket) => socket.disconnect()));
        return { disconnected: sockets.length };
    },

    // {path, message}: socket.revoke(path, message) on every socket
    // subscribed to path (eachSocket with that subscription); a null or
    // absent message sends a revoke without message.
    'POST /revoke': async (body) => {

        const sockets = await internals.sockets(internals.running(), { subscription: body.path });
        for (const socket of sockets) {
            await socket.revoke(body.path, body.message ?? null, { ignoreClose: true });
        }

        return { revoked: sockets.length };
    },

    // {socket, message}: socket.send(message)
    'POST /socket/send': async (body) => {

        await (await internals.findSocket(body.socket)).send(body.message);
        return { ok: true };
    },

    // {socket, path, message}: socket.publish(path, message)
    'POST /socket/publish': async (body) => {

        await (await internals.findSocket(body.socket)).publish(body.path, body.message);
        return { ok: true };
    },

    // {socket, path, message}: socket.revoke(path, message)
    'POST /socket/revoke': async (body) => {

        await (await internals.findSocket(body.socket)).revoke(body.path, body.message ?? null);
        return { ok: true };
    },

    // {socket}: socket.disconnect()
    'POST /socket/disconnect': async (body) => {

        await (await internals.findSocket(body.socket)).disconnect();
        return { ok: true };
    },

    // the open sockets with their subscriptions and credentials
    'GET /sockets': async () => {

        const server = internals.server;
        const sockets = server ? await internals.sockets(server) : [];
        return {
            running: Boolean(server),
            sockets: sockets.map((socket) => ({
                id: socket.id,
                subscriptions: Object.keys(socket._subscriptions).sort(),       // nes has no public accessor
                authenticated: socket.auth.isAuthenticated,
                credentials: socket.auth.credentials ?? null,
                app: socket.app
            }))
        };
    },

    // ?hook=&count=&timeout=: the recorded hook calls, waiting for count
    'GET /events': (body, query) => {

        const hook = query.get('hook');
        const count = parseInt(query.get('count'), 10) || 0;
        const timeout = parseInt(query.get('timeout'), 10) || 2000;
        const matching = () => internals.events.filter((e) => !hook || e.hook === hook);

        return new Promise((resolve) => {

            let timer = null;
            const check = (timedOut) => {

                const events = matching();
                if (events.length >= count || timedOut) {
                    internals.waiters.delete(check);
                    clearTimeout(timer);
                    resolve(timedOut ? { events, timedOut: true } : { events });
                }
            };

            internals.waiters.add(check);
            timer = setTimeout(() => check(true), timeout);
            check(false);
        });
    },

    // server.stop(): sockets are closed, the port is released
    'POST /stop': async () => ({ stopped: await internals.stop() }),

    // start again (a new hapi server, same config) on the same port
    'POST /start': async () => ({ started: await internals.start(), port: internals.port }),

    // stop if running, then start on the same port
    'POST /restart': async () => {

        await internals.stop();
        await internals.start();
        return { port: internals.port };
    }
};


internals.control = function () {

    return Http.createServer(async (req, res) => {

        const url = new URL(req.url, 'http://control');
        const action = internals.actions[`${req.method} ${url.pathname}`];
        if (!action) {
            return internals.json(res, 404, { error: `unknown control action ${req.method} ${url.pathname}` });
        }

        try {
            const body = await internals.body(req);
            internals.json(res, 200, await action(body, url.searchParams));
        }
        catch (err) {
            const status = err.isBoom ? err.output.statusCode : 500;
            internals.json(res, status, { error: err.message });
        }
    });
};


// ---- main ----

internals.readConfig = function () {

    if (process.argv[2] !== undefined) {
        return Promise.resolve(process.argv[2]);
    }

    return new Promise((resolve, reject) => {

        let text = '';
        const onData = (chunk) => {

            text += chunk;
            const nl = text.indexOf('\n');
            if (nl !== -1) {
                process.stdin.off('data', onData);
                process.stdin.off('end', onEnd);
                process.stdin.pause();
                resolve(text.slice(0, nl));
            }
        };

        const onEnd = () => reject(new Error('stdin closed before the config line'));
        process.stdin.setEncoding('utf8');
        process.stdin.on('data', onData);
        process.stdin.on('end', onEnd);
    });
};


internals.main = async function () {

    const raw = (await internals.readConfig()).trim();
    internals.config = raw ? JSON.parse(raw) : {};

    internals.server = await internals.build(internals.config, 0);
    internals.port = internals.server.info.port;

    const control = internals.control();
    await new Promise((resolve) => control.listen(0, '127.0.0.1', resolve));

    let exiting = false;
    const exit = async (why) => {

        if (exiting) {
            return;
        }

        exiting = true;
        try {
            await internals.stop();
        }
        catch (err) {
            process.stderr.write(`hapi fixture: stop after ${why}: ${err.stack}\n`);
            process.exit(1);
        }

        control.closeAllConnections();
        control.close();
        process.exit(0);
    };

    process.stdin.on('end', () => exit('stdin closed'));
    process.stdin.on('error', () => exit('stdin error'));
    process.stdin.resume();
    process.on('SIGTERM', () => exit('SIGTERM'));
    process.on('SIGINT', () => exit('SIGINT'));

    process.stdout.write(`LISTENING ${internals.port} CONTROL ${control.address().port}\n`);
};


process.on('unhandledRejection', (err) => {

    process.stderr.write(`hapi fixture: unhandled rejection: ${err && err.stack || err}\n`);
    process.exit(3);
});


internals.main().catch((err) => {

    process.stderr.write(`hapi fixture: ${err.stack}\n`);
    process.exit(2);
});
