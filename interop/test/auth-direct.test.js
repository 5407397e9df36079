'use strict';

// Direct authentication: credentials in hello.auth, checked by the server's
// Authenticator with nes's test scheme; failures, optional mode, the hello
// timeout, reconnection, per-user limits and reauth (PROTOCOL.md §1.4,
// §1.11, §2.1, §2.6; nes test/auth.js "direct" and the hello timeout).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const A = require('../lib/auth');
const F = require('../lib/frames');
const H = require('../lib/harness');


const direct = { heartbeat: false, auth: { type: 'direct' } };
const optional = { heartbeat: false, auth: { type: 'direct', mode: 'optional' } };
const indexed = (extra = {}) => ({ heartbeat: false, auth: { type: 'direct', index: true, ...extra } });

const slack = H.WAIT;


const helloError = (status, error, message, id = 1) => F.error(status, error, message, { type: 'hello', id });


describe('direct authentication', () => {

    test('a hello with valid credentials authenticates the socket, and routes see its credentials', async (t) => {

        const server = await H.server(t, direct);
        const client = await H.connect(t, server, { auth: A.direct('john') });

        Assert.equal(client.tap.sent()[0], '{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"id":1}');
        Assert.match(client.tap.received()[0], F.helloPattern(1, false));

        const { payload, statusCode } = await client.request('/whoami');
        Assert.equal(statusCode, 200);
        Assert.equal(payload.authenticated, true);
        Assert.equal(payload.socket, true);
        Assert.deepEqual({ user: payload.credentials.user, scope: payload.credentials.scope, artifact: payload.credentials.artifact }, A.users.john);
        Assert.equal(payload.credentials.expires, 0);

        Assert.equal((await client.request('/protected')).payload.credentials.user, 'john');

        const [socket] = await server.control.sockets();
        Assert.equal(socket.id, client.id);
        Assert.equal(socket.credentials.user, 'john');

        const [connection] = await server.control.events('connection', { count: 1 });
        Assert.equal(connection.user, 'john');

        // The authenticator saw a request made of the hello's headers
        const [authn] = await server.control.events('authenticate', { count: 1 });
        Assert.equal(authn.result, 'abc');
    });

    test('every test user authenticates with its own credentials', async (t) => {

        const server = await H.server(t, direct);
        for (const name of ['john', 'ed', 'app']) {
            const client = await H.connect(t, server, { auth: A.direct(name) });
            const { credentials } = (await client.request('/whoami')).payload;
            Assert.deepEqual({ user: credentials.user, scope: credentials.scope, artifact: credentials.artifact }, A.users[name]);
        }
    });

    test('bad credentials fail the hello with 401 and the authenticator\'s message, and the client does not reconnect', async (t) => {

        const server = await H.server(t, direct);
        const client = H.client(t, server);
        let connects = 0;
        client.onConnect = () => ++connects;

        await Assert.rejects(client.connect({ delay: 20, auth: A.direct('steve') }), (err) => {

            Assert.equal(err.message, 'Bad credentials');
            Assert.equal(err.statusCode, 401);
            Assert.equal(err.type, 'server');
            return true;
        });

        Assert.equal(client.tap.received()[0], helloError(401, 'Unauthorized', 'Bad credentials'));
        await H.sleep(200);                             // Ample for a reconnection with delay 20
        Assert.equal(connects, 0);
        Assert.equal((await server.control.events('authenticate')).length, 1);
        Assert.deepEqual(await server.control.events('connection'), []);
    });

    test('a hello without auth is refused with 401 "Connection requires authentication"', async (t) => {

        const server = await H.server(t, direct);
        const client = H.client(t, server);
        await Assert.rejects(client.connect({ reconnect: false }), { message: 'Connection requires authentication', statusCode: 401 });
        Assert.equal(client.tap.sent()[0], '{"type":"hello","version":"2","id":1}');
        Assert.equal(client.tap.received()[0], helloError(401, 'Unauthorized', 'Connection requires authentication'));

        // An empty token is left out of the hello by the client: the same
        const client2 = H.client(t, server);
        await Assert.rejects(client2.connect({ reconnect: false, auth: '' }), { message: 'Connection requires authentication', statusCode: 401 });
        Assert.deepEqual(await server.control.events('authenticate'), []);
    });

    test('hello.auth without an Authorization header, or without headers, is 401 "Missing authentication"', async (t) => {

        const server = await H.server(t, direct);
        const client = H.client(t, server);
        await Assert.rejects(client.connect({ reconnect: false, auth: { headers: { 'x-other': 'value' } } }), { message: 'Missing authentication', statusCode: 401 });
        Assert.equal(client.tap.received()[0], helloError(401, 'Unauthorized', 'Missing authentication'));

        const client2 = H.client(t, server);
        await Assert.rejects(client2.connect({ reconnect: false, auth: {} }), { message: 'Missing authentication', statusCode: 401 });
        Assert.deepEqual(await server.control.events('connection'), []);
    });

    test('an authenticator error that is not a rejection is 401 "Unauthorized" without its text', async (t) => {

        const server = await H.server(t, direct);
        const client = H.client(t, server);
        await Assert.rejects(client.connect({ reconnect: false, auth: A.direct('crash') }), { message: 'Unauthorized', statusCode: 401 });
        Assert.equal(client.tap.received()[0], helloError(401, 'Unauthorized', 'Unauthorized'));
    });

    test('the authenticator sees the socket\'s peer address', async (t) => {

        const server = await H.server(t, direct);
        const client = await H.connect(t, server, { auth: { headers: { authorization: 'Custom app from:127.0.0.1' } } });
        Assert.equal((await client.request('/whoami')).payload.credentials.artifact, 'app');

        const client2 = H.client(t, server);
        await Assert.rejects(client2.connect({ reconnect: false, auth: { headers: { authorization: 'Custom app from:192.168.0.1' } } }), { message: 'remoteAddress is not in whitelist', statusCode: 401 });
    });

    test('a request carrying an Authorization header is refused with 400 and the socket keeps its credentials', async (t) => {

        const server = await H.server(t, direct);
        const client = await H.connect(t, server, { auth: A.direct('john') });

        await Assert.rejects(client.request({ path: '/whoami', headers: { Authorization: 'Custom ed' } }), { message: 'Cannot include an Authorization header', statusCode: 400 });
        Assert.equal(client.tap.received().at(-1), F.badRequest('Cannot include an Authorization header', { type: 'request', id: 2 }));
        Assert.equal((await client.request('/whoami')).payload.credentials.user, 'john');
    });

    test('a client reconnecting after a server-side disconnect authenticates again with the same credentials', async (t) => {

        const server = await H.server(t, direct);
        const client = H.client(t, server);
        let connects = 0;
        client.onConnect = () => ++connects;
        const disconnects = A.disconnects(client);

        await client.connect({ delay: 20, auth: A.direct('john') });
        const first = client.id;
        await server.control.disconnect(first);
        await disconnects.count(1);
        await H.waitUntil(() => connects === 2, H.WAIT, 'the reconnection');

        Assert.notEqual(client.id, first);
        Assert.equal(disconnects[0].willReconnect, true);
        const hellos = client.tap.sent().filter((f) => JSON.parse(f).type === 'hello');
        Assert.deepEqual(hellos, [
            '{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"id":1}',
            '{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"id":2}'
        ]);
        Assert.equal((await client.request('/whoami')).payload.credentials.user, 'john');
        Assert.deepEqual(client.errors, []);
    });
});


