'use strict';

// Expected server frames, built in the key order nes serialises them
// (PROTOCOL.md §1.4 and §2). JSON.stringify drops undefined members, as nes's
// does, so absent type/id/path keys are simply left out.


// A protocol error reply: {statusCode, payload:{error, message}, [type], [id], [path]}.
exports.error = function (statusCode, error, message, { type, id, path } = {}) {

    return JSON.stringify({ statusCode, payload: { error, message }, type, id, path });
};


exports.badRequest = (message, meta) => exports.error(400, 'Bad Request', message, meta);

exports.cannotParse = (meta) => exports.badRequest('Cannot parse message', meta);

exports.sub = (id, path) => JSON.stringify({ type: 'sub', id, path });

exports.unsub = (id) => JSON.stringify({ type: 'unsub', id });

exports.pub = (path, message) => JSON.stringify({ type: 'pub', path, message });

exports.revoke = (path, message) => JSON.stringify({ type: 'revoke', path, message });

exports.update = (message) => JSON.stringify({ type: 'update', message });

exports.response = (id, statusCode, payload, headers) => JSON.stringify({ type: 'request', id, statusCode, payload, headers });

exports.message = (id, message) => JSON.stringify({ type: 'message', id, message });

exports.ping = '{"type":"ping"}';


// A hello reply; the socket id is unknown in advance, so this returns a
// RegExp matching the exact frame with any JSON string as socket id.
exports.helloPattern = function (id, heartbeat) {

    const head = JSON.stringify({ type: 'hello', id, heartbeat });
    const escaped = head.slice(0, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp('^' + escaped + ',"socket":"(?:[^"\\\\]|\\\\.)+"}$');
};
