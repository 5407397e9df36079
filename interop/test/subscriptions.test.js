'use strict';

// Subscriptions with the official client: subscribe/unsubscribe, publish,
// filters, hooks, revoke (PROTOCOL.md §1.10, §2.4; nes test/listener.js
// subscription()/publish()/_subscribe(), test/socket.js publish()/_onMessage(),
// test/client.js subscribe()/unsubscribe()).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const H = require('../lib/harness');
const F = require('../lib/frames');


const config = (subscriptions, extra = {}) => ({ heartbeat: false, subscriptions, ...extra });


// Collects (message, flags) pairs delivered to a handler.
const collector = () => {

    const calls = [];
    const waiters = [];
    const handler = (message, flags) => {

        calls.push({ message, flags });
        waiters.splice(0).forEach((fn) => fn());
    };

    handler.calls = calls;
    handler.count = (n, ms = H.WAIT) => H.within(new Promise((resolve) => {

        const check = () => (calls.length >= n ? resolve(calls) : waiters.push(check));
        check();
    }), ms, `${n} handler call(s)`);

    return handler;
};


describe('subscribe and publish', () => {

    test('a publication reaches the subscribed handler with empty flags', async (t) => {

        const server = await H.server(t, config([{ path: '/' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/', handler);
        Assert.deepEqual(client.subscriptions(), ['/']);

        await server.control.publish('/', 'heya');
        Assert.deepEqual(await handler.count(1), [{ message: 'heya', flags: {} }]);
        Assert.equal(client.tap.sent()[1], '{"type":"sub","path":"/","id":2}');
        Assert.equal(client.tap.received()[1], F.sub(2, '/'));
        Assert.equal(client.tap.received()[2], '{"type":"pub","path":"/","message":"heya"}');
    });

    test('a parameterised subscription delivers only the exact concrete path', async (t) => {

        const server = await H.server(t, config([{ path: '/items/{id}' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/items/5', handler);
        await server.control.publish('/items/6', 'not for me');
        await server.control.publish('/items/5', { a: 'b' });

        Assert.deepEqual(await handler.count(1), [{ message: { a: 'b' }, flags: {} }]);
        await H.barrier(server, client);
        Assert.equal(handler.calls.length, 1);
        Assert.ok(!client.tap.received().some((f) => f.includes('/items/6')), 'no frame for /items/6');
    });

    test('onSubscribe and onUnsubscribe get the concrete path and its params', async (t) => {

        const server = await H.server(t, config([{ path: '/a/{id}/b/{name}' }]));
        const client = await H.connect(t, server);

        await client.subscribe('/a/5/b/x', () => {});
        await client.unsubscribe('/a/5/b/x');

        const [sub] = await server.control.events('subscribe', { count: 1 });
        Assert.equal(sub.socket, client.id);
        Assert.equal(sub.path, '/a/5/b/x');
        Assert.deepEqual(sub.params, { id: '5', name: 'x' });

        const [unsub] = await server.control.events('unsubscribe', { count: 1 });
        Assert.equal(unsub.path, '/a/5/b/x');
        Assert.deepEqual(unsub.params, { id: '5', name: 'x' });
    });

    test('onSubscribe may publish to the subscribing socket before the sub reply', async (t) => {

        const server = await H.server(t, config([{ path: '/{id}', onSubscribe: 'publish-initial' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/1', handler);
        Assert.deepEqual((await handler.count(2)).map((c) => c.message), ['Initial state', 'Updated state']);

        const [event] = await server.control.events('subscribe');
        Assert.deepEqual(event.params, { id: '1' });
    });

    test('subscribing to an undeclared path is 404 "Subscription not found" and is dropped locally', async (t) => {

        const server = await H.server(t, config([{ path: '/news' }]));
        const client = await H.connect(t, server);

        await Assert.rejects(client.subscribe('/nothing', () => {}), { message: 'Subscription not found', statusCode: 404, type: 'server' });
        Assert.deepEqual(client.subscriptions(), []);
    });

    test('a subscription path with a query is refused', async (t) => {

        const server = await H.server(t, config([{ path: '/' }]));
        const client = await H.connect(t, server);

        await Assert.rejects(client.subscribe('/?5', () => {}), { message: 'Subscription path cannot contain query', statusCode: 400 });
        Assert.deepEqual(client.subscriptions(), []);
    });

    test('onSubscribe refusing with *nes.Error sends its status and message', async (t) => {

        const server = await H.server(t, config([{ path: '/', onSubscribe: 'refuse', refuse: { status: 403, message: 'nah' } }]));
        const client = await H.connect(t, server);

        await Assert.rejects(client.subscribe('/', () => {}), (err) => {

            Assert.equal(err.message, 'nah');
            Assert.equal(err.statusCode, 403);
            Assert.deepEqual(err.data, { error: 'Forbidden', message: 'nah' });
            return true;
        });

        Assert.deepEqual(client.subscriptions(), []);
        Assert.deepEqual(await server.control.sockets('/'), []);
        Assert.equal(client.tap.received()[1], '{"statusCode":403,"payload":{"error":"Forbidden","message":"nah"},"type":"sub","id":2}');
    });

    test('onSubscribe failing with a plain error is 500', async (t) => {

        const server = await H.server(t, config([{ path: '/', onSubscribe: 'error' }]));
        const client = await H.connect(t, server);

        await Assert.rejects(client.subscribe('/', () => {}), { message: 'An internal server error occurred', statusCode: 500 });
        await server.control.publish('/', 'not delivered');
        await H.barrier(server, client);
        Assert.ok(!client.tap.received().some((f) => f.includes('not delivered')));
    });

    test('publishing to an undeclared path is a silent no-op', async (t) => {

        const server = await H.server(t, config([{ path: '/news' }]));
        const client = await H.connect(t, server);
        await client.subscribe('/news', () => {});

        const res = await server.control.publish('/undeclared', 'ignored');
        Assert.deepEqual(res, { ok: true });
        await H.barrier(server, client);
        Assert.ok(!client.tap.received().some((f) => f.includes('ignored')));
    });

    test('several clients on one path all receive, and a departed one does not break delivery', async (t) => {

        const server = await H.server(t, config([{ path: '/' }]));
        const client1 = await H.connect(t, server);
        const client2 = await H.connect(t, server);
        const client3 = await H.connect(t, server);

        const h1 = collector();
        const h3 = collector();
        await client1.subscribe('/', h1);
        await client2.subscribe('/', () => {});
        await client3.subscribe('/', h3);
        await client2.disconnect();
        await server.control.events('disconnection', { count: 1 });

        await server.control.publish('/', 'heya');
        Assert.equal((await h1.count(1))[0].message, 'heya');
        Assert.equal((await h3.count(1))[0].message, 'heya');
        Assert.equal((await server.control.sockets('/')).length, 2);
    });

    test('two handlers on one path share one server subscription', async (t) => {

        const server = await H.server(t, config([{ path: '/news' }]));
        const client = await H.connect(t, server);

        const a = collector();
        const b = collector();
        await client.subscribe('/news', a);
        await client.subscribe('/news', b);
        Assert.equal(client.tap.sent().filter((f) => JSON.parse(f).type === 'sub').length, 1);

        await server.control.publish('/news', 'x');
        await a.count(1);
        await b.count(1);

        await client.unsubscribe('/news', a);
        await server.control.publish('/news', 'y');
        Assert.deepEqual((await b.count(2)).map((c) => c.message), ['x', 'y']);
        Assert.equal(a.calls.length, 1);
    });

    test('subscribe, unsubscribe, then subscribe again to a path', async (t) => {

        const server = await H.server(t, config([{ path: '/' }]));
        const client = await H.connect(t, server);

        const first = collector();
        await client.subscribe('/', first);
        await server.control.publish('/', 'abc');
        await first.count(1);

        await client.unsubscribe('/');
        Assert.deepEqual(client.subscriptions(), []);

        const second = collector();
        await client.subscribe('/', second);
        await server.control.publish('/', 'def');
        Assert.equal((await second.count(1))[0].message, 'def');
        Assert.equal(first.calls.length, 1);
        Assert.equal((await server.control.events('subscribe')).length, 2);
    });

    test('a message published after unsubscribe is not delivered', async (t) => {

        const server = await H.server(t, config([{ path: '/{id}' }]));
        const client = await H.connect(t, server);

        await client.subscribe('/5', () => {});
        const h6 = collector();
        await client.subscribe('/6', h6);
        await server.control.publish('/6', 'b');
        await h6.count(1);

        await client.unsubscribe('/5');
        await client.unsubscribe('/6');
        Assert.deepEqual(await server.control.sockets('/5'), []);
        Assert.deepEqual(await server.control.sockets('/6'), []);

        await server.control.publish('/6', 'late');
        await H.barrier(server, client);
        Assert.ok(!client.tap.received().some((f) => f.includes('late')));
        Assert.equal((await server.control.events('unsubscribe')).length, 2);
    });
});


describe('subscribing before connecting', () => {

    test('queued subscriptions are sent in hello.subs and receive publications', async (t) => {

        const server = await H.server(t, config([{ path: '/' }, { path: '/news' }]));
        const client = H.client(t, server);

        const handler = collector();
        await client.subscribe('/news', handler);
        await client.subscribe('/', () => {});
        await client.connect({ reconnect: false });

        Assert.equal(client.tap.sent()[0], '{"type":"hello","version":"2","subs":["/news","/"],"id":1}');
        Assert.deepEqual((await server.control.sockets('/news')).map((s) => s.id), [client.id]);

        await server.control.publish('/news', 'heya');
        Assert.equal((await handler.count(1))[0].message, 'heya');
    });

    test('an undeclared path in hello.subs fails connect with the path and drops it locally', async (t) => {

        const server = await H.server(t, config([{ path: '/news' }]));
        const client = H.client(t, server);

        await client.subscribe('/news', () => {});
        await client.subscribe('/b', () => {});
        await Assert.rejects(client.connect(), (err) => {

            Assert.equal(err.message, 'Subscription not found');
            Assert.equal(err.type, 'server');
            Assert.equal(err.statusCode, 404);
            Assert.equal(err.path, '/b');
            return true;
        });

        Assert.deepEqual(client.subscriptions(), ['/news']);
    });
});


describe('filters', () => {

    test('a filter returning false skips the socket', async (t) => {

        const server = await H.server(t, config([{ path: '/updates', filter: 'a-equals-1' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/updates', handler);
        await server.control.publish('/updates', { a: 2 });
        await server.control.publish('/updates', { a: 1 });

        Assert.deepEqual((await handler.count(1))[0].message, { a: 1 });
        await H.barrier(server, client);
        Assert.equal(handler.calls.length, 1);

        const filters = await server.control.events('filter', { count: 2 });
        Assert.deepEqual(filters.map((e) => [e.path, e.message, e.result, e.socket]), [
            ['/updates', { a: 2 }, 'skip', client.id],
            ['/updates', { a: 1 }, 'deliver', client.id]
        ]);
    });

    test('a filter override replaces the message for that socket', async (t) => {

        const server = await H.server(t, config([{ path: '/updates', filter: 'override' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/updates', handler);
        await server.control.publish('/updates', { a: 2 });
        await server.control.publish('/updates', { a: 1 });

        Assert.deepEqual((await handler.count(1))[0].message, { a: 5 });
        await H.barrier(server, client);
        Assert.equal(handler.calls.length, 1);
    });

    test('a filter override does not leak to other sockets', async (t) => {

        const server = await H.server(t, config([{ path: '/items/{id}', filter: 'override-marked' }]));
        const jane = await H.connect(t, server);
        const john = await H.connect(t, server);
        const ann = await H.connect(t, server);
        await server.control.mark(jane.id);

        const hJane = collector();
        const hJohn = collector();
        const hAnn = collector();
        await jane.subscribe('/items/5', hJane);
        await john.subscribe('/items/5', hJohn);
        await ann.subscribe('/items/5', hAnn);

        await server.control.publish('/items/5', { message: 'hello, world' });
        Assert.deepEqual((await hJane.count(1))[0].message, { overridden: true, path: '/items/5' });
        Assert.deepEqual((await hJohn.count(1))[0].message, { message: 'hello, world' });
        Assert.deepEqual((await hAnn.count(1))[0].message, { message: 'hello, world' });
        Assert.equal(jane.tap.received()[2], '{"type":"pub","path":"/items/5","message":{"overridden":true,"path":"/items/5"}}');
        Assert.equal(john.tap.received()[2], '{"type":"pub","path":"/items/5","message":{"message":"hello, world"}}');
    });

    test('internal publish data reaches the filter and never the client', async (t) => {

        const server = await H.server(t, config([{ path: '/updates', filter: 'internal-b-equals-1' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/updates', handler);
        await server.control.publish('/updates', { a: 2 }, { b: 2 });
        await server.control.publish('/updates', { a: 1 }, { b: 1 });

        Assert.deepEqual((await handler.count(1))[0].message, { a: 1 });
        const filters = await server.control.events('filter', { count: 2 });
        Assert.deepEqual(filters.map((e) => e.internal), [{ b: 2 }, { b: 1 }]);
        Assert.ok(!client.tap.received().some((f) => f.includes('"b"')), 'internal data must not be sent');
    });

    test('a filter error skips the socket and the server keeps delivering', async (t) => {

        const server = await H.server(t, config([{ path: '/broken', filter: 'error' }, { path: '/fine' }]));
        const client = await H.connect(t, server);

        const broken = collector();
        const fine = collector();
        await client.subscribe('/broken', broken);
        await client.subscribe('/fine', fine);

        await server.control.publish('/broken', 'x').catch(() => {});
        await server.control.publish('/fine', 'y');
        Assert.equal((await fine.count(1))[0].message, 'y');
        Assert.equal(broken.calls.length, 0);
        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });
    });

    test('a filter may publish to the socket directly', async (t) => {

        const server = await H.server(t, config([{ path: '/updates', filter: 'socket-publish' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/updates', handler);
        await server.control.publish('/updates', { a: 2 });
        await server.control.publish('/updates', { a: 1 });

        Assert.deepEqual((await handler.count(1))[0].message, { a: 5 });
        await H.barrier(server, client);
        Assert.equal(handler.calls.length, 1);
    });
});


describe('revoke and unsubscribe hooks', () => {

    test('revoke with a message calls the handler with {revoked: true} and drops the subscription', async (t) => {

        const server = await H.server(t, config([{ path: '/items/{id}' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/items/7', handler);
        Assert.deepEqual(client.subscriptions(), ['/items/7']);

        await server.control.revoke(client.id, '/items/7', { reason: 'bye' });
        Assert.deepEqual(await handler.count(1), [{ message: { reason: 'bye' }, flags: { revoked: true } }]);
        Assert.deepEqual(client.subscriptions(), []);
        Assert.equal(client.tap.received()[2], '{"type":"revoke","path":"/items/7","message":{"reason":"bye"}}');

        const [unsub] = await server.control.events('unsubscribe', { count: 1 });
        Assert.equal(unsub.path, '/items/7');
        Assert.deepEqual(unsub.params, { id: '7' });
        Assert.deepEqual(await server.control.sockets('/items/7'), []);
    });

    test('revoke without a message drops the subscription without calling the handler', async (t) => {

        const server = await H.server(t, config([{ path: '/items/{id}' }]));
        const client = await H.connect(t, server);

        const handler = collector();
        await client.subscribe('/items/7', handler);
        await server.control.revoke(client.id, '/items/7');

        await client.tap.until((tap) => tap.received().length >= 3, H.WAIT, 'the revoke frame');
        Assert.equal(client.tap.received()[2], '{"type":"revoke","path":"/items/7"}');
        Assert.deepEqual(client.subscriptions(), []);

        await server.control.publish('/items/7', 'after revoke');
        await H.barrier(server, client);
        Assert.equal(handler.calls.length, 0);
        Assert.ok(!client.tap.received().some((f) => f.includes('after revoke')));
        Assert.equal((await server.control.events('unsubscribe', { count: 1 })).length, 1);
    });

    test('onUnsubscribe runs for every subscription when the client disconnects', async (t) => {

        const server = await H.server(t, config([{ path: '/' }, { path: '/{params}' }]));
        const client = await H.connect(t, server);

        await client.subscribe('/', () => {});
        await client.subscribe('/foo', () => {});
        const id = client.id;
        await client.disconnect();

        const events = await server.control.events('unsubscribe', { count: 2 });
        Assert.deepEqual(events.map((e) => [e.socket, e.path, e.params]).sort(), [
            [id, '/', {}],
            [id, '/foo', { params: 'foo' }]
        ]);

        const [disconnection] = await server.control.events('disconnection', { count: 1 });
        Assert.equal(disconnection.socket, id);
        Assert.ok(disconnection.seq > Math.max(...events.map((e) => e.seq)), 'onDisconnection runs after the unsubscriptions');
    });

    test('a second unsub of the same path is answered and changes nothing', async (t) => {

        const server = await H.server(t, config([{ path: '/{id}' }]));
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'sub', path: '/6', id: 2 }), F.sub(2, '/6'));
        Assert.equal(await raw.request({ type: 'unsub', path: '/6', id: 3 }), F.unsub(3));
        Assert.equal(await raw.request({ type: 'unsub', path: '/6', id: 4 }), F.unsub(4));
        Assert.equal((await server.control.events('unsubscribe')).length, 1);
        Assert.deepEqual(await server.control.sockets('/6'), []);
    });
});
