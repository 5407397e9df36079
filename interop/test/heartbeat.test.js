'use strict';

// Heartbeat and hello timeout (PROTOCOL.md §1.6, §2.5; nes test/listener.js
// _beat(), test/client.js _beat(), test/auth.js hello timeout).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const H = require('../lib/harness');
const F = require('../lib/frames');


// Short settings for the tests where the server must disconnect, longer ones
// where the client must survive (a loaded machine can stall a process for a
// few hundred milliseconds).
const interval = 200;
const timeout = 100;
const heartbeat = { interval, timeout };
const relaxed = { interval: 500, timeout: 450 };

// Upper bounds are generous for the same reason: they prove that something
// happens, not how fast.
const slack = H.WAIT;


describe('server heartbeat', () => {

    test('the client gets pings, answers each one, and stays connected across several intervals', async (t) => {

        const server = await H.server(t, { heartbeat: relaxed });
        const client = H.client(t, server);
        const disconnects = [];
        const heartbeatTimeouts = [];
        client.onDisconnect = (willReconnect, log) => disconnects.push(log);
        client.onHeartbeatTimeout = (willReconnect) => heartbeatTimeouts.push(willReconnect);
        await client.connect({ reconnect: false });

        Assert.match(client.tap.received()[0], F.helloPattern(1, relaxed));

        await client.tap.until((tap) => tap.received().filter((f) => f === F.ping).length >= 3, relaxed.interval * 3 + slack, '3 pings');
        const pings = client.tap.received().filter((f) => f === F.ping);

        const answers = client.tap.sent().slice(1).map((f) => JSON.parse(f));
        Assert.ok(answers.length >= pings.length - 1);
        for (const answer of answers) {
            Assert.deepEqual(Object.keys(answer), ['type', 'id']);
            Assert.equal(answer.type, 'ping');
        }

        // Ping answers are never replied to
        const answerIds = new Set(answers.map((a) => a.id));
        Assert.ok(!client.tap.received().slice(1).some((f) => answerIds.has(JSON.parse(f).id)));

        Assert.deepEqual(disconnects, []);
        Assert.deepEqual(heartbeatTimeouts, []);
        Assert.deepEqual(client.errors, []);
        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });
    });

    test('heartbeat false is announced as false and no pings are sent', async (t) => {

        const server = await H.server(t, { heartbeat: false });
        const raw = await H.raw(t, server);

        const reply = await raw.request({ type: 'hello', version: '2', id: 1 });
        Assert.match(reply, F.helloPattern(1, false));
        await H.sleep(600);
        Assert.deepEqual(raw.frames, [reply]);
        Assert.equal(raw.closeInfo, null);
    });

    test('the default heartbeat is announced as 15000/5000 ms', async (t) => {

        const server = await H.server(t, {});
        const client = await H.connect(t, server);

        Assert.match(client.tap.received()[0], F.helloPattern(1, { interval: 15000, timeout: 5000 }));
    });

    test('a socket that stops answering pings is disconnected after about interval + timeout', async (t) => {

        const server = await H.server(t, { heartbeat });
        const raw = await H.raw(t, server);
        const start = Date.now();                       // Before the last frame the client sends
        await raw.hello();

        const closed = await raw.closed(2 * interval + timeout + slack);
        const elapsed = closed.at - start;
        Assert.ok(raw.frames.includes(F.ping), 'the server pinged before giving up');
        Assert.ok(elapsed >= interval + timeout - 20, `closed ${elapsed} ms after the last client frame, before interval + timeout`);

        await server.control.events('disconnection', { count: 1 });
        Assert.ok((await server.control.stats()).HeartbeatCloses >= 1);
    });

    test('a socket that answers every ping stays connected', async (t) => {

        const server = await H.server(t, { heartbeat: relaxed });
        const raw = await H.raw(t, server);

        let n = 0;
        raw.ws.on('message', (data) => {

            if (data.toString() === F.ping) {
                raw.send({ type: 'ping', id: `p${++n}` }).catch(() => {});
            }
        });

        await raw.hello();
        await H.waitUntil(() => n >= 3 || raw.closeInfo, relaxed.interval * 3 + slack, '3 pings');
        Assert.equal(raw.closeInfo, null);
        Assert.ok(n >= 3, `answered ${n} pings`);
        const reply = await raw.request({ type: 'request', id: 'r', method: 'GET', path: '/hello' });
        Assert.equal(reply, F.response('r', 200, { greeting: 'hi' }));
    });

    test('a socket that never says hello is disconnected by the heartbeat when the hello timeout is off', async (t) => {

        const server = await H.server(t, { heartbeat, helloTimeout: -1 });
        const start = Date.now();
        const raw = await H.raw(t, server);

        const closed = await raw.closed(2 * interval + timeout + slack);
        Assert.ok(closed.at - start >= interval + timeout - 20, `closed after ${closed.at - start} ms, before interval + timeout`);
        Assert.ok(raw.frames.every((f) => f === F.ping), 'only pings before hello');
    });

    test('a request slower than interval + timeout does not cost the client its connection', async (t) => {

        const server = await H.server(t, { heartbeat: relaxed });
        const client = H.client(t, server);
        const disconnects = [];
        client.onDisconnect = (willReconnect, log) => disconnects.push(log);
        await client.connect({ reconnect: false });

        const res = await client.request(`/slow?ms=${relaxed.interval + relaxed.timeout + 100}`);
        Assert.equal(res.payload, 'hello');
        await H.sleep(relaxed.interval);
        Assert.deepEqual(disconnects, []);
        Assert.deepEqual(client.errors, []);
    });
});


