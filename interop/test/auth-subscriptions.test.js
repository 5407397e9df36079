'use strict';

// Subscriptions and updates of authenticated sockets: subscription auth
// mode, scope (static and {params.x}), entity; filters that read the
// credentials; publish, broadcast and EachSocket limited to a user
// (PROTOCOL.md §1.4, §1.10, §1.11; nes test/auth.js "direct" subscription
// tests, test/listener.js broadcast/publish/eachSocket by user).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const A = require('../lib/auth');
const F = require('../lib/frames');
const H = require('../lib/harness');


const withSubs = (subscriptions, auth = {}) => ({ heartbeat: false, auth: { type: 'direct', ...auth }, subscriptions });

const subError = (status, error, message, id) => F.error(status, error, message, { type: 'sub', id });


// Subscribes, publishes one message and checks it arrives.
const receives = async (server, client, path) => {

    const handler = A.handler();
    await client.subscribe(path, handler);
    Assert.ok(client.subscriptions().includes(path));
    await server.control.publish(path, 'heya');
    Assert.deepEqual(await handler.count(1), ['heya']);
};


// Subscribing fails with status/message and leaves no subscription.
const refused = async (client, path, statusCode, message) => {

    await Assert.rejects(client.subscribe(path, () => { }), (err) => {

        Assert.equal(err.message, message);
        Assert.equal(err.statusCode, statusCode);
        return true;
    });

    Assert.deepEqual(client.subscriptions(), []);
    const sent = client.tap.sent().at(-1);
    Assert.equal(client.tap.received().at(-1), subError(statusCode, statusCode === 401 ? 'Unauthorized' : 'Forbidden', message, JSON.parse(sent).id));
};


describe('subscription auth mode', () => {

    test('a subscription without auth config on an authenticating server accepts authenticated sockets', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/' }]));
        const client = await H.connect(t, server, { auth: A.direct('john') });
        await receives(server, client, '/');
    });

    test('a subscription without auth config requires credentials: an anonymous socket gets 401', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/' }], { mode: 'optional' }));
        const client = await H.connect(t, server);
        await refused(client, '/', 401, 'Authentication required to subscribe');
        Assert.deepEqual(await server.control.events('subscribe'), []);
    });

    test('mode required refuses anonymous sockets, optional and none accept them', async (t) => {

        const server = await H.server(t, withSubs([
            { path: '/required', auth: { mode: 'required' } },
            { path: '/optional', auth: { mode: 'optional' } },
            { path: '/none', auth: { mode: 'none', entity: 'user', scope: ['x'] } }
        ], { mode: 'optional' }));

        const client = await H.connect(t, server);
        await refused(client, '/required', 401, 'Authentication required to subscribe');
        await receives(server, client, '/optional');
        await receives(server, client, '/none');
    });

    test('mode optional still checks the scope of authenticated sockets; mode none does not', async (t) => {

        const server = await H.server(t, withSubs([
            { path: '/optional', auth: { mode: 'optional', scope: ['b'] } },
            { path: '/none', auth: { mode: 'none', scope: ['b'] } }
        ], { mode: 'optional' }));

        const client = await H.connect(t, server, { auth: A.direct('john') });
        await refused(client, '/optional', 403, 'Insufficient scope to subscribe, expected any of: b');
        await receives(server, client, '/none');
    });

    test('a subscription in hello.subs that needs credentials fails the hello with the path', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/private' }], { mode: 'optional' }));
        const client = H.client(t, server);
        client.subscribe('/private', () => { });

        await Assert.rejects(client.connect({ reconnect: false }), (err) => {

            Assert.equal(err.message, 'Authentication required to subscribe');
            Assert.equal(err.statusCode, 401);
            Assert.equal(err.path, '/private');
            return true;
        });

        Assert.equal(client.tap.sent()[0], '{"type":"hello","version":"2","subs":["/private"],"id":1}');
        Assert.equal(client.tap.received()[0], F.error(401, 'Unauthorized', 'Authentication required to subscribe', { type: 'hello', id: 1, path: '/private' }));
    });

    test('hello.subs of an authenticated socket are subscribed during the hello', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/private', auth: { entity: 'user' } }]));
        const client = H.client(t, server);
        const handler = A.handler();
        client.subscribe('/private', handler);
        await client.connect({ reconnect: false, auth: A.direct('john') });

        await server.control.publish('/private', 'welcome');
        Assert.deepEqual(await handler.count(1), ['welcome']);
    });
});


