'use strict';

// Credential re-verification and expiry: AuthOptions.Verify runs on an
// inbound message once MinAuthVerifyInterval has passed; a failure answers
// that message with 403 "Credential verification failed" and closes the
// socket. Credentials with an expiry close the socket when it comes
// (PROTOCOL.md §1.4, §1.11; nes test/auth.js "disconnects the client
// after authentication expires" and following).

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const A = require('../lib/auth');
const F = require('../lib/frames');
const H = require('../lib/harness');


const slack = H.WAIT;


const verifyCalls = async (server) => (await server.control.events('verify')).map((e) => e.result);


describe('credential verification', () => {

    test('a request after the credentials expired gets 403 "Credential verification failed", then the socket closes', async (t) => {

        const server = await H.server(t, { heartbeat: false, auth: { type: 'direct', verifyExpiryMs: 300, minAuthVerifyInterval: 100 } });
        const client = H.client(t, server);
        const disconnects = A.disconnects(client);
        await client.connect({ reconnect: false, auth: A.direct('john') });

        await H.sleep(320);
        await Assert.rejects(client.request('/whoami'), { message: 'Credential verification failed', statusCode: 403 });
        Assert.equal(client.tap.received().at(-1), F.error(403, 'Forbidden', 'Credential verification failed', { type: 'request', id: 2 }));

        const [log] = await disconnects.count(1);
        Assert.equal(log.code, 4004);
        Assert.equal(log.wasRequested, false);
        Assert.deepEqual(await verifyCalls(server), ['abc'], 'one message, one verification');
        await server.control.events('disconnection', { count: 1 });
    });

    test('verification runs at most once per interval, and passing verification lets the message through', async (t) => {

        const server = await H.server(t, { heartbeat: false, auth: { type: 'direct', verify: true, minAuthVerifyInterval: 300 } });
        const client = await H.connect(t, server, { auth: A.direct('john') });

        for (let i = 0; i < 5; ++i) {
            Assert.equal((await client.request('/whoami')).statusCode, 200);
        }

        Assert.deepEqual(await verifyCalls(server), [], 'not within the interval after the hello');

        await H.sleep(320);
        for (let i = 0; i < 3; ++i) {
            Assert.equal((await client.request('/whoami')).payload.credentials.user, 'john');
        }

        Assert.deepEqual(await verifyCalls(server), ['abc']);
    });

    test('anonymous sockets are never verified', async (t) => {

        const server = await H.server(t, { heartbeat: false, auth: { type: 'direct', mode: 'optional', verifyExpiryMs: 1, minAuthVerifyInterval: 50 } });
        const client = await H.connect(t, server);
        await H.sleep(100);
        Assert.equal((await client.request('/whoami')).statusCode, 200);
        Assert.deepEqual(await verifyCalls(server), []);
    });

    test('heartbeat pings are verified too: an idle client is disconnected once its credentials expire', async (t) => {

        const server = await H.server(t, {
            heartbeat: { interval: 200, timeout: 180 },
            auth: { type: 'direct', verifyExpiryMs: 1100, minAuthVerifyInterval: 300 }
        });

        const client = H.client(t, server);
        const disconnects = A.disconnects(client);
        const start = Date.now();
        await client.connect({ reconnect: false, auth: A.direct('john') });

        const [log] = await disconnects.count(1, 1100 + 600 + slack);
        Assert.ok(log.at - start >= 1100, `disconnected after ${log.at - start} ms`);
        Assert.equal(log.code, 4004);

        const calls = await verifyCalls(server);
        Assert.ok(calls.length >= 3 && calls.length <= 5, `verified ${calls.length} times`);
        Assert.ok(calls.every((c) => c === 'abc'));
        // The failing message was the client's answer to a ping
        const failed = client.tap.received().find((f) => f.includes('Credential verification failed'));
        const id = JSON.parse(failed).id;
        Assert.ok(client.tap.sent().includes(JSON.stringify({ type: 'ping', id })), failed);
        Assert.equal(failed, F.error(403, 'Forbidden', 'Credential verification failed', { type: 'ping', id }));
    });

    test('after reauth, verification uses the new credentials', async (t) => {

        const server = await H.server(t, {
            heartbeat: { interval: 200, timeout: 180 },
            auth: { type: 'direct', verifyExpiryMs: 1100, minAuthVerifyInterval: 300 }
        });

        const client = H.client(t, server);
        const disconnects = A.disconnects(client);
        await client.connect({ reconnect: false, auth: A.direct('john') });
        await H.sleep(400);
        const reauthAt = Date.now();
        await client.reauthenticate(A.direct('ed'));

        const [log] = await disconnects.count(1, 1100 + 600 + slack);
        Assert.ok(log.at - reauthAt >= 1100, `disconnected ${log.at - reauthAt} ms after the reauth`);

        const calls = await verifyCalls(server);
        const firstEd = calls.indexOf('xyz');
        Assert.ok(firstEd >= 0, `calls: ${calls}`);
        Assert.ok(calls.slice(firstEd).every((c) => c === 'xyz'), `calls: ${calls}`);
        Assert.ok(calls.slice(0, firstEd).every((c) => c === 'abc'), `calls: ${calls}`);
    });

    test('without MinAuthVerifyInterval, verification runs at most once per heartbeat interval', async (t) => {

        const server = await H.server(t, { heartbeat: { interval: 300, timeout: 200 }, auth: { type: 'direct', verify: true } });
        const client = await H.connect(t, server, { auth: A.direct('john') });

        for (let i = 0; i < 10; ++i) {
            await client.request('/whoami');
            await H.sleep(50);
        }

        const elapsed = 10 * 50;
        const calls = await verifyCalls(server);
        Assert.ok(calls.length >= 1 && calls.length <= Math.ceil(elapsed / 300) + 1, `verified ${calls.length} times in ~${elapsed} ms`);
    });
});


describe('credential expiry', () => {

    test('credentials with an expiry close an idle socket when they expire', async (t) => {

        const server = await H.server(t, { heartbeat: false, auth: { type: 'direct', credentialsTtlMs: 400 } });
        const client = H.client(t, server);
        const disconnects = A.disconnects(client);
        await client.connect({ reconnect: false, auth: A.direct('john') });
        const { expires } = (await client.request('/whoami')).payload.credentials;
        Assert.ok(expires > Date.now());

        const [log] = await disconnects.count(1, 400 + slack);
        Assert.equal(log.code, 4003);
        Assert.equal(log.wasRequested, false);
        Assert.ok(log.at >= expires - 20, `closed ${expires - log.at} ms early`);
        await server.control.events('disconnection', { count: 1 });
    });

    test('reauth with fresh credentials moves the expiry', async (t) => {

        const server = await H.server(t, { heartbeat: false, auth: { type: 'direct', credentialsTtlMs: 500 } });
        const client = H.client(t, server);
        const disconnects = A.disconnects(client);
        await client.connect({ reconnect: false, auth: A.direct('john') });

        await H.sleep(300);
        await client.reauthenticate(A.direct('john'));
        const { expires } = (await client.request('/whoami')).payload.credentials;
        await H.sleep(300);                             // Past the first expiry
        Assert.equal(disconnects.length, 0);

        const [log] = await disconnects.count(1, 500 + slack);
        Assert.equal(log.code, 4003);
        Assert.ok(log.at >= expires - 20);
    });
});
