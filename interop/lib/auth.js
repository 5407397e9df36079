'use strict';

// Helpers of the authentication scenarios (test/auth-*.test.js): the
// fixture's test scheme ("Authorization: Custom <user>", PROTOCOL.md §1.11),
// the cookie/token endpoint over real HTTP, hand-made JWTs, and collectors
// for what the official client reports.

const Crypto = require('node:crypto');

const H = require('./harness');


// hello.auth / reauth.auth of direct authentication for a user of the test
// scheme (john: scope [a]; ed: scope [a, b]; app: application credentials).
exports.direct = (user) => ({ headers: { authorization: 'Custom ' + user } });


// What the fixture reports for a user's credentials (minus claims.authAt,
// a timestamp, and expires).
exports.users = {
    john: { user: 'john', scope: ['a'], artifact: 'abc' },
    ed: { user: 'ed', scope: ['a', 'b'], artifact: 'xyz' },
    app: { user: '', scope: ['a'], artifact: 'app' }
};


// Calls the cookie/token endpoint (GET /nes/auth by default) over HTTP,
// with an Authorization header when given. Returns
// {status, headers, text, body (parsed JSON when it is), setCookie: [..]}.
exports.fetchAuth = async function (server, { authorization, path = '/nes/auth', method = 'GET', headers = {} } = {}) {

    const all = { ...headers };
    if (authorization !== undefined) {
        all.authorization = authorization;
    }

    const res = await fetch(server.url + path, { method, headers: all });
    const text = await res.text();
    let body = text;
    try {
        body = JSON.parse(text);
    }
    catch { }

    return { status: res.status, headers: res.headers, text, body, setCookie: res.headers.getSetCookie() };
};


// The value of cookie name in a list of Set-Cookie headers.
exports.cookieValue = function (setCookie, name = 'nes') {

    for (const header of setCookie) {
        const [pair] = header.split(';');
        const eq = pair.indexOf('=');
        if (pair.slice(0, eq).trim() === name) {
            return pair.slice(eq + 1).trim();
        }
    }

    return undefined;
};


// Fetches the endpoint as user and returns the Cookie header value
// ("nes=...") to send on the upgrade.
exports.login = async function (server, user, { name = 'nes', path } = {}) {

    const res = await exports.fetchAuth(server, { authorization: 'Custom ' + user, path });
    if (res.status !== 200) {
        throw new Error(`auth endpoint: ${res.status} ${res.text}`);
    }

    const value = exports.cookieValue(res.setCookie, name);
    return value === undefined ? res.body.token : `${name}=${value}`;
};


// ---- hand-made JWTs ----

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');


// Decodes a JWT's header and payload (no verification).
exports.decodeJwt = function (token) {

    const [header, payload] = token.split('.');
    return {
        header: JSON.parse(Buffer.from(header, 'base64url').toString()),
        payload: JSON.parse(Buffer.from(payload, 'base64url').toString())
    };
};


// Builds a JWT: alg "none" gets an empty signature, HS256 is signed with
// secret.
exports.jwt = function (header, payload, secret) {

    const input = b64url(header) + '.' + b64url(payload);
    if (header.alg === 'none') {
        return input + '.';
    }

    return input + '.' + Crypto.createHmac('sha256', secret).update(input).digest('base64url');
};


// ---- what the official client reports ----

// Collects onUpdate messages; list.count(n) waits for n of them.
exports.updates = function (client) {

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


// Collects onDisconnect logs (with the time); list.next(n) waits for n.
exports.disconnects = function (client) {

    const list = [];
    const waiters = [];
    client.onDisconnect = (willReconnect, log) => {

        list.push({ ...log, at: Date.now() });
        waiters.splice(0).forEach((fn) => fn());
    };

    list.count = (n, ms = H.WAIT) => H.within(new Promise((resolve) => {

        const check = () => (list.length >= n ? resolve([...list]) : waiters.push(check));
        check();
    }), ms, `${n} disconnect(s)`);

    return list;
};


// Collects the messages a subscription handler receives.
exports.handler = function () {

    const list = [];
    const waiters = [];
    const fn = (message) => {

        list.push(message);
        waiters.splice(0).forEach((w) => w());
    };

    fn.messages = list;
    fn.count = (n, ms = H.WAIT) => H.within(new Promise((resolve) => {

        const check = () => (list.length >= n ? resolve([...list]) : waiters.push(check));
        check();
    }), ms, `${n} publication(s)`);

    return fn;
};