describe('subscription scope', () => {

    test('a static scope matches any of the listed scopes', async (t) => {

        const server = await H.server(t, withSubs([
            { path: '/a', auth: { scope: ['a'] } },
            { path: '/xa', auth: { scope: ['x', 'a'] } },
            { path: '/ba', auth: { scope: ['b', 'a'] } }
        ]));

        const john = await H.connect(t, server, { auth: A.direct('john') });
        await receives(server, john, '/a');
        await receives(server, john, '/xa');

        const ed = await H.connect(t, server, { auth: A.direct('ed') });
        await receives(server, ed, '/a');
        await receives(server, ed, '/ba');
    });

    test('a missing scope is 403 naming the expected scopes, for users and app credentials', async (t) => {

        const server = await H.server(t, withSubs([
            { path: '/b', auth: { scope: ['b'] } },
            { path: '/xy', auth: { scope: ['x', 'y'] } }
        ]));

        const john = await H.connect(t, server, { auth: A.direct('john') });
        await refused(john, '/b', 403, 'Insufficient scope to subscribe, expected any of: b');

        const ed = await H.connect(t, server, { auth: A.direct('ed') });
        await refused(ed, '/xy', 403, 'Insufficient scope to subscribe, expected any of: x,y');

        const app = await H.connect(t, server, { auth: A.direct('app') });
        await refused(app, '/xy', 403, 'Insufficient scope to subscribe, expected any of: x,y');
    });

    test('a dynamic scope is expanded from the path parameters', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/room/{id}', auth: { scope: ['{params.id}'] } }]));

        const ed = await H.connect(t, server, { auth: A.direct('ed') });
        await receives(server, ed, '/room/b');
        Assert.deepEqual(ed.subscriptions(), ['/room/b']);
        await Assert.rejects(ed.subscribe('/room/c', () => { }), { statusCode: 403, message: 'Insufficient scope to subscribe, expected any of: c' });

        const john = await H.connect(t, server, { auth: A.direct('john') });
        await refused(john, '/room/b', 403, 'Insufficient scope to subscribe, expected any of: b');
        await receives(server, john, '/room/a');
    });
});


describe('subscription entity', () => {

    test('entity user accepts user credentials and refuses app credentials with 403', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/', auth: { entity: 'user' } }], { index: true }));
        const john = await H.connect(t, server, { auth: A.direct('john') });
        await receives(server, john, '/');

        const app = await H.connect(t, server, { auth: A.direct('app') });
        await refused(app, '/', 403, 'Application credentials cannot be used on a user subscription');
    });

    test('entity app accepts app credentials and refuses user credentials with 403', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/', auth: { entity: 'app' } }], { index: true }));
        const app = await H.connect(t, server, { auth: A.direct('app') });
        await receives(server, app, '/');

        const john = await H.connect(t, server, { auth: A.direct('john') });
        await refused(john, '/', 403, 'User credentials cannot be used on an application subscription');
    });

    test('entity any accepts both; the scope is checked before the entity', async (t) => {

        const server = await H.server(t, withSubs([
            { path: '/any', auth: { entity: 'any' } },
            { path: '/user-b', auth: { entity: 'user', scope: ['b'] } }
        ]));

        await receives(server, await H.connect(t, server, { auth: A.direct('john') }), '/any');
        const app = await H.connect(t, server, { auth: A.direct('app') });
        await receives(server, app, '/any');

        await Assert.rejects(app.subscribe('/user-b', () => { }), { statusCode: 403, message: 'Insufficient scope to subscribe, expected any of: b' });
    });
});


describe('subscriptions after reauth', () => {

    test('reauth as credentials without the scope revokes that subscription and keeps the others', async (t) => {

        const server = await H.server(t, withSubs([
            { path: '/a', auth: { scope: ['a'] } },
            { path: '/b', auth: { scope: ['b'] } }
        ]));

        const client = await H.connect(t, server, { auth: A.direct('ed') });
        const a = A.handler();
        const b = A.handler();
        await client.subscribe('/a', a);
        await client.subscribe('/b', b);

        await client.reauthenticate(A.direct('john'));
        await client.tap.until((tap) => tap.received().includes(F.revoke('/b')), H.WAIT, 'the revoke of /b');
        const received = client.tap.received();
        Assert.equal(received.indexOf(F.revoke('/b')), received.indexOf('{"type":"reauth","id":4}') + 1, 'revoked right after the reauth reply');
        Assert.deepEqual(client.subscriptions(), ['/a']);

        await server.control.publish('/b', 'not for john');
        await server.control.publish('/a', 'for a');
        Assert.deepEqual(await a.count(1), ['for a']);
        await H.barrier(server, client);
        Assert.deepEqual(b.messages, []);
        Assert.deepEqual((await server.control.sockets())[0].subscriptions, ['/a']);
    });
});


