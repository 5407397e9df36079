'use strict';

// client.request() against chi routes called over the socket
// (PROTOCOL.md §1.7, §1.8, §2.2; nes test/socket.js _processRequest,
// test/index.js, test/client.js request() and "empty response handling").

const Assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const H = require('../lib/harness');
const F = require('../lib/frames');


const base = { heartbeat: false };


// The last frame the client received that answers request id.
const replyFrame = (client, id) => client.tap.received().find((f) => JSON.parse(f).id === id);


describe('request results', () => {

    test('a JSON route result is embedded as JSON', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request('/hello');
        Assert.deepEqual(res, { payload: { greeting: 'hi' }, statusCode: 200, headers: undefined });
        Assert.equal(replyFrame(client, 2), '{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"}}');
    });

    test('a request string is a GET and an options object defaults to GET', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        Assert.equal((await client.request('/echo/1')).payload.method, 'GET');
        Assert.equal((await client.request({ path: '/echo/2' })).payload.method, 'GET');
        Assert.equal((await client.request({ path: '/echo/3', method: 'DELETE' })).payload.method, 'DELETE');
        Assert.equal(client.tap.sent()[1], '{"type":"request","method":"GET","path":"/echo/1","id":2}');
    });

    test('a lower-case method reaches the route (hapi accepts any case)', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request({ method: 'get', path: '/hello' });
        Assert.equal(res.statusCode, 200);
        Assert.deepEqual(res.payload, { greeting: 'hi' });

        const echo = await client.request({ method: 'post', path: '/echo/1', payload: { a: 1 } });
        Assert.equal(echo.payload.method, 'POST');
    });

    test('method, path params, query, message headers and payload reach the route', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request({ method: 'POST', path: '/echo/5?q=1&r=two', headers: { 'x-custom': 'yes' }, payload: { a: 1 } });
        Assert.equal(res.statusCode, 200);
        const echo = res.payload;
        Assert.equal(echo.id, '5');
        Assert.equal(echo.method, 'POST');
        Assert.equal(echo.path, '/echo/5');
        Assert.deepEqual(echo.query, { q: '1', r: 'two' });
        Assert.deepEqual(echo.payload, { a: 1 });
        Assert.equal(echo.headers['x-custom'], 'yes');
        Assert.equal(echo.socket, true);
        Assert.equal(echo.socketId, client.id);
        Assert.match(echo.ct, /^application\/json/);
    });

    test('text results are JSON strings', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        Assert.equal((await client.request('/text')).payload, 'plain text');
        Assert.equal((await client.request('/html')).payload, '<b>hi</b>');
        Assert.equal(replyFrame(client, 2), '{"type":"request","id":2,"statusCode":200,"payload":"plain text"}');
    });

    test('a JSON string result with a JSON content type is spliced in raw', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request('/jsonstring');
        Assert.deepEqual(res.payload, { raw: true });
        Assert.equal(replyFrame(client, 2), '{"type":"request","id":2,"statusCode":200,"payload":{"raw":true}}');

        const pretty = await client.request('/jsonpretty');
        Assert.deepEqual(pretty.payload, { a: 1, b: [2, 3] });
        Assert.equal(replyFrame(client, 3)[0], '{');
    });

    test('JSON text without a JSON content type stays a string', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request('/jsontext');
        Assert.equal(res.payload, '{"a":1,"b":2}');
        Assert.equal(replyFrame(client, 2), '{"type":"request","id":2,"statusCode":200,"payload":"{\\"a\\":1,\\"b\\":2}"}');
    });

    test('numbers, arrays and booleans are embedded as JSON', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        Assert.equal((await client.request('/number')).payload, 42);
        Assert.deepEqual((await client.request('/array')).payload, [1, 'two']);
        Assert.equal((await client.request('/jsonbool')).payload, false);
    });

    test('a route answering invalid JSON with a JSON content type still gives the client a parseable reply', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request('/badjson');
        Assert.equal(res.statusCode, 200);
        Assert.equal(res.payload, '{"not":"closed"');
        Assert.deepEqual(client.errors, []);
    });

    test('204 No Content is a null payload', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request('/null');
        Assert.equal(res.statusCode, 204);
        Assert.equal(res.payload, null);
        Assert.equal(replyFrame(client, 2), '{"type":"request","id":2,"statusCode":204,"payload":null}');
    });

    test('a request to a path that is not a route id nor starts with "/" is 404', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        await Assert.rejects(client.request('something'), (err) => {

            Assert.equal(err.statusCode, 404);
            Assert.equal(err.type, 'server');
            return true;
        });
    });
});


