'use strict';

// Connection lifecycle: upgrade checks, connection limits, hooks, server-side
// disconnects, reconnection with resubscribe, shutdown (PROTOCOL.md §1.5,
// §1.12, §2.9, §3.2; nes test/listener.js, test/index.js, test/client.js
// connect()/_reconnect()/disconnect()).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const H = require('../lib/harness');
const F = require('../lib/frames');


const base = { heartbeat: false };


describe('upgrade', () => {

    test('an origin that is not allowed gets HTTP 401 at the upgrade', async (t) => {

        const server = await H.server(t, { ...base, origins: ['http://localhost:12345'] });

        const raw = await H.raw(t, server, { origin: 'http://evil.example', open: false });
        await raw.closed();
        Assert.equal(raw.unexpectedResponse.statusCode, 401);

        const client = H.client(t, server, { ws: { origin: 'http://localhost:12346' } });
        await Assert.rejects(client.connect({ reconnect: false }), (err) => {

            Assert.equal(err.type, 'ws');
            return true;
        });

        Assert.deepEqual(await server.control.events('connection'), []);
    });

    test('an allowed origin connects', async (t) => {

        const server = await H.server(t, { ...base, origins: ['http://localhost:12345'] });
        const client = await H.connect(t, server, { clientOptions: { ws: { origin: 'http://localhost:12345' } } });

        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });
    });

    test('a client without an Origin header (the Node client) connects, and so does a same-host origin', async (t) => {

        const server = await H.server(t, { ...base, origins: ['http://localhost:12345'] });
        const client = await H.connect(t, server);
        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });

        const same = await H.raw(t, server, { origin: `http://127.0.0.1:${server.port}` });
        Assert.equal((await same.hello()).type, 'hello');
    });

    test('the endpoint also answers at /nes, and the upgrade negotiates no extension', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server, { clientOptions: { path: '/nes' } });
        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });

        const raw = await H.raw(t, server);
        Assert.equal(raw.ws.protocol, '');
        Assert.ok(['', 'permessage-deflate'].includes(raw.ws.extensions.split(';')[0]));
        Assert.equal((await raw.hello()).type, 'hello');
    });
});


describe('connection limits', () => {

    test('the connection over maxConnections is closed right after the upgrade', async (t) => {

        const server = await H.server(t, { ...base, maxConnections: 1 });
        const client = await H.connect(t, server);

        const raw = await H.raw(t, server);             // The upgrade itself succeeds
        const closed = await raw.closed();
        Assert.notEqual(closed.code, null);
        Assert.deepEqual(raw.frames, []);

        const client2 = H.client(t, server);
        const disconnects = [];
        client2.onDisconnect = (willReconnect, log) => disconnects.push(log);
        await Assert.rejects(client2.connect({ reconnect: false }), (err) => {

            // The socket opened and closed under the hello, or closed before
            // the client saw it open
            Assert.ok(['Request failed - server disconnected', 'Connection terminated while waiting to connect', 'Socket error'].includes(err.message), err.message);
            return true;
        });

        Assert.equal(disconnects.length, 1);
        Assert.equal(disconnects[0].wasRequested, false);

        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });
        Assert.ok((await server.control.stats()).RejectedConnections >= 2);
    });

    test('a slot freed by a disconnect can be used again', async (t) => {

        const server = await H.server(t, { ...base, maxConnections: 1 });
        const client = await H.connect(t, server);
        await client.disconnect();
        await server.control.events('disconnection', { count: 1 });

        const client2 = await H.connect(t, server);
        Assert.deepEqual((await client2.request('/hello')).payload, { greeting: 'hi' });
    });
});


describe('connection hooks', () => {

    test('onConnection and onDisconnection run once per socket', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);
        const id = client.id;

        const [connection] = await server.control.events('connection', { count: 1 });
        Assert.equal(connection.socket, id);

        await client.disconnect();
        const [disconnection] = await server.control.events('disconnection', { count: 1 });
        Assert.equal(disconnection.socket, id);
        Assert.deepEqual(await server.control.sockets(), []);
        Assert.equal((await server.control.stats()).Connections, 0);
    });

    test('onConnection failing with *nes.Error fails connect and stops reconnection', async (t) => {

        const server = await H.server(t, { ...base, onConnection: { fail: { status: 403, message: 'Go away' } } });
        const client = H.client(t, server);

        await Assert.rejects(client.connect({ delay: 20 }), (err) => {

            Assert.equal(err.message, 'Go away');
            Assert.equal(err.statusCode, 403);
            Assert.equal(err.type, 'server');
            return true;
        });

        Assert.equal(client.tap.received()[0], F.error(403, 'Forbidden', 'Go away', { type: 'hello', id: 1 }));
        await H.sleep(300);                             // Ample for a reconnection with delay 20
        Assert.equal((await server.control.events('connection')).length, 1, 'the client must not reconnect after a hello error');
    });

    test('onConnection failing with a plain error is 500', async (t) => {

        const server = await H.server(t, { ...base, onConnection: { crash: true } });
        const client = H.client(t, server);

        await Assert.rejects(client.connect({ reconnect: false }), { message: 'An internal server error occurred', statusCode: 500 });
    });
});


