'use strict';

// Cookie authentication: GET /nes/auth over real HTTP sets a sealed cookie,
// the official Node client sends it on the upgrade (ws headers), the server
// opens it at the hello. Hostile input: invalid and tampered cookies, a
// cross-origin upgrade carrying a valid cookie (PROTOCOL.md §1.4, §1.11,
// §1.12, §2.1; nes test/auth.js "cookie").

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const A = require('../lib/auth');
const F = require('../lib/frames');
const H = require('../lib/harness');


const cookie = (auth = {}, extra = {}) => ({ heartbeat: false, auth: { type: 'cookie', ...auth }, ...extra });

const withCookie = (value, ws = {}) => ({ clientOptions: { ws: { ...ws, headers: { cookie: value } } } });

const helloError = (status, error, message) => F.error(status, error, message, { type: 'hello', id: 1 });

const slack = H.WAIT;


describe('cookie endpoint', () => {

    test('GET /nes/auth with credentials sets the nes cookie with nes\'s default attributes', async (t) => {

        const server = await H.server(t, cookie());
        const res = await A.fetchAuth(server, { authorization: 'Custom john' });

        Assert.equal(res.status, 200);
        Assert.equal(res.text, '{"status":"authenticated"}');
        Assert.match(res.headers.get('content-type'), /^application\/json/);
        Assert.equal(res.headers.get('cache-control'), 'no-store');
        Assert.equal(res.setCookie.length, 1);

        const [pair, ...attributes] = res.setCookie[0].split(/;\s*/);
        Assert.match(pair, /^nes=[A-Za-z0-9_=-]{40,}$/);
        const names = attributes.map((a) => a.split('=')[0]);
        for (const required of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']) {
            Assert.ok(attributes.includes(required), `missing ${required} in ${res.setCookie[0]}`);
        }

        Assert.ok(names.includes('Max-Age') && names.includes('Expires'), res.setCookie[0]);
        Assert.ok(!names.includes('Domain'), 'host-only by default');
    });

    test('the endpoint refuses requests without or with bad credentials, and sets no cookie', async (t) => {

        const server = await H.server(t, cookie());

        const none = await A.fetchAuth(server);
        Assert.equal(none.status, 401);
        Assert.equal(none.text, '{"statusCode":401,"error":"Unauthorized","message":"Missing authentication"}');
        Assert.deepEqual(none.setCookie, []);

        const bad = await A.fetchAuth(server, { authorization: 'Custom steve' });
        Assert.equal(bad.status, 401);
        Assert.equal(bad.text, '{"statusCode":401,"error":"Unauthorized","message":"Bad credentials"}');
        Assert.deepEqual(bad.setCookie, []);

        const post = await A.fetchAuth(server, { authorization: 'Custom john', method: 'POST' });
        Assert.notEqual(post.status, 200);
        Assert.deepEqual(post.setCookie, []);
    });

    test('the endpoint is for HTTP only: a request to /nes/auth over the socket is 404', async (t) => {

        const server = await H.server(t, cookie());
        const client = await H.connect(t, server, withCookie(await A.login(server, 'john')));

        await Assert.rejects(client.request('/nes/auth'), { statusCode: 404, message: 'Not Found' });
        Assert.equal(client.tap.received().at(-1), F.error(404, 'Not Found', 'Not Found', { type: 'request', id: 2 }));
        await Assert.rejects(client.request('/nes/auth?x=1'), { statusCode: 404 });
        Assert.equal((await client.request('/whoami')).payload.credentials.user, 'john');
    });

    test('the cookie name, path and Secure attribute follow the options', async (t) => {

        const server = await H.server(t, cookie({ cookie: { name: 'sess', path: '/nes/xyz', notSecure: true } }));
        const res = await A.fetchAuth(server, { authorization: 'Custom ed' });
        const attributes = res.setCookie[0].split(/;\s*/);
        Assert.match(attributes[0], /^sess=/);
        Assert.ok(attributes.includes('Path=/nes/xyz'), res.setCookie[0]);
        Assert.ok(!attributes.includes('Secure'), res.setCookie[0]);
        Assert.ok(attributes.includes('HttpOnly'), res.setCookie[0]);

        const client = await H.connect(t, server, withCookie('sess=' + A.cookieValue(res.setCookie, 'sess')));
        Assert.equal((await client.request('/whoami')).payload.credentials.user, 'ed');
    });
});


