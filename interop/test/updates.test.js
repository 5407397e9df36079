'use strict';

// Server pushes outside subscriptions and socket iteration: broadcast,
// socket.Send, socket.Publish, EachSocket (PROTOCOL.md §2.4; nes
// test/listener.js broadcast()/eachSocket(), test/socket.js send()/publish()).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const H = require('../lib/harness');


const updates = (client) => {

    const list = [];
    const waiters = [];
    client.onUpdate = (message) => {

        list.push(message);
        waiters.splice(0).forEach((fn) => fn());
    };

    list.count = (n, ms = H.WAIT) => H.within(new Promise((resolve) => {

        const check = () => (list.length >= n ? resolve([...list]) : waiters.push(check));
        check();
    }), ms, `${n} update(s)`);

    return list;
};


describe('updates', () => {

    test('broadcast reaches every connected client through onUpdate', async (t) => {

        const server = await H.server(t, { heartbeat: false });
        const client1 = await H.connect(t, server);
        const client2 = await H.connect(t, server);
        const u1 = updates(client1);
        const u2 = updates(client2);

        await server.control.broadcast({ all: 'clients' });
        Assert.deepEqual(await u1.count(1), [{ all: 'clients' }]);
        Assert.deepEqual(await u2.count(1), [{ all: 'clients' }]);
        Assert.equal(client1.tap.received()[1], '{"type":"update","message":{"all":"clients"}}');
    });

    test('broadcast skips clients that disconnected', async (t) => {

        const server = await H.server(t, { heartbeat: false });
        const client1 = await H.connect(t, server);
        const client2 = await H.connect(t, server);
        const u1 = updates(client1);
        await client2.disconnect();
        await server.control.events('disconnection', { count: 1 });

        await server.control.broadcast('hello');
        Assert.deepEqual(await u1.count(1), ['hello']);
    });

    test('socket.Send delivers an update to one socket only', async (t) => {

        const server = await H.server(t, { heartbeat: false });
        const client1 = await H.connect(t, server);
        const client2 = await H.connect(t, server);
        const u1 = updates(client1);
        const u2 = updates(client2);

        await server.control.send(client1.id, 'direct update');
        Assert.deepEqual(await u1.count(1), ['direct update']);
        Assert.equal(client1.tap.received()[1], '{"type":"update","message":"direct update"}');
        await H.barrier(server, client2);
        Assert.deepEqual(u2.filter((m) => !m.barrier), []);
    });

    test('a send during onConnection arrives as an update', async (t) => {

        const server = await H.server(t, { heartbeat: false, onConnection: { send: 'goodbye' } });
        const client = H.client(t, server);
        const u = updates(client);

        await client.connect({ reconnect: false });
        Assert.deepEqual(await u.count(1), ['goodbye']);
    });

    test('socket.Publish sends a pub to one socket without any checks', async (t) => {

        const server = await H.server(t, { heartbeat: false, subscriptions: [{ path: '/items/{id}', filter: 'error' }] });
        const client1 = await H.connect(t, server);
        const client2 = await H.connect(t, server);

        const got1 = [];
        const got2 = [];
        await client1.subscribe('/items/1', (message, flags) => got1.push({ message, flags }));
        await client2.subscribe('/items/1', (message) => got2.push(message));

        // The filter would refuse every publication: socket.Publish bypasses it
        await server.control.socketPublish(client1.id, '/items/1', 'Initial state');
        await H.waitUntil(() => got1.length === 1, H.WAIT, 'the publication');
        Assert.deepEqual(got1, [{ message: 'Initial state', flags: {} }]);

        // A pub for a path the client does not hold is ignored by the client
        await server.control.socketPublish(client1.id, '/elsewhere', 'ignored');
        await client1.tap.until((tap) => tap.received().some((f) => f.includes('/elsewhere')), H.WAIT, 'the /elsewhere frame');
        Assert.deepEqual(client1.errors, []);
        await H.barrier(server, client2);
        Assert.deepEqual(got2, []);
    });

    test('EachSocket visits every socket, or those subscribed to one concrete path', async (t) => {

        const server = await H.server(t, { heartbeat: false, subscriptions: [{ path: '/a/{id}' }, { path: '/b' }] });
        const client1 = await H.connect(t, server);
        const client2 = await H.connect(t, server);
        await client1.subscribe('/b', () => {});
        await client2.subscribe('/a/b', () => {});

        const ids = async (sub) => (await server.control.sockets(sub)).map((s) => s.id).sort();
        Assert.deepEqual(await ids(), [client1.id, client2.id].sort());
        Assert.deepEqual(await ids('/a/a'), []);
        Assert.deepEqual(await ids('/a/b'), [client2.id]);
        Assert.deepEqual(await ids('/b'), [client1.id]);
        Assert.deepEqual(await ids('/foo'), []);

        const [one] = await server.control.sockets('/a/b');
        Assert.deepEqual(one.subscriptions, ['/a/b']);
    });

    test('EachSocket with a subscription filter publishes only to that path\'s subscribers', async (t) => {

        const server = await H.server(t, { heartbeat: false, subscriptions: [{ path: '/' }] });
        const got = [];
        const clients = [];
        for (let i = 0; i < 3; ++i) {
            const client = await H.connect(t, server);
            clients.push(client);
            if (i < 2) {
                await client.subscribe('/', (message) => got.push([i, message]));
            }
        }

        const res = await server.control.eachPublish('/', '/', 'heya');
        Assert.equal(res.visited, 2);
        await H.waitUntil(() => got.length === 2, H.WAIT, 'two publications');
        Assert.deepEqual(got.sort(), [[0, 'heya'], [1, 'heya']]);
        Assert.equal(clients[2].tap.received().length, 1);
    });

    test('the socket id the client sees is the server\'s socket id', async (t) => {

        const server = await H.server(t, { heartbeat: false });
        const client = await H.connect(t, server);

        Assert.equal(typeof client.id, 'string');
        Assert.ok(client.id.length > 0);
        const [connection] = await server.control.events('connection', { count: 1 });
        Assert.equal(connection.socket, client.id);
        Assert.deepEqual((await server.control.sockets()).map((s) => s.id), [client.id]);
    });
});
