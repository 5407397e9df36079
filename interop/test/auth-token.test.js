'use strict';

// Token authentication: GET /nes/auth over real HTTP returns a token, the
// official client passes it as connect({auth: token}) (hello.auth is the
// string). Expiry, and hostile tokens: garbage, alg "none", tampered claims,
// another key (PROTOCOL.md §1.4, §1.11, §2.1; nes test/auth.js "token").

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const A = require('../lib/auth');
const F = require('../lib/frames');
const H = require('../lib/harness');


const token = (auth = {}) => ({ heartbeat: false, auth: { type: 'token', ...auth } });

const helloError = (status, error, message) => F.error(status, error, message, { type: 'hello', id: 1 });

const slack = H.WAIT;


const invalid = async (t, server, value) => {

    const client = H.client(t, server);
    await Assert.rejects(client.connect({ reconnect: false, auth: value }), { message: 'Invalid token', statusCode: 401 });
    Assert.equal(client.tap.received()[0], helloError(401, 'Unauthorized', 'Invalid token'));
};


describe('token endpoint', () => {

    test('GET /nes/auth returns {"status":"authenticated","token"}: a signed JWT carrying the credentials', async (t) => {

        const server = await H.server(t, token());
        const res = await A.fetchAuth(server, { authorization: 'Custom ed' });

        Assert.equal(res.status, 200);
        Assert.deepEqual(Object.keys(res.body), ['status', 'token']);
        Assert.equal(res.body.status, 'authenticated');
        Assert.deepEqual(res.setCookie, []);
        Assert.equal(res.headers.get('cache-control'), 'no-store');

        const { header, payload } = A.decodeJwt(res.body.token);
        Assert.equal(header.alg, 'HS256');
        Assert.equal(header.kid, 'k1');
        Assert.equal(payload.sub, 'ed');
        Assert.deepEqual(payload.scope, ['a', 'b']);
        Assert.ok(payload.exp - payload.iat >= 3599 && payload.exp - payload.iat <= 3600, 'a 1 h token by default');
    });

    test('the endpoint refuses requests without credentials; optional mode answers "unauthenticated"', async (t) => {

        const server = await H.server(t, token());
        const res = await A.fetchAuth(server);
        Assert.equal(res.status, 401);
        Assert.equal(res.text, '{"statusCode":401,"error":"Unauthorized","message":"Missing authentication"}');

        const optional = await H.server(t, token({ mode: 'optional' }));
        const res2 = await A.fetchAuth(optional);
        Assert.equal(res2.status, 200);
        Assert.equal(res2.text, '{"status":"unauthenticated"}');

        const client = await H.connect(t, optional);
        Assert.deepEqual((await client.request('/whoami')).payload, { authenticated: false, credentials: null, socket: true });
        await Assert.rejects(client.request('/protected'), { message: 'Missing authentication', statusCode: 401 });
    });
});


