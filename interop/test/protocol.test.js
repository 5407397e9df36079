'use strict';

// Raw-frame protocol tests: hand-made frames on a plain `ws` socket, replies
// compared byte for byte with the frames nes sends (PROTOCOL.md §1.4, §2.7).
// Ports the raw-frame tests of nes's test/socket.js, plus the inputs that
// crash nes and must not crash us.

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const H = require('../lib/harness');
const F = require('../lib/frames');


const base = {
    heartbeat: false,
    subscriptions: [{ path: '/items/{id}' }, { path: '/news' }]
};


// The socket still answers, and a fresh connection still works.
const assertServing = async (t, server, raw) => {

    if (raw) {
        const reply = await raw.request({ type: 'request', id: 'check', method: 'GET', path: '/hello' });
        Assert.equal(reply, F.response('check', 200, { greeting: 'hi' }));
    }

    const fresh = await H.raw(t, server);
    await fresh.hello();
    const reply = await fresh.request({ type: 'request', id: 'fresh', method: 'GET', path: '/hello' });
    Assert.equal(reply, F.response('fresh', 200, { greeting: 'hi' }));
};


describe('raw frames before hello', () => {

    test('a frame that is not JSON gets "Cannot parse message" without type or id, and the socket stays usable', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        for (const frame of ['not json', '{', '{"type":"hello",', '']) {
            const from = raw.frames.length;
            await raw.send(frame);
            Assert.equal(await raw.frame(from), F.cannotParse(), `reply to ${JSON.stringify(frame)}`);
        }

        const hello = await raw.hello();
        Assert.equal(hello.type, 'hello');
        await assertServing(t, server, raw);
    });

    test('JSON that is not an object gets "Cannot parse message"', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        for (const frame of ['42', '"hello"', '[]', '[{"type":"hello","id":1,"version":"2"}]', 'null', 'true']) {
            const from = raw.frames.length;
            await raw.send(frame);
            Assert.equal(await raw.frame(from), F.cannotParse(), `reply to ${frame}`);
        }

        await raw.hello();
        await assertServing(t, server, raw);
    });

    test('a message without type gets "Cannot parse message" echoing its id', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        await raw.send('{"id":1}');
        Assert.equal(await raw.frame(0), '{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot parse message"},"id":1}');
    });

    test('id 0 is "Message missing id", echoing type and id', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        await raw.send('{"type":"hello","id":0,"version":"2"}');
        Assert.equal(await raw.frame(0), '{"statusCode":400,"payload":{"error":"Bad Request","message":"Message missing id"},"type":"hello","id":0}');

        // The rejected hello did not initialise the socket
        const hello = await raw.hello();
        Assert.equal(hello.type, 'hello');
    });

    test('a missing or falsy id is "Message missing id"', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        await raw.send({ type: 'request', method: 'GET', path: '/' });
        Assert.equal(await raw.frame(0), F.badRequest('Message missing id', { type: 'request' }));

        await raw.send({ type: 'request', id: '', method: 'GET', path: '/' });
        Assert.equal(await raw.frame(1), F.badRequest('Message missing id', { type: 'request', id: '' }));

        await raw.send({ type: 'request', id: false, method: 'GET', path: '/' });
        Assert.equal(await raw.frame(2), F.badRequest('Message missing id', { type: 'request', id: false }));
    });

    test('request, sub, unsub and message before hello are "Connection is not initialized"', async (t) => {

        const server = await H.server(t, { ...base, onMessage: 'script' });
        const raw = await H.raw(t, server);

        Assert.equal(await raw.request({ id: 1, type: 'request', path: '/' }),
            '{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection is not initialized"},"type":"request","id":1}');
        Assert.equal(await raw.request({ type: 'sub', id: 2, path: '/news' }), F.badRequest('Connection is not initialized', { type: 'sub', id: 2 }));
        Assert.equal(await raw.request({ type: 'unsub', id: 3, path: '/news' }), F.badRequest('Connection is not initialized', { type: 'unsub', id: 3 }));
        Assert.equal(await raw.request({ type: 'message', id: 4, message: 'hi' }), F.badRequest('Connection is not initialized', { type: 'message', id: 4 }));
        Assert.equal(await raw.request({ type: 'bogus', id: 5 }), F.badRequest('Connection is not initialized', { type: 'bogus', id: 5 }));
        Assert.deepEqual(await server.control.events('message'), [], 'onMessage must not run before hello');
    });

    test('a ping before hello is accepted without a reply', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        // Messages on one socket are handled in order: the first frame
        // back must be the hello reply, not an answer to the ping.
        await raw.send('{"type":"ping","id":2}');
        const hello = await raw.hello();
        Assert.equal(hello.type, 'hello');
        Assert.equal(raw.frames.length, 1);
    });

    test('a wrong protocol version is refused, then a correct hello on the same socket succeeds', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        Assert.equal(await raw.request({ type: 'hello', version: '1', id: 'abc' }),
            '{"statusCode":400,"payload":{"error":"Bad Request","message":"Incorrect protocol version (expected 2 but received 1)"},"type":"hello","id":"abc"}');

        const reply = await raw.request({ type: 'hello', version: '2', id: 'abd' });
        Assert.match(reply, F.helloPattern('abd', false));
    });

    test('a missing protocol version is refused', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        Assert.equal(await raw.request({ id: 1, type: 'hello' }),
            F.badRequest('Incorrect protocol version (expected 2 but received none)', { type: 'hello', id: 1 }));
    });

    test('a message sent in a binary frame is accepted and answered in a text frame', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        await raw.send(Buffer.from(JSON.stringify({ type: 'hello', version: '2', id: 1 })));
        const reply = await raw.frame(0);
        Assert.equal(raw.binary[0], false);
        Assert.match(reply, F.helloPattern(1, false));
    });
});