describe('request errors', () => {

    test('a route 4xx is a request reply with the route body', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        await Assert.rejects(client.request('/forbidden'), (err) => {

            Assert.equal(err.message, 'Nope');
            Assert.equal(err.type, 'server');
            Assert.equal(err.isNes, true);
            Assert.equal(err.statusCode, 403);
            Assert.deepEqual(err.data, { statusCode: 403, error: 'Forbidden', message: 'Nope' });
            Assert.equal(err.headers, undefined);
            return true;
        });

        Assert.equal(replyFrame(client, 2), '{"type":"request","id":2,"statusCode":403,"payload":{"statusCode":403,"error":"Forbidden","message":"Nope"}}');
    });

    test('an unknown route is a 404 request reply', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        await Assert.rejects(client.request('/no/such/route'), { message: 'Not Found', statusCode: 404, type: 'server' });
        Assert.equal(replyFrame(client, 2), '{"type":"request","id":2,"statusCode":404,"payload":{"statusCode":404,"error":"Not Found","message":"Not Found"}}');
    });

    test('a route 5xx and a text error body reach the client', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        await Assert.rejects(client.request('/boom'), { message: 'An internal server error occurred', statusCode: 500 });

        // A string body has no .message: the client falls back to 'Error'
        await Assert.rejects(client.request('/teapot-text'), (err) => {

            Assert.equal(err.statusCode, 418);
            Assert.equal(err.data, 'short and stout');
            Assert.equal(err.message, 'Error');
            return true;
        });
    });

    test('an Authorization header is refused by the official client flow', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        await Assert.rejects(client.request({ path: '/hello', headers: { Authorization: 'something' } }), (err) => {

            Assert.equal(err.message, 'Cannot include an Authorization header');
            Assert.equal(err.statusCode, 400);
            Assert.equal(err.type, 'server');
            return true;
        });

        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });
    });
});


describe('request payloads and headers', () => {

    test('object, array, number and boolean payloads are JSON bodies with a JSON content type', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        for (const payload of [{ a: 1, b: [true, null] }, [1, 'two'], 42, true]) {
            const { payload: echo } = await client.request({ method: 'POST', path: '/echo/1', payload });
            Assert.deepEqual(echo.payload, payload);
            Assert.deepEqual(JSON.parse(echo.rawBody), payload);
            Assert.match(echo.ct, /^application\/json/, `content type for ${JSON.stringify(payload)}`);
        }
    });

    test('a string payload is the raw body without a content type', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const { payload: echo } = await client.request({ method: 'POST', path: '/echo/1', payload: 'a string payload' });
        Assert.equal(echo.rawBody, 'a string payload');
        Assert.equal(echo.ct, '');

        const { payload: typed } = await client.request({ method: 'POST', path: '/echo/1', payload: 'hello é 中文', headers: { 'content-type': 'text/plain' } });
        Assert.equal(typed.rawBody, 'hello é 中文');
        Assert.equal(typed.ct, 'text/plain');

        const { payload: json } = await client.request({ method: 'POST', path: '/echo/1', payload: '{"already":"json"}' });
        Assert.equal(json.rawBody, '{"already":"json"}');
        Assert.deepEqual(json.payload, { already: 'json' });
    });

    test('no payload is an empty body', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const { payload: echo } = await client.request({ method: 'POST', path: '/echo/1' });
        Assert.equal(echo.rawBody, '');
        Assert.equal(echo.payload, null);
    });

    test('only the message headers reach the route, none of the upgrade request', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server, {
            clientOptions: { ws: { headers: { cookie: 'session=secret', 'x-upgrade-only': 'yes', 'user-agent': 'interop', 'x-forwarded-for': '10.1.2.3' } } }
        });

        const { payload: echo } = await client.request({ path: '/echo/1', headers: { 'x-custom': 'yes', a: 'b' } });
        Assert.equal(echo.headers['x-custom'], 'yes');
        Assert.equal(echo.headers.a, 'b');
        for (const name of ['cookie', 'x-upgrade-only', 'user-agent', 'x-forwarded-for', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']) {
            Assert.equal(echo.headers[name], undefined, `header ${name} must not be forwarded`);
        }
    });

    test('without a headers filter no response headers are sent', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request('/echo/1');
        Assert.equal(res.headers, undefined);
        Assert.deepEqual(Object.keys(JSON.parse(replyFrame(client, 2))), ['type', 'id', 'statusCode', 'payload']);
    });

    test('headers "*" sends every response header', async (t) => {

        const server = await H.server(t, { ...base, headers: ['*'] });
        const client = await H.connect(t, server);

        const res = await client.request({ path: '/greet', headers: { a: 'b' } });
        Assert.equal(res.payload, 'hello b');
        Assert.equal(res.statusCode, 200);
        Assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
        Assert.equal(res.headers['cache-control'], 'no-cache');
        Assert.equal(res.headers['x-custom'], 'custom-value');
        Assert.equal(res.headers['content-length'], Buffer.byteLength('hello b'), 'content-length is a number, as nes sends it');
    });

    test('a headers list sends only the listed headers', async (t) => {

        const server = await H.server(t, { ...base, headers: ['content-type'] });
        const client = await H.connect(t, server);

        const res = await client.request('/hello');
        Assert.deepEqual(res.headers, { 'content-type': 'application/json; charset=utf-8' });
        Assert.equal(replyFrame(client, 2), '{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"},"headers":{"content-type":"application/json; charset=utf-8"}}');

        const greet = await client.request('/greet');
        Assert.deepEqual(Object.keys(greet.headers), ['content-type']);
    });

    test('the headers filter applies to route error replies', async (t) => {

        const server = await H.server(t, { ...base, headers: ['content-type'] });
        const client = await H.connect(t, server);

        await Assert.rejects(client.request('/forbidden'), (err) => {

            Assert.equal(err.statusCode, 403);
            Assert.deepEqual(err.headers, { 'content-type': 'application/json; charset=utf-8' });
            return true;
        });
    });
});