describe('token authentication', () => {

    test('a client connecting with the token is authenticated, and routes see its credentials', async (t) => {

        const server = await H.server(t, token());
        const value = await A.login(server, 'john');
        const client = await H.connect(t, server, { auth: value });

        Assert.equal(client.tap.sent()[0], JSON.stringify({ type: 'hello', version: '2', auth: value, id: 1 }));
        Assert.match(client.tap.received()[0], F.helloPattern(1, false));

        const { payload } = await client.request('/protected');
        Assert.equal(payload.credentials.user, 'john');
        Assert.deepEqual(payload.credentials.scope, ['a']);
        Assert.equal(payload.credentials.artifact, 'abc');
        Assert.equal(payload.credentials.expires, A.decodeJwt(value).payload.exp * 1000);
    });

    test('application credentials travel in a token too', async (t) => {

        const server = await H.server(t, { ...token(), subscriptions: [{ path: '/apps', auth: { entity: 'app' } }] });
        const client = await H.connect(t, server, { auth: await A.login(server, 'app') });
        const { credentials } = (await client.request('/whoami')).payload;
        Assert.equal(credentials.user, '');
        Assert.deepEqual(credentials.scope, ['a']);

        const handler = A.handler();
        await client.subscribe('/apps', handler);
        await server.control.publish('/apps', 'for apps');
        Assert.deepEqual(await handler.count(1), ['for apps']);
    });

    test('an invalid token fails the hello with 401 "Invalid token"; an empty one is no token', async (t) => {

        const server = await H.server(t, token());
        await invalid(t, server, 'abc');
        await invalid(t, server, { headers: { authorization: 'Custom john' } });   // Direct auth is not accepted

        const client = H.client(t, server);
        await Assert.rejects(client.connect({ reconnect: false, auth: '' }), { message: 'Connection requires authentication', statusCode: 401 });
        Assert.deepEqual(await server.control.events('connection'), []);
    });

    test('an expired token is refused with 401 "Invalid token"', async (t) => {

        const server = await H.server(t, token({ token: { ttlMs: 1000 } }));
        const value = await A.login(server, 'john');
        const { exp } = A.decodeJwt(value).payload;
        await H.sleep(exp * 1000 - Date.now() + 50);
        await invalid(t, server, value);
    });

    test('a socket is closed when its token expires, even idle', async (t) => {

        const server = await H.server(t, token({ token: { ttlMs: 2000 } }));
        const value = await A.login(server, 'john');
        const expires = A.decodeJwt(value).payload.exp * 1000;

        const client = H.client(t, server);
        const disconnects = A.disconnects(client);
        await client.connect({ reconnect: false, auth: value });

        const [log] = await disconnects.count(1, 2000 + slack);
        Assert.equal(log.code, 4003);
        Assert.equal(log.wasRequested, false);
        Assert.ok(log.at >= expires - 50, `closed ${expires - log.at} ms before the expiry`);
        Assert.deepEqual(client.tap.received().length, 1, 'nothing but the hello reply');
    });

    test('a second hello on a token socket is 400 "Connection already initialized"', async (t) => {

        const server = await H.server(t, token());
        const value = await A.login(server, 'john');
        const raw = await H.raw(t, server);
        await raw.hello({ auth: value });

        const reply = await raw.request({ type: 'hello', version: '2', id: 'h2', auth: value });
        Assert.equal(reply, F.badRequest('Connection already initialized', { type: 'hello', id: 'h2' }));
    });

    test('reauth with a token for another user switches the socket to that user', async (t) => {

        const server = await H.server(t, token());
        const client = await H.connect(t, server, { auth: await A.login(server, 'john') });
        await client.reauthenticate(await A.login(server, 'ed'));
        Assert.equal((await client.request('/whoami')).payload.credentials.user, 'ed');
    });
});


describe('hostile tokens', () => {

    test('alg "none", tampered claims and a foreign key are refused with 401 "Invalid token"; the server keeps serving', async (t) => {

        const server = await H.server(t, token());
        const value = await A.login(server, 'john');
        const { header, payload } = A.decodeJwt(value);
        const [h64, , sig] = value.split('.');

        // alg none, unsigned, same claims and kid
        await invalid(t, server, A.jwt({ ...header, alg: 'none' }, payload));
        await invalid(t, server, A.jwt({ alg: 'none', typ: 'JWT' }, payload));

        // john's signature on ed's claims
        const forged = Buffer.from(JSON.stringify({ ...payload, sub: 'ed', scope: ['a', 'b'] })).toString('base64url');
        await invalid(t, server, `${h64}.${forged}.${sig}`);

        // signed with a key the server does not have, with and without its kid
        await invalid(t, server, A.jwt(header, payload, 'a-secret-that-is-not-the-servers-key!'));
        await invalid(t, server, A.jwt({ alg: 'HS256', typ: 'JWT' }, payload, 'a-secret-that-is-not-the-servers-key!'));

        // a token of another server
        const other = await H.server(t, token());
        await invalid(t, server, await A.login(other, 'john'));

        // a truncated signature
        await invalid(t, server, value.slice(0, -3));

        const good = await H.connect(t, server, { auth: value });
        Assert.equal((await good.request('/whoami')).payload.credentials.user, 'john');
        Assert.equal((await server.control.events('connection')).length, 1);
    });
});