describe('cookie authentication', () => {

    test('a client sending the cookie on the upgrade is authenticated, and routes see its credentials', async (t) => {

        const server = await H.server(t, cookie());
        const value = await A.login(server, 'john');
        const client = await H.connect(t, server, withCookie(value));

        Assert.equal(client.tap.sent()[0], '{"type":"hello","version":"2","id":1}');
        Assert.match(client.tap.received()[0], F.helloPattern(1, false));

        const { payload, statusCode } = await client.request('/protected');
        Assert.equal(statusCode, 200);
        Assert.equal(payload.credentials.user, 'john');
        Assert.deepEqual(payload.credentials.scope, ['a']);
        Assert.equal(payload.credentials.artifact, 'abc');
        Assert.ok(payload.credentials.expires > Date.now() + 23 * 3600_000, 'a 24 h cookie');
        Assert.equal((await server.control.sockets())[0].credentials.user, 'john');
    });

    test('an invalid cookie fails the hello with 401 "Invalid nes authentication cookie"', async (t) => {

        const server = await H.server(t, cookie());
        const client = H.client(t, server, { ws: { headers: { cookie: 'nes=not-a-sealed-value' } } });
        await Assert.rejects(client.connect({ reconnect: false }), { message: 'Invalid nes authentication cookie', statusCode: 401 });
        Assert.equal(client.tap.received()[0], helloError(401, 'Unauthorized', 'Invalid nes authentication cookie'));
    });

    test('a malformed nes cookie (nes=") fails the hello like an invalid one, not as a missing one', async (t) => {

        const server = await H.server(t, cookie());
        const client = H.client(t, server, { ws: { headers: { cookie: 'a=1; nes="' } } });
        await Assert.rejects(client.connect({ reconnect: false }), { message: 'Invalid nes authentication cookie', statusCode: 401 });
        Assert.equal(client.tap.received()[0], helloError(401, 'Unauthorized', 'Invalid nes authentication cookie'));
    });

    test('a cookie and hello.auth together fail with 400 "Connection already authenticated"', async (t) => {

        const server = await H.server(t, cookie());
        const client = H.client(t, server, { ws: { headers: { cookie: await A.login(server, 'john') } } });
        await Assert.rejects(client.connect({ reconnect: false, auth: 'something' }), { message: 'Connection already authenticated', statusCode: 400 });
        Assert.equal(client.tap.sent()[0], '{"type":"hello","version":"2","auth":"something","id":1}');
        Assert.equal(client.tap.received()[0], helloError(400, 'Bad Request', 'Connection already authenticated'));
        Assert.deepEqual(await server.control.events('connection'), []);
    });

    test('without a cookie, required mode refuses the hello', async (t) => {

        const server = await H.server(t, cookie());
        const client = H.client(t, server, { ws: { headers: { cookie: 'other=1' } } });
        await Assert.rejects(client.connect({ reconnect: false }), { message: 'Connection requires authentication', statusCode: 401 });
    });

    test('optional mode: the endpoint answers "unauthenticated" and clients without the cookie connect anonymously', async (t) => {

        const server = await H.server(t, cookie({ mode: 'optional' }));
        const res = await A.fetchAuth(server);
        Assert.equal(res.status, 200);
        Assert.equal(res.text, '{"status":"unauthenticated"}');
        Assert.deepEqual(res.setCookie, []);

        const plain = await H.connect(t, server);
        await Assert.rejects(plain.request('/protected'), { message: 'Missing authentication', statusCode: 401 });

        const other = await H.connect(t, server, withCookie('xnes=123'));
        Assert.equal((await other.request('/whoami')).payload.authenticated, false);

        const john = await H.connect(t, server, withCookie(await A.login(server, 'john')));
        Assert.equal((await john.request('/whoami')).payload.credentials.user, 'john');
    });

    test('maxConnectionsPerUser 2: the third socket with the same cookie gets 503', async (t) => {

        const server = await H.server(t, cookie({ index: true, maxConnectionsPerUser: 2 }));
        const value = await A.login(server, 'john');
        await H.connect(t, server, withCookie(value));
        await H.connect(t, server, withCookie(value));

        const client3 = H.client(t, server, { ws: { headers: { cookie: value } } });
        await Assert.rejects(client3.connect({ reconnect: false }), { message: 'Too many connections for the authenticated user', statusCode: 503 });
        Assert.equal(client3.tap.received()[0], helloError(503, 'Service Unavailable', 'Too many connections for the authenticated user'));
    });

    test('a socket is closed when its cookie expires, even idle, and the cookie is refused afterwards', async (t) => {

        const server = await H.server(t, cookie({ cookie: { ttlMs: 2000 } }));
        const res = await A.fetchAuth(server, { authorization: 'Custom john' });
        Assert.ok(res.setCookie[0].split(/;\s*/).includes('Max-Age=2'), res.setCookie[0]);
        const value = 'nes=' + A.cookieValue(res.setCookie);

        const client = H.client(t, server, { ws: { headers: { cookie: value } } });
        const disconnects = A.disconnects(client);
        await client.connect({ reconnect: false });
        const [socket] = await server.control.sockets();
        const expires = socket.credentials.expires;
        Assert.ok(expires > Date.now() && expires <= Date.now() + 2000, `expires in ${expires - Date.now()} ms`);

        const [log] = await disconnects.count(1, 2000 + slack);
        Assert.equal(log.code, 4003);
        Assert.equal(log.wasRequested, false);
        Assert.ok(log.at >= expires - 50, `closed ${expires - log.at} ms before the expiry`);

        const late = H.client(t, server, { ws: { headers: { cookie: value } } });
        await Assert.rejects(late.connect({ reconnect: false }), { message: 'Invalid nes authentication cookie', statusCode: 401 });
    });
});