describe('client heartbeat', () => {

    test('a client whose server falls silent times out after interval + timeout', async (t) => {

        const server = await H.server(t, { heartbeat });
        const proxy = await H.proxy(t, server);
        const client = H.client(t, proxy);

        const timedOut = H.deferred();
        client.onHeartbeatTimeout = (willReconnect) => {

            const lastFrame = client.tap.frames.filter((f) => f.dir === 'in').at(-1).at;
            timedOut.resolve({ willReconnect, at: Date.now(), lastFrame });
        };

        await client.connect({ reconnect: false });

        await client.tap.until((tap) => tap.received().includes(F.ping), interval + slack, 'a ping');
        proxy.freeze();
        const frozenAt = Date.now();

        const { willReconnect, at, lastFrame } = await H.within(timedOut.promise, interval + timeout + slack, 'onHeartbeatTimeout');
        Assert.equal(willReconnect, false);
        Assert.ok(at - lastFrame >= interval + timeout - 5, `timed out ${at - lastFrame} ms after the last frame`);
        Assert.ok(at - frozenAt <= interval + timeout + slack, `timed out ${at - frozenAt} ms after the server fell silent`);
        Assert.ok(client.errors.some((err) => err.message === 'Disconnecting due to heartbeat timeout' && err.type === 'timeout'));
    });
});


describe('hello timeout', () => {

    test('a socket that sends no hello is closed after the hello timeout', async (t) => {

        const server = await H.server(t, { heartbeat: false, helloTimeout: 200 });
        const start = Date.now();
        const raw = await H.raw(t, server);

        const closed = await raw.closed(200 + slack);
        const elapsed = closed.at - start;
        Assert.ok(elapsed >= 190, `closed after ${elapsed} ms, before the hello timeout`);
        Assert.deepEqual(raw.frames, []);
    });

    test('a socket that said hello in time is not closed by the hello timeout', async (t) => {

        const server = await H.server(t, { heartbeat: false, helloTimeout: 200 });
        const client = H.client(t, server);
        const disconnects = [];
        client.onDisconnect = (willReconnect, log) => disconnects.push(log);
        await client.connect({ reconnect: false });

        await H.sleep(500);
        Assert.deepEqual(disconnects, []);
        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });
    });
});