describe('empty response handling', () => {

    // client.js "empty response handling": a hapi handler returning '' gives
    // the client '', one returning null gives null, with no content type,
    // text/plain or application/json. In Go, "returned ''" is a 200 with an
    // empty body and "returned null" is 204 No Content.

    const cases = [
        { name: 'empty body, no content type', path: '/empty/none', payload: '' },
        { name: 'empty body, text/plain', path: '/empty/text', payload: '' },
        { name: 'no content, no content type', path: '/nocontent/none', payload: null },
        { name: 'no content, text/plain', path: '/nocontent/text', payload: null },
        { name: 'no content, application/json', path: '/nocontent/json', payload: null }
    ];

    for (const { name, path, payload } of cases) {
        test(`handles ${name}`, async (t) => {

            const server = await H.server(t, base);
            const client = await H.connect(t, server);

            const res = await client.request(path);
            Assert.equal(res.payload, payload);
            Assert.deepEqual(client.errors, []);
        });
    }

    test('handles empty body, application/json (an empty string, never an unparseable frame)', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request('/empty/json');
        Assert.equal(res.statusCode, 200);
        Assert.equal(res.payload, '');
        Assert.deepEqual(client.errors, []);
    });
});


describe('request context', () => {

    test('the route sees the socket through nes.SocketFrom, and plain HTTP does not', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const res = await client.request('/socket');
        Assert.equal(res.payload.socket, true);
        Assert.equal(res.payload.id, client.id);

        const http = await (await fetch(server.url + '/socket')).json();
        Assert.deepEqual(http, { socket: false });
    });

    test('the route sees the websocket peer address as its remote address', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const { payload } = await client.request('/remote');
        Assert.match(payload.remoteAddr, /^127\.0\.0\.1:\d+$/);

        const sockets = await server.control.sockets();
        Assert.equal(sockets.length, 1);
        Assert.equal(sockets[0].id, client.id);
        Assert.equal(sockets[0].remoteAddr, payload.remoteAddr);
    });

    test('socket app state set in onConnection is visible to routes', async (t) => {

        const server = await H.server(t, { ...base, onConnection: { setApp: 'hello' } });
        const client = await H.connect(t, server);

        const res = await client.request('/app');
        Assert.deepEqual(res.payload, { app: 'hello' });
    });

    test('pipelined requests are each answered under their own id', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const paths = [];
        for (let i = 0; i < 30; ++i) {
            paths.push(i % 3 === 0 ? `/slow?ms=${30 - i}` : `/echo/${i}`);
        }

        const results = await Promise.all(paths.map((path) => client.request(path)));
        results.forEach((res, i) => {

            if (i % 3 === 0) {
                Assert.equal(res.payload, 'hello');
            }
            else {
                Assert.equal(res.payload.id, String(i));
            }
        });

        Assert.deepEqual(client.errors, []);
    });

    test('a route handler may publish to the socket that called it', async (t) => {

        const server = await H.server(t, { ...base, subscriptions: [{ path: '/items/{id}' }] });
        const client = await H.connect(t, server);

        const got = H.deferred();
        await client.subscribe('/items/5', (message, flags) => got.resolve({ message, flags }));
        const res = await client.request({ method: 'POST', path: '/publish', payload: { path: '/items/5', message: { from: 'route' } } });
        Assert.deepEqual(res.payload, { published: true });
        Assert.deepEqual(await H.within(got.promise, H.WAIT, 'the publication'), { message: { from: 'route' }, flags: {} });
    });
});


describe('request lifecycle', () => {

    test('a pending request fails with "Request failed - server disconnected" when the client disconnects', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server);

        const pending = client.request('/slow?ms=1000');
        client.disconnect();
        await Assert.rejects(pending, { message: 'Request failed - server disconnected', type: 'disconnect' });

        // The server survives the abandoned request
        const other = await H.connect(t, server);
        Assert.deepEqual((await other.request('/hello')).payload, { greeting: 'hi' });
    });

    test('a request that outlives the client timeout rejects and its late reply is absorbed', async (t) => {

        const server = await H.server(t, base);
        const client = await H.connect(t, server, { clientOptions: { timeout: 100 } });

        await Assert.rejects(client.request('/slow?ms=1500'), { message: 'Request timed out', type: 'timeout' });
        await client.tap.until((tap) => tap.received().some((f) => JSON.parse(f).id === 2), H.WAIT, 'the late reply');
        await H.sleep(20);
        Assert.deepEqual(client.errors, []);
        Assert.deepEqual((await client.request('/hello')).payload, { greeting: 'hi' });
    });

    test('a request fails with "Failed to send message" when not connected', async (t) => {

        const server = await H.server(t, base);
        const client = H.client(t, server);

        await Assert.rejects(client.request('/hello'), { message: 'Failed to send message - server disconnected', type: 'disconnect' });
    });
});