describe('server-side disconnect and reconnection', () => {

    test('a server-side disconnect is seen by the client as an unrequested close', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const disconnected = H.deferred();
        client.onDisconnect = (willReconnect, log) => disconnected.resolve({ willReconnect, log });
        await server.control.disconnect(client.id);

        const { willReconnect, log } = await H.within(disconnected.promise, H.WAIT, 'onDisconnect');
        Assert.equal(willReconnect, false);
        Assert.equal(log.wasRequested, false);
        Assert.equal(log.wasClean, true);
        Assert.equal(typeof log.code, 'number');
        Assert.equal(client.id, null);
        await server.control.events('disconnection', { count: 1 });
    });

    test('the client reconnects and resubscribes through hello.subs, then receives new publications', async (t) => {

        const server = await H.server(t, { ...base, subscriptions: [{ path: '/news' }, { path: '/items/{id}' }] });
        const client = H.client(t, server);
        const connects = [];
        const disconnects = [];
        client.onConnect = () => connects.push(client.id);
        client.onDisconnect = (willReconnect, log) => disconnects.push({ willReconnect, log });
        await client.connect({ delay: 50 });

        const got = [];
        await client.subscribe('/news', (message) => got.push(message));
        await client.subscribe('/items/7', () => {});
        const firstId = client.id;

        await server.control.disconnect(firstId);
        await H.waitUntil(() => connects.length === 2, H.WAIT, 'the reconnection');

        Assert.equal(disconnects.length, 1);
        Assert.equal(disconnects[0].willReconnect, true);
        Assert.equal(disconnects[0].log.wasRequested, false);
        Assert.notEqual(client.id, firstId);

        const hello = JSON.parse(client.tap.frames.filter((f) => f.dir === 'out' && f.conn === 1)[0].data);
        Assert.equal(hello.type, 'hello');
        Assert.deepEqual(hello.subs, ['/news', '/items/7']);
        Assert.ok(hello.id > 3, 'the id counter is not reset across connections');
        Assert.match(client.tap.frames.filter((f) => f.dir === 'in' && f.conn === 1)[0].data, F.helloPattern(hello.id, false));

        Assert.deepEqual((await server.control.sockets('/news')).map((s) => s.id), [client.id]);
        await server.control.publish('/news', 'after reconnect');
        await H.waitUntil(() => got.length === 1, H.WAIT, 'the publication after reconnect');
        Assert.deepEqual(got, ['after reconnect']);
    });

    test('reconnection stops after the retries are used up', async (t) => {

        const server = await H.server(t, base);
        const client = H.client(t, server);
        const log = [];
        client.onConnect = () => {

            log.push('c');
            server.control.disconnect(client.id).catch(() => {});
        };

        client.onDisconnect = (willReconnect) => log.push(willReconnect ? 't' : 'f');
        await client.connect({ delay: 10, maxDelay: 20, retries: 2 });

        await H.waitUntil(() => log.at(-1) === 'f', H.WAIT, 'the last disconnect');
        Assert.equal(log.join(''), 'ctctcf');
        await H.sleep(100);
        Assert.equal((await server.control.events('connection')).length, 3);
        Assert.equal((await server.control.events('disconnection', { count: 3 })).length, 3);
    });

    test('a client with reconnection off stays disconnected', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server, { delay: 20 });

        const disconnected = H.deferred();
        client.onDisconnect = (willReconnect) => disconnected.resolve(willReconnect);
        await server.control.disconnect(client.id);
        Assert.equal(await H.within(disconnected.promise, H.WAIT, 'onDisconnect'), false);

        await H.sleep(300);                             // Ample for a reconnection with delay 20
        Assert.equal((await server.control.events('connection')).length, 1);
        await Assert.rejects(client.request('/hello'), { message: 'Failed to send message - server disconnected' });
    });

    test('a server-side disconnect fails pending requests', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        // The expectation is attached before anything is awaited: the request
        // may fail while the test awaits, and a rejection left unhandled then
        // fails the test.
        const failed = Assert.rejects(client.request('/slow?ms=1000'), { message: 'Request failed - server disconnected', type: 'disconnect' });
        await H.sleep(30);
        await server.control.disconnect(client.id);
        await failed;
    });

    test('a route running when the server disconnects its socket sees its request context cancelled', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);
        const id = client.id;

        const failed = Assert.rejects(client.request('/slow?ms=5000'), { message: 'Request failed - server disconnected' });
        await H.sleep(100);
        const closedAt = Date.now();
        await server.control.disconnect(id);
        await failed;

        const [route] = await server.control.events('route', { count: 1, timeout: 6000 });
        Assert.equal(route.socket, id);
        Assert.equal(route.result, 'cancelled', `the handler ran to completion ${route.at - closedAt} ms after the socket closed`);
        const [disconnection] = await server.control.events('disconnection', { count: 1, timeout: 6000 });
        Assert.ok(disconnection.at - closedAt < 1000, `onDisconnection ran ${disconnection.at - closedAt} ms after the close`);
    });

    test('a route running when the client goes away sees its request context cancelled', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);
        const id = client.id;

        const failed = Assert.rejects(client.request('/slow?ms=5000'), { message: 'Request failed - server disconnected' });
        await H.sleep(100);
        const closedAt = Date.now();
        await client.disconnect();
        const closeTook = Date.now() - closedAt;
        await failed;

        const [route] = await server.control.events('route', { count: 1, timeout: 6000 });
        Assert.equal(route.socket, id);
        Assert.equal(route.result, 'cancelled', `the handler ran to completion ${route.at - closedAt} ms after the client left`);
        Assert.ok(closeTook < 1000, `the server answered the client's close frame after ${closeTook} ms`);
    });

    test('a client that disconnects and connects again gets a new socket', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);
        const first = client.id;
        await client.disconnect();
        await client.connect({ reconnect: false });

        Assert.notEqual(client.id, first);
        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });
        Assert.deepEqual((await server.control.sockets()).map((s) => s.id), [client.id]);
    });
});


