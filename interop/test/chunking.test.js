'use strict';

// Chunked server frames (MaxChunkChars, nes payload.maxChunkChars;
// PROTOCOL.md §1.9, §2.8; nes test/socket.js _flush()/_active()).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const H = require('../lib/harness');


// Checks that frames form chunked messages of at most max UTF-16 code units
// per chunk and returns the reassembled messages.
const reassemble = (frames, max) => {

    const messages = [];
    let buffer = [];
    for (const frame of frames) {
        Assert.equal(typeof frame, 'string', 'chunks must be text frames');
        if (frame[0] === '{' && !buffer.length && frame.length <= max) {
            messages.push(frame);
            continue;
        }

        Assert.ok(frame[0] === '+' || frame[0] === '!', `chunk must start with + or !: ${JSON.stringify(frame.slice(0, 10))}`);
        Assert.ok(frame.length - 1 <= max, `chunk of ${frame.length - 1} UTF-16 code units exceeds ${max}`);
        Assert.ok(frame.length > 1, 'empty chunk');
        buffer.push(frame.slice(1));
        if (frame[0] === '!') {
            messages.push(buffer.join(''));
            buffer = [];
        }
    }

    Assert.deepEqual(buffer, [], 'dangling chunks');
    return messages;
};


const unicode = 'é ü ß 中文 日本語 😀 🎉 🇫🇷 🇯🇵 👨‍👩‍👧 \u2028 "q" \\ <&> end';


describe('chunking', () => {

    test('the hello reply is cut into "+" chunks and a final "!" chunk exactly as nes cuts it', async (t) => {

        const server = await H.server(t, { heartbeat: { interval: 1000, timeout: 500 }, maxChunkChars: 40 });
        const raw = await H.raw(t, server);

        await raw.send({ type: 'hello', version: '2', id: 1 });
        const last = await raw.until((r) => r.frames.find((f) => f[0] === '!'), H.WAIT, 'the last chunk');
        const frames = raw.frames.slice(0, raw.frames.indexOf(last) + 1);

        const whole = frames.map((f) => f.slice(1)).join('');
        const hello = JSON.parse(whole);
        Assert.deepEqual({ ...hello, socket: 'x' }, { type: 'hello', id: 1, heartbeat: { interval: 1000, timeout: 500 }, socket: 'x' });

        const expected = [];
        for (let i = 0; i < whole.length; i += 40) {
            expected.push((i + 40 >= whole.length ? '!' : '+') + whole.slice(i, i + 40));
        }

        Assert.deepEqual(frames, expected);
        Assert.equal(frames[0], '+{"type":"hello","id":1,"heartbeat":{"int');
        Assert.ok(raw.binary.every((b) => b === false), 'chunks must be text frames');
    });

    test('the official client reassembles a broadcast cut into 5-character chunks', async (t) => {

        const server = await H.server(t, { heartbeat: false, maxChunkChars: 5 });
        const client = await H.connect(t, server);

        const text = 'this is a message longer than 5 bytes';
        const got = H.deferred();
        client.onUpdate = got.resolve;
        await server.control.broadcast(text);

        Assert.equal(await H.within(got.promise, H.WAIT, 'the update'), text);
        Assert.deepEqual(client.errors, []);
        const messages = reassemble(client.tap.received(), 5);
        Assert.deepEqual(JSON.parse(messages.at(-1)), { type: 'update', message: text });
    });

    for (const max of [5, 40]) {
        test(`non-ASCII and emoji survive chunking at ${max} characters (update, pub, request, message)`, async (t) => {

            const server = await H.server(t, { heartbeat: false, maxChunkChars: max, onMessage: 'script', subscriptions: [{ path: '/items/{id}' }] });
            const client = await H.connect(t, server);

            const got = H.deferred();
            client.onUpdate = got.resolve;
            await server.control.broadcast({ text: unicode });
            Assert.deepEqual(await H.within(got.promise, H.WAIT, 'the update'), { text: unicode });

            const pub = H.deferred();
            await client.subscribe('/items/é中😀', pub.resolve);
            await server.control.publish('/items/é中😀', [unicode, unicode.length]);
            Assert.deepEqual(await H.within(pub.promise, H.WAIT, 'the publication'), [unicode, unicode.length]);

            const res = await client.request(`/big?n=7&s=${encodeURIComponent('😀🇫🇷é中')}`);
            Assert.equal(res.payload, '😀🇫🇷é中'.repeat(7));

            const echo = await client.message(unicode);
            Assert.deepEqual(echo.payload, { echo: unicode });

            Assert.deepEqual(client.errors, []);
            reassemble(client.tap.received(), max);
        });
    }

    test('a large request reply is reassembled exactly', async (t) => {

        const server = await H.server(t, { heartbeat: false, maxChunkChars: 40 });
        const client = await H.connect(t, server);

        const res = await client.request('/big?n=20000&s=ab');
        Assert.equal(res.payload, 'ab'.repeat(20000));
        Assert.deepEqual(client.errors, []);
        const messages = reassemble(client.tap.received(), 40);
        Assert.equal(messages.length, 2);
    });

    test('a frame within the limit is sent whole', async (t) => {

        const server = await H.server(t, { heartbeat: false, maxChunkChars: 200 });
        const client = await H.connect(t, server);

        await client.request('/hello');
        const frames = client.tap.received();
        Assert.equal(frames.length, 2);
        Assert.ok(frames.every((f) => f[0] === '{'));
    });

    test('chunked messages published back to back are never interleaved', async (t) => {

        const server = await H.server(t, { heartbeat: false, maxChunkChars: 7, subscriptions: [{ path: '/{id}' }] });
        const client = await H.connect(t, server);

        const got = [];
        await client.subscribe('/5', (message) => got.push(message));
        const sent = [];
        for (let i = 0; i < 20; ++i) {
            sent.push(`message number ${i} 😀 ${'x'.repeat(i)}`);
        }

        await Promise.all(sent.map((m) => server.control.publish('/5', m)));
        await H.waitUntil(() => got.length === 20, H.WAIT, '20 publications');
        Assert.deepEqual(got.slice().sort(), sent.slice().sort());
        Assert.deepEqual(client.errors, []);
        reassemble(client.tap.received(), 7);
    });
});