describe('optional authentication', () => {

    test('a hello without auth connects anonymously; a protected route then answers 401 "Missing authentication"', async (t) => {

        const server = await H.server(t, optional);
        const client = await H.connect(t, server);

        const { payload } = await client.request('/whoami');
        Assert.deepEqual(payload, { authenticated: false, credentials: null, socket: true });
        await Assert.rejects(client.request('/protected'), (err) => {

            Assert.equal(err.message, 'Missing authentication');
            Assert.equal(err.statusCode, 401);
            return true;
        });

        Assert.equal((await server.control.sockets())[0].credentials, null);
    });

    test('hello.auth without headers connects anonymously (nes "handles optional auth on auth endpoint")', async (t) => {

        const server = await H.server(t, optional);
        const client = await H.connect(t, server, { auth: {} });
        Assert.equal((await client.request('/whoami')).payload.authenticated, false);
    });

    test('valid credentials still authenticate and bad ones still fail', async (t) => {

        const server = await H.server(t, optional);
        const client = await H.connect(t, server, { auth: A.direct('ed') });
        Assert.equal((await client.request('/protected')).payload.credentials.user, 'ed');

        const client2 = H.client(t, server);
        await Assert.rejects(client2.connect({ reconnect: false, auth: A.direct('steve') }), { message: 'Bad credentials', statusCode: 401 });
    });
});