describe('raw frames after hello', () => {

    test('the hello reply is exactly {type, id, heartbeat, socket}', async (t) => {

        const server = await H.server(t, { ...base, heartbeat: { interval: 1000, timeout: 500 } });
        const raw = await H.raw(t, server);

        const reply = await raw.request({ type: 'hello', version: '2', id: 1 });
        Assert.match(reply, F.helloPattern(1, { interval: 1000, timeout: 500 }));
        Assert.equal(raw.binary[0], false, 'server frames must be text');
    });

    test('a second hello is "Connection already initialized"', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'hello', version: '2', id: 2 }), F.badRequest('Connection already initialized', { type: 'hello', id: 2 }));
        await assertServing(t, server, raw);
    });

    test('an unknown type is "Unknown message type", echoing type and id', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'bogus', id: 3 }), '{"statusCode":400,"payload":{"error":"Bad Request","message":"Unknown message type"},"type":"bogus","id":3}');
        Assert.equal(await raw.request({ id: 2, type: 'unknown' }), F.badRequest('Unknown message type', { type: 'unknown', id: 2 }));
        await assertServing(t, server, raw);
    });

    test('a request without method or path is refused', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ id: 2, type: 'request', path: '/' }), '{"statusCode":400,"payload":{"error":"Bad Request","message":"Message missing method"},"type":"request","id":2}');
        Assert.equal(await raw.request({ id: 3, type: 'request', method: 'GET' }), F.badRequest('Message missing path', { type: 'request', id: 3 }));
        Assert.equal(await raw.request({ id: 4, type: 'request', method: '', path: '/hello' }), F.badRequest('Message missing method', { type: 'request', id: 4 }));
        Assert.equal(await raw.request({ id: 5, type: 'request', method: 'GET', path: '' }), F.badRequest('Message missing path', { type: 'request', id: 5 }));
    });

    test('an Authorization header in a request is refused, in any case', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'request', id: 10, method: 'GET', path: '/hello', headers: { authorization: 'Custom john' } }),
            '{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot include an Authorization header"},"type":"request","id":10}');
        Assert.equal(await raw.request({ type: 'request', id: 11, method: 'GET', path: '/hello', headers: { AuThOrIzAtIoN: 'x' } }),
            F.badRequest('Cannot include an Authorization header', { type: 'request', id: 11 }));
    });

    test('string and fractional ids are echoed verbatim', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        Assert.match(await raw.request({ type: 'hello', version: '2', id: 'str-id' }), F.helloPattern('str-id', false));
        Assert.equal(await raw.request({ type: 'request', id: 15.5, method: 'GET', path: '/hello' }), F.response(15.5, 200, { greeting: 'hi' }));
        Assert.equal(await raw.request({ type: 'request', id: 'x"y\\z é', method: 'GET', path: '/hello' }), F.response('x"y\\z é', 200, { greeting: 'hi' }));
        Assert.equal(await raw.request({ type: 'request', id: 12345678901, method: 'GET', path: '/hello' }), F.response(12345678901, 200, { greeting: 'hi' }));
    });

    test('a ping from the client after hello gets no reply', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        await raw.send({ type: 'ping', id: 2 });
        await assertServing(t, server, raw);
        Assert.equal(raw.frames.length, 2, 'only the hello and request replies');
    });

    test('a custom message without onMessage is 501 Not Implemented', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'message', message: 'hi', id: 13 }),
            '{"statusCode":501,"payload":{"error":"Not Implemented","message":"Not Implemented"},"type":"message","id":13}');
    });
});