describe('updates for a user', () => {

    test('a filter sees the subscriber\'s credentials', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/', filter: 'user-equals-message' }]));
        const client = await H.connect(t, server, { auth: A.direct('john') });
        const handler = A.handler();
        await client.subscribe('/', handler);

        await server.control.publish('/', 'steve');
        await server.control.publish('/', 'john');
        Assert.deepEqual(await handler.count(1), ['john']);
        await H.barrier(server, client);
        Assert.deepEqual(handler.messages, ['john']);
    });

    test('publish to a user reaches only that user\'s subscribed sockets', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/news' }], { index: true }));
        const john1 = await H.connect(t, server, { auth: A.direct('john') });
        const john2 = await H.connect(t, server, { auth: A.direct('john') });
        const john3 = await H.connect(t, server, { auth: A.direct('john') });   // Not subscribed
        const ed = await H.connect(t, server, { auth: A.direct('ed') });
        const app = await H.connect(t, server, { auth: A.direct('app') });

        const handlers = [A.handler(), A.handler(), A.handler(), A.handler()];
        await john1.subscribe('/news', handlers[0]);
        await john2.subscribe('/news', handlers[1]);
        await ed.subscribe('/news', handlers[2]);
        await app.subscribe('/news', handlers[3]);
        const u3 = A.updates(john3);

        await server.control.publishToUser('john', '/news', 'for john');
        Assert.deepEqual(await handlers[0].count(1), ['for john']);
        Assert.deepEqual(await handlers[1].count(1), ['for john']);
        for (const [client, handler] of [[ed, handlers[2]], [app, handlers[3]]]) {
            await H.barrier(server, client);
            Assert.deepEqual(handler.messages, []);
        }

        await H.barrier(server, john3);
        Assert.equal(john3.tap.received().filter((f) => f.includes('for john')).length, 0);
        Assert.equal(u3.length, 1);                     // Only the barrier
    });

    test('broadcast to a user reaches every socket of that user and no other', async (t) => {

        const server = await H.server(t, withSubs([], { index: true, mode: 'optional' }));
        const ed1 = await H.connect(t, server, { auth: A.direct('ed') });
        const ed2 = await H.connect(t, server, { auth: A.direct('ed') });
        const john = await H.connect(t, server, { auth: A.direct('john') });
        const app = await H.connect(t, server, { auth: A.direct('app') });
        const anonymous = await H.connect(t, server);
        const updates = [ed1, ed2, john, app, anonymous].map((c) => A.updates(c));

        await server.control.broadcastToUser('ed', { to: 'ed' });
        Assert.deepEqual(await updates[0].count(1), [{ to: 'ed' }]);
        Assert.deepEqual(await updates[1].count(1), [{ to: 'ed' }]);
        Assert.equal(ed1.tap.received().at(-1), '{"type":"update","message":{"to":"ed"}}');

        for (const [i, client] of [[2, john], [3, app], [4, anonymous]]) {
            await H.barrier(server, client);
            Assert.equal(updates[i].length, 1, 'only the barrier');
        }
    });

    test('EachSocket for a user visits that user\'s sockets, also combined with a subscription', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/news' }], { index: true }));
        const john1 = await H.connect(t, server, { auth: A.direct('john') });
        const john2 = await H.connect(t, server, { auth: A.direct('john') });
        await H.connect(t, server, { auth: A.direct('ed') });
        await john2.subscribe('/news', () => { });

        const ids = (list) => list.map((s) => s.id).sort();
        Assert.deepEqual(ids(await server.control.sockets(undefined, { user: 'john' })), [john1.id, john2.id].sort());
        Assert.deepEqual(ids(await server.control.sockets('/news', { user: 'john' })), [john2.id]);
        Assert.deepEqual(ids(await server.control.sockets('/news', { user: 'ed' })), []);
        Assert.deepEqual(ids(await server.control.sockets(undefined, { user: 'nobody' })), []);

        await john1.disconnect();
        await server.control.events('disconnection', { count: 1 });
        Assert.deepEqual(ids(await server.control.sockets(undefined, { user: 'john' })), [john2.id]);
    });

    test('publish and broadcast to a user without the user index are errors and deliver nothing', async (t) => {

        const server = await H.server(t, withSubs([{ path: '/news' }]));
        const client = await H.connect(t, server, { auth: A.direct('john') });
        const handler = A.handler();
        await client.subscribe('/news', handler);
        const updates = A.updates(client);

        await Assert.rejects(server.control.publishToUser('john', '/news', 'x'), { status: 500, message: /user index disabled/ });
        await Assert.rejects(server.control.broadcastToUser('john', 'x'), { status: 500, message: /user index disabled/ });
        await H.barrier(server, client);
        Assert.deepEqual(handler.messages, []);
        Assert.equal(updates.length, 1, 'only the barrier');
    });
});