describe('many clients and shutdown', () => {

    test('fifty clients connect, subscribe and each receive a publication and a broadcast', async (t) => {

        const server = await H.server(t, { ...base, subscriptions: [{ path: '/room/{id}' }] });
        const received = [];
        const clients = await Promise.all(Array.from({ length: 50 }, async (_, i) => {

            const client = await H.connect(t, server);
            await client.subscribe(`/room/${i % 5}`, (message) => received.push([i, message]));
            client.onUpdate = (message) => received.push([i, message]);
            return client;
        }));

        Assert.equal(clients.length, 50);
        for (let room = 0; room < 5; ++room) {
            await server.control.publish(`/room/${room}`, `room ${room}`);
        }

        await server.control.broadcast('everyone');
        await H.waitUntil(() => received.length === 100, H.WAIT, '100 deliveries');
        for (let i = 0; i < 50; ++i) {
            const mine = received.filter(([n]) => n === i).map(([, m]) => m).sort();
            Assert.deepEqual(mine, ['everyone', `room ${i % 5}`]);
        }
    });

    test('Shutdown closes every client, runs the hooks and refuses new connections', async (t) => {

        const server = await H.server(t, { ...base, subscriptions: [{ path: '/' }] });
        const disconnects = [];
        for (let i = 0; i < 10; ++i) {
            const client = await H.connect(t, server);
            await client.subscribe('/', () => {});
            client.onDisconnect = (willReconnect, log) => disconnects.push(log);
        }

        const res = await server.control.shutdown(3000);
        Assert.equal(res.ok, true, JSON.stringify(res));
        await H.waitUntil(() => disconnects.length === 10, H.WAIT, 'all clients to see the close');
        Assert.ok(disconnects.every((log) => log.wasRequested === false));

        Assert.equal((await server.control.events('unsubscribe', { count: 10 })).length, 10);
        Assert.equal((await server.control.events('disconnection', { count: 10 })).length, 10);

        const late = H.client(t, server);
        await Assert.rejects(late.connect({ reconnect: false }));
    });

    test('SIGTERM shuts the fixture down cleanly and the client sees the close', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);
        const disconnected = H.deferred();
        client.onDisconnect = (willReconnect, log) => disconnected.resolve(log);

        const { code, signal } = await server.stop();
        Assert.equal(signal, null);
        Assert.equal(code, 0, server.stderr());
        const log = await H.within(disconnected.promise, H.WAIT, 'onDisconnect');
        Assert.equal(log.wasRequested, false);
    });
});