describe('raw subscription frames', () => {

    test('sub, pub, unsub and unsub of an unknown path are exactly as nes sends them', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'sub', path: '/items/5', id: 13 }), '{"type":"sub","id":13,"path":"/items/5"}');

        const from = raw.frames.length;
        await server.control.publish('/items/5', { a: 'b' });
        Assert.equal(await raw.frame(from), '{"type":"pub","path":"/items/5","message":{"a":"b"}}');

        Assert.equal(await raw.request({ type: 'unsub', path: '/items/5', id: 16 }), '{"type":"unsub","id":16}');
        Assert.equal(await raw.request({ type: 'unsub', id: 11, path: '/never-subscribed' }), '{"type":"unsub","id":11}');
    });

    test('sub to an undeclared path is 404 "Subscription not found"', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'sub', path: '/nothing', id: 14 }),
            '{"statusCode":404,"payload":{"error":"Not Found","message":"Subscription not found"},"type":"sub","id":14}');
    });

    test('sub with a query is refused', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'sub', path: '/news?x=1', id: 9 }),
            '{"statusCode":400,"payload":{"error":"Bad Request","message":"Subscription path cannot contain query"},"type":"sub","id":9}');
        Assert.deepEqual(await server.control.sockets('/news'), []);
    });

    test('a second sub to the same path succeeds without running onSubscribe again, and publications arrive once', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        Assert.equal(await raw.request({ type: 'sub', path: '/items/5', id: 2 }), F.sub(2, '/items/5'));
        Assert.equal(await raw.request({ type: 'sub', path: '/items/5', id: 3 }), F.sub(3, '/items/5'));
        Assert.equal((await server.control.events('subscribe')).length, 1);

        const from = raw.frames.length;
        await server.control.publish('/items/5', 'once');
        Assert.equal(await raw.frame(from), F.pub('/items/5', 'once'));
        await H.barrier(server, raw, raw.id);
        Assert.equal(raw.frames.length, from + 2, 'the publication and the barrier only');
    });

    test('a sub without path gets a 400 reply and the server keeps serving (nes crashes here)', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        const reply = JSON.parse(await raw.request({ type: 'sub', id: 7 }));
        Assert.equal(reply.statusCode, 400);
        Assert.equal(reply.type, 'sub');
        Assert.equal(reply.id, 7);
        Assert.equal(reply.payload.error, 'Bad Request');
        Assert.equal(typeof reply.payload.message, 'string');

        await assertServing(t, server, raw);
        Assert.ok(server.alive(), 'the fixture process must still run');
    });

    test('non-string entries in hello.subs fail the hello with 400 and the server keeps serving (nes crashes here)', async (t) => {

        const server = await H.server(t, base);

        for (const subs of [[5], ['/news', null], [{ path: '/news' }], 'not-an-array']) {
            const raw = await H.raw(t, server);
            const reply = JSON.parse(await raw.request({ type: 'hello', version: '2', id: 1, subs }));
            Assert.equal(reply.statusCode, 400, `hello.subs = ${JSON.stringify(subs)}`);
            Assert.equal(reply.type, 'hello');
            Assert.equal(reply.id, 1);
            Assert.equal(reply.payload.error, 'Bad Request');
        }

        await assertServing(t, server);
    });

    test('a hello.subs entry that is not declared fails the hello with its path', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        Assert.equal(await raw.request({ type: 'hello', version: '2', id: 1, subs: ['/news', '/nothing'] }),
            '{"statusCode":404,"payload":{"error":"Not Found","message":"Subscription not found"},"type":"hello","id":1,"path":"/nothing"}');
    });
});