describe('hostile cookie input', () => {

    test('a tampered cookie is refused with 401 and the server keeps serving valid cookies', async (t) => {

        const server = await H.server(t, cookie());
        const value = await A.login(server, 'john');
        const body = value.slice('nes='.length);
        const middle = Math.floor(body.length / 2);
        const flipped = body[middle] === 'A' ? 'B' : 'A';
        const tampered = 'nes=' + body.slice(0, middle) + flipped + body.slice(middle + 1);

        const bad = H.client(t, server, { ws: { headers: { cookie: tampered } } });
        await Assert.rejects(bad.connect({ reconnect: false }), { message: 'Invalid nes authentication cookie', statusCode: 401 });

        const truncated = H.client(t, server, { ws: { headers: { cookie: value.slice(0, -4) } } });
        await Assert.rejects(truncated.connect({ reconnect: false }), { message: 'Invalid nes authentication cookie', statusCode: 401 });

        // A cookie of another server (another key) is not accepted either
        const other = await H.server(t, cookie());
        const foreign = H.client(t, server, { ws: { headers: { cookie: await A.login(other, 'john') } } });
        await Assert.rejects(foreign.connect({ reconnect: false }), { message: 'Invalid nes authentication cookie', statusCode: 401 });

        const good = await H.connect(t, server, withCookie(value));
        Assert.equal((await good.request('/whoami')).payload.credentials.user, 'john');
        Assert.equal((await server.control.events('connection')).length, 1);
    });

    test('a cross-origin upgrade carrying a valid cookie is refused with HTTP 401; the allowed origin works', async (t) => {

        const server = await H.server(t, cookie({}, { origins: ['http://app.example'] }));
        const value = await A.login(server, 'john');

        const evil = await H.raw(t, server, { origin: 'http://evil.example', headers: { cookie: value }, open: false });
        await evil.closed();
        Assert.equal(evil.unexpectedResponse.statusCode, 401);
        Assert.deepEqual(evil.frames, []);

        const client = H.client(t, server, { ws: { origin: 'http://evil.example', headers: { cookie: value } } });
        await Assert.rejects(client.connect({ reconnect: false }), (err) => {

            Assert.equal(err.type, 'ws');
            return true;
        });

        Assert.deepEqual(await server.control.events('connection'), []);

        const allowed = await H.connect(t, server, withCookie(value, { origin: 'http://app.example' }));
        Assert.equal((await allowed.request('/whoami')).payload.credentials.user, 'john');
        Assert.equal((await server.control.events('connection')).length, 1);
    });
});