describe('hello timeout with authentication', () => {

    test('a socket that sends no hello is closed after the hello timeout', async (t) => {

        const server = await H.server(t, { ...direct, helloTimeout: 200 });
        const start = Date.now();
        const raw = await H.raw(t, server);
        const closed = await raw.closed(200 + slack);
        Assert.ok(closed.at - start >= 190, `closed after ${closed.at - start} ms`);
        Assert.equal(closed.code, 4001);
        Assert.deepEqual(raw.frames, []);
    });

    test('a socket whose authenticated hello arrived in time stays open past the timeout', async (t) => {

        const server = await H.server(t, { ...direct, helloTimeout: 200 });
        const client = H.client(t, server);
        const disconnects = A.disconnects(client);
        await client.connect({ reconnect: false, auth: A.direct('john') });

        await H.sleep(450);
        Assert.equal(disconnects.length, 0);
        Assert.equal((await client.request('/whoami')).payload.credentials.user, 'john');
    });

    test('a socket whose hello failed authentication is not usable and is closed by the hello timeout', async (t) => {

        const server = await H.server(t, { ...direct, helloTimeout: 300 });
        const raw = await H.raw(t, server);
        const reply = await raw.request({ type: 'hello', version: '2', id: 1, auth: A.direct('steve') });
        Assert.equal(reply, helloError(401, 'Unauthorized', 'Bad credentials'));

        const next = await raw.request({ type: 'request', id: 2, method: 'GET', path: '/whoami' });
        Assert.equal(next, F.badRequest('Connection is not initialized', { type: 'request', id: 2 }));
        const closed = await raw.closed(300 + slack);
        Assert.equal(closed.code, 4001);
    });

    test('a negative hello timeout disables it', async (t) => {

        const server = await H.server(t, { ...direct, helloTimeout: -1 });
        const raw = await H.raw(t, server);
        await H.sleep(400);
        Assert.equal(raw.closeInfo, null);
        const reply = JSON.parse(await raw.request({ type: 'hello', version: '2', id: 1, auth: A.direct('john') }));
        Assert.equal(reply.type, 'hello');
    });
});


describe('connections per user', () => {

    test('maxConnectionsPerUser 1: a second socket of the same user gets 503, other users and app credentials are not limited', async (t) => {

        const server = await H.server(t, indexed({ maxConnectionsPerUser: 1 }));
        await H.connect(t, server, { auth: A.direct('john') });

        const client2 = H.client(t, server);
        await Assert.rejects(client2.connect({ delay: 20, auth: A.direct('john') }), { message: 'Too many connections for the authenticated user', statusCode: 503 });
        Assert.equal(client2.tap.received()[0], helloError(503, 'Service Unavailable', 'Too many connections for the authenticated user'));

        await H.connect(t, server, { auth: A.direct('ed') });
        await H.connect(t, server, { auth: A.direct('app') });
        await H.connect(t, server, { auth: A.direct('app') });   // No user: not indexed, not limited

        await H.sleep(100);                             // client2 must not have reconnected
        Assert.equal((await server.control.sockets(undefined, { user: 'john' })).length, 1);
        Assert.equal((await server.control.sockets()).length, 4);
    });

    test('a slot freed by a disconnect can be used by the same user again', async (t) => {

        const server = await H.server(t, indexed({ maxConnectionsPerUser: 1 }));
        const client = await H.connect(t, server, { auth: A.direct('john') });
        await client.disconnect();
        await server.control.events('disconnection', { count: 1 });

        const client2 = await H.connect(t, server, { auth: A.direct('john') });
        Assert.equal((await client2.request('/whoami')).payload.credentials.user, 'john');
    });
});