describe('hostile input', () => {

    test('fields of the wrong JSON type get 400 replies and the socket keeps working', async (t) => {

        const server = await H.server(t, { ...base, onMessage: 'script' });
        const raw = await H.raw(t, server);
        await raw.hello();

        const frames = [
            { type: 5, id: 2 },
            { type: 'request', id: 3, method: 5, path: '/hello' },
            { type: 'request', id: 4, method: 'GET', path: ['/hello'] },
            { type: 'request', id: 5, method: 'GET', path: '/hello', headers: 'x' },
            { type: 'request', id: 6, method: 'GET', path: '/hello', headers: { a: 5 } },
            { type: 'sub', id: 7, path: {} },
            { type: 'unsub', id: 8, path: 9 },
            { type: ['hello'], id: 9 },
            { type: 'request', id: { a: 1 }, method: 'GET', path: '/hello' }
        ];

        for (const frame of frames) {
            const from = raw.frames.length;
            await raw.send(frame);
            const reply = JSON.parse(await raw.frame(from));
            Assert.equal(reply.statusCode, 400, `reply to ${JSON.stringify(frame)}: ${JSON.stringify(reply)}`);
            Assert.equal(reply.payload.error, 'Bad Request');
            if ('id' in reply) {
                Assert.deepEqual(reply.id, frame.id);
            }
        }

        await assertServing(t, server, raw);
    });

    test('a numeric hello version is refused', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);

        const reply = JSON.parse(await raw.request({ type: 'hello', version: 2, id: 1 }));
        Assert.equal(reply.statusCode, 400);
        Assert.equal(reply.payload.error, 'Bad Request');
        Assert.equal(await raw.request({ type: 'request', id: 2, method: 'GET', path: '/hello' }), F.badRequest('Connection is not initialized', { type: 'request', id: 2 }));
    });

    test('deeply nested payloads are answered without harming the server', async (t) => {

        const server = await H.server(t, base);
        const raw = await H.raw(t, server);
        await raw.hello();

        for (const depth of [1000, 100_000]) {
            const nested = '['.repeat(depth) + ']'.repeat(depth);
            const from = raw.frames.length;
            await raw.send(`{"type":"request","id":${depth},"method":"POST","path":"/echo/1","payload":${nested}}`);
            const reply = JSON.parse(await raw.frame(from));
            if (reply.statusCode === 200) {
                Assert.equal(reply.id, depth);
                Assert.equal(reply.payload.rawBody, nested);
            }
            else {
                Assert.equal(reply.statusCode, 400, `depth ${depth}: ${JSON.stringify(reply).slice(0, 200)}`);
            }
        }

        const unclosed = '{"a":'.repeat(50_000);
        const from = raw.frames.length;
        await raw.send(unclosed);
        Assert.equal(await raw.frame(from), F.cannotParse());

        await assertServing(t, server, raw);
    });

    test('a frame over the size limit closes that socket with 1009 while other clients keep working', async (t) => {

        const server = await H.server(t, { ...base, maxMessageBytes: 4096 });

        const client = await H.connect(t, server);
        const small = await H.raw(t, server);
        await small.hello();

        const big = await H.raw(t, server);
        await big.hello();
        await big.send(JSON.stringify({ type: 'request', id: 2, method: 'POST', path: '/echo/1', payload: 'x'.repeat(8192) })).catch(() => {});
        const closed = await big.closed();
        Assert.equal(closed.code, 1009);

        // Frames just under the limit still work
        const payload = 'y'.repeat(3000);
        const reply = JSON.parse(await small.request({ type: 'request', id: 3, method: 'POST', path: '/echo/1', payload }));
        Assert.equal(reply.statusCode, 200);
        Assert.equal(reply.payload.rawBody, payload);

        const res = await client.request('/hello');
        Assert.deepEqual(res.payload, { greeting: 'hi' });
        await assertServing(t, server);
    });
});
