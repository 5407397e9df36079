'use strict';

// client.message() and the server's OnMessage hook (PROTOCOL.md §2.3; nes
// test/socket.js _processMessage, disconnect(); test/client.js message()).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const H = require('../lib/harness');


const base = { heartbeat: false, onMessage: 'script' };


describe('custom messages', () => {

    test('onMessage receives the message and its result is the reply', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.message('hi');
        Assert.deepEqual(res, { payload: { echo: 'hi' } });
        Assert.equal(client.tap.received()[1], '{"type":"message","id":2,"message":{"echo":"hi"}}');

        const [event] = await server.control.events('message');
        Assert.equal(event.socket, client.id);
        Assert.equal(event.message, 'hi');
    });

    test('structured and non-ASCII messages arrive intact', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const message = { text: 'héllo 中文 😀 🇫🇷', list: [1, 2.5, -3e-7, null, false], nested: { deep: { deeper: ['x'] } }, quote: '"\\\n\u2028' };
        const res = await client.message(message);
        Assert.deepEqual(res.payload, { echo: message });

        const [event] = await server.control.events('message');
        Assert.deepEqual(event.message, message);
    });

    test('an *nes.Error from onMessage becomes an error reply with its status and message', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        await Assert.rejects(client.message('fail'), (err) => {

            Assert.equal(err.message, 'You asked me to fail');
            Assert.equal(err.statusCode, 400);
            Assert.equal(err.type, 'server');
            Assert.deepEqual(err.data, { error: 'Bad Request', message: 'You asked me to fail' });
            return true;
        });

        Assert.equal(client.tap.received()[1], '{"statusCode":400,"payload":{"error":"Bad Request","message":"You asked me to fail"},"type":"message","id":2}');
    });

    test('a plain error from onMessage is 500 "An internal server error occurred"', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        await Assert.rejects(client.message('crash'), (err) => {

            Assert.equal(err.message, 'An internal server error occurred');
            Assert.equal(err.statusCode, 500);
            Assert.deepEqual(err.data, { error: 'Internal Server Error', message: 'An internal server error occurred' });
            return true;
        });

        Assert.doesNotMatch(client.tap.received()[1], /crashed on purpose/, 'the error text must not leak');
    });

    test('an onMessage returning nothing replies without a message field', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.message('nothing');
        Assert.deepEqual(res, { payload: undefined });
        Assert.equal(client.tap.received()[1], '{"type":"message","id":2}');
    });

    test('without onMessage a custom message is 501 Not Implemented', async (t) => {

        const server = await H.server(t, { heartbeat: false });
        const client = await H.connect(t, server);

        await Assert.rejects(client.message('winning'), { message: 'Not Implemented', statusCode: 501, type: 'server' });
    });

    test('onMessage may disconnect the socket', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const disconnected = H.deferred();
        client.onDisconnect = (willReconnect, log) => disconnected.resolve({ willReconnect, log });
        client.message('disconnect').catch(() => {});

        const { willReconnect, log } = await H.within(disconnected.promise, H.WAIT, 'onDisconnect');
        Assert.equal(willReconnect, false);
        Assert.equal(log.wasRequested, false);
        await server.control.events('disconnection', { count: 1 });
    });

    test('a message slower than the client timeout rejects, and the late reply is absorbed', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server, { clientOptions: { timeout: 100 } });

        await Assert.rejects(client.message({ sleep: 1500 }), { message: 'Request timed out', type: 'timeout' });
        await client.tap.until((tap) => tap.received().some((f) => JSON.parse(f).id === 2), H.WAIT, 'the late reply');
        await H.sleep(20);
        Assert.deepEqual(client.errors, []);
        Assert.deepEqual((await client.message('again')).payload, { echo: 'again' });
    });

    test('messages from one socket are answered in order', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const replies = await Promise.all([client.message({ sleep: 60, n: 1 }), client.message({ n: 2 }), client.message({ sleep: 10, n: 3 })]);
        Assert.deepEqual(replies.map((r) => r.payload.echo.n), [1, 2, 3]);

        const events = await server.control.events('message', { count: 3 });
        Assert.deepEqual(events.map((e) => e.message.n), [1, 2, 3]);
    });
});