describe('reauthentication', () => {

    test('reauth replaces the credentials: routes and the user index see the new user, and a ToUser update arrives once', async (t) => {

        const server = await H.server(t, indexed());
        const client = await H.connect(t, server, { auth: A.direct('john') });
        const updates = A.updates(client);

        Assert.equal(await client.reauthenticate(A.direct('ed')), true);
        Assert.equal(client.tap.sent().at(-1), '{"type":"reauth","auth":{"headers":{"authorization":"Custom ed"}},"id":2}');
        Assert.equal(client.tap.received().at(-1), '{"type":"reauth","id":2}');

        const { credentials } = (await client.request('/whoami')).payload;
        Assert.deepEqual({ user: credentials.user, scope: credentials.scope, artifact: credentials.artifact }, A.users.ed);
        Assert.equal((await server.control.sockets())[0].credentials.user, 'ed');

        Assert.deepEqual((await server.control.sockets(undefined, { user: 'ed' })).map((s) => s.id), [client.id]);
        Assert.deepEqual(await server.control.sockets(undefined, { user: 'john' }), []);

        await server.control.broadcastToUser('john', 'for john');
        await server.control.broadcastToUser('ed', 'for ed');
        await H.barrier(server, client);
        Assert.deepEqual(updates.filter((u) => typeof u === 'string'), ['for ed']);
    });

    test('reauth as the same user keeps the socket indexed once', async (t) => {

        const server = await H.server(t, indexed());
        const client = await H.connect(t, server, { auth: A.direct('john') });
        const updates = A.updates(client);

        await client.reauthenticate(A.direct('john'));
        await client.reauthenticate(A.direct('john'));
        await server.control.broadcastToUser('john', 'once');
        await H.barrier(server, client);
        Assert.deepEqual(updates.filter((u) => typeof u === 'string'), ['once']);
        Assert.equal((await server.control.sockets(undefined, { user: 'john' })).length, 1);
    });

    test('a failed reauth answers the error, then the server closes the socket', async (t) => {

        const server = await H.server(t, direct);
        const client = H.client(t, server);
        const disconnects = A.disconnects(client);
        await client.connect({ reconnect: false, auth: A.direct('john') });

        await Assert.rejects(client.reauthenticate(A.direct('no-such-user')), { message: 'Bad credentials', statusCode: 401 });
        Assert.equal(client.tap.received().at(-1), F.error(401, 'Unauthorized', 'Bad credentials', { type: 'reauth', id: 2 }));

        const [log] = await disconnects.count(1);
        Assert.equal(log.wasRequested, false);
        Assert.equal(log.code, 4004);
        await server.control.events('disconnection', { count: 1 });
        Assert.deepEqual(await server.control.sockets(), []);
    });

    test('reauth within maxConnectionsPerUser 1 succeeds, and moving to another user frees the slot', async (t) => {

        const server = await H.server(t, indexed({ maxConnectionsPerUser: 1 }));
        const client = await H.connect(t, server, { auth: A.direct('john') });

        Assert.equal(await client.reauthenticate(A.direct('john')), true);
        Assert.equal(await client.reauthenticate(A.direct('ed')), true);

        const john = await H.connect(t, server, { auth: A.direct('john') });   // john's slot is free again
        Assert.equal((await john.request('/whoami')).payload.credentials.user, 'john');

        const ed = H.client(t, server);
        await Assert.rejects(ed.connect({ reconnect: false, auth: A.direct('ed') }), { message: 'Too many connections for the authenticated user', statusCode: 503 });

        // Reauth into a full user fails like a hello, and closes the socket
        const disconnects = A.disconnects(john);
        await Assert.rejects(john.reauthenticate(A.direct('ed')), { message: 'Too many connections for the authenticated user', statusCode: 503 });
        await disconnects.count(1);
    });

    test('after reauth the client reconnects with the new credentials', async (t) => {

        const server = await H.server(t, direct);
        const client = H.client(t, server);
        let connects = 0;
        client.onConnect = () => ++connects;

        await client.connect({ delay: 20, auth: A.direct('john') });
        await client.reauthenticate(A.direct('ed'));
        await server.control.disconnect(client.id);
        await H.waitUntil(() => connects === 2, H.WAIT, 'the reconnection');

        Assert.equal(client.tap.sent().filter((f) => JSON.parse(f).type === 'hello').at(-1), '{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom ed"}},"id":3}');
        Assert.equal((await client.request('/whoami')).payload.credentials.user, 'ed');
    });

    test('an anonymous socket (optional mode) can authenticate later with reauth', async (t) => {

        const server = await H.server(t, { ...optional, subscriptions: [{ path: '/private' }] });
        const client = await H.connect(t, server);
        await Assert.rejects(client.subscribe('/private', () => { }), { message: 'Authentication required to subscribe', statusCode: 401 });

        await client.reauthenticate(A.direct('john'));
        const handler = A.handler();
        await client.subscribe('/private', handler);
        await server.control.publish('/private', 'now you see it');
        Assert.deepEqual(await handler.count(1), ['now you see it']);
    });
});
