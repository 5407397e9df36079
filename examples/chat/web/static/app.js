'use strict';

// The chat page. It talks to the Go server with the official nes client
// (window.nes, loaded from /vendor/nes-client.js):
//   - history: GET /rooms/{room}/messages (plain fetch);
//   - live messages: client.subscribe('/rooms/' + room, handler);
//   - sending: client.request({ method: 'POST', path, payload: { text } }) over the socket.
// Messages are kept sorted by time and de-duplicated, so a message that
// arrives both in the history and live (or as a reply and a publication) is
// shown once.

(function () {

    const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;
    const MAX_CHARS = 2000;

    const $ = (id) => document.getElementById(id);
    const ui = {
        status: $('status'),
        roomForm: $('room-form'),
        roomInput: $('room'),
        roomTitle: $('room-title'),
        notice: $('notice'),
        messages: $('messages'),
        empty: $('empty'),
        sendForm: $('send-form'),
        text: $('text'),
        send: $('send'),
        count: $('count'),
        socketId: $('socket-id')
    };

    let room = null;          // the room shown
    let shown = new Map();    // message key -> <li>, for the room shown
    const mine = new Set();   // keys of messages this tab sent

    const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
    const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

    // ---- status and notices ----

    const setStatus = (state, label) => {

        ui.status.dataset.state = state;
        ui.status.textContent = label || state;
    };

    let noticeTimer = null;
    const notify = (text, kind) => {

        clearTimeout(noticeTimer);
        ui.notice.textContent = text;
        ui.notice.dataset.kind = kind || 'error';
        ui.notice.hidden = false;
        if (kind !== 'fatal') {
            noticeTimer = setTimeout(() => {

                ui.notice.hidden = true;
            }, 6000);
        }
    };

    const describe = (err) => {

        if (err && err.statusCode) {
            return err.message + ' (' + err.statusCode + ')';
        }

        return (err && err.message) || String(err);
    };

    // ---- messages ----

    const keyOf = (m) => m.at + '\u0000' + m.from + '\u0000' + m.text;

    const render = (m, key) => {

        const li = document.createElement('li');
        li.className = 'msg' + (mine.has(key) ? ' mine' : '');
        li.dataset.time = String(Date.parse(m.at));

        const avatar = document.createElement('div');
        avatar.className = 'avatar';
        avatar.textContent = (m.from || '?').charAt(0).toUpperCase();
        avatar.setAttribute('aria-hidden', 'true');

        const body = document.createElement('div');
        body.className = 'body';

        const meta = document.createElement('div');
        meta.className = 'meta';
        const from = document.createElement('span');
        from.className = 'from';
        from.textContent = m.from;
        const time = document.createElement('time');
        const at = new Date(m.at);
        time.dateTime = m.at;
        time.textContent = timeFormat.format(at);
        time.title = dateFormat.format(at);
        meta.append(from, time);

        const text = document.createElement('p');
        text.className = 'text';
        text.textContent = m.text;           // never innerHTML: the text is user input

        body.append(meta, text);
        li.append(avatar, body);
        return li;
    };

    // add shows m if it belongs to the room shown and is not shown yet,
    // keeping the list sorted by time.
    const add = (m) => {

        if (!m || m.room !== room) {
            return;
        }

        const key = keyOf(m);
        if (shown.has(key)) {
            return;
        }

        const li = render(m, key);
        shown.set(key, li);

        const list = ui.messages;
        const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
        const time = Number(li.dataset.time);
        let after = list.lastElementChild;
        while (after && Number(after.dataset.time) > time) {
            after = after.previousElementSibling;
        }

        if (after) {
            after.after(li);
        }
        else {
            list.prepend(li);
        }

        ui.empty.hidden = true;
        if (stick || mine.has(key)) {
            list.scrollTop = list.scrollHeight;
        }
    };

    const onPublication = (message, flags) => {

        if (flags && flags.revoked) {
            notify('The server closed the subscription to #' + room + '.');
            return;
        }

        add(message);
    };

    const loadHistory = async () => {

        const forRoom = room;
        try {
            const res = await fetch('/rooms/' + encodeURIComponent(forRoom) + '/messages', { cache: 'no-store' });
            const body = await res.json();
            if (!res.ok) {
                throw new Error(body.message || res.statusText);
            }

            body.forEach(add);
        }
        catch (err) {
            notify('Could not load the history of #' + forRoom + ': ' + describe(err));
        }
    };

    // ---- rooms ----

    const join = async (name) => {

        if (!ROOM_RE.test(name)) {
            notify('Room names are 1 to 64 letters, digits, "_" or "-".');
            ui.roomInput.value = room || 'lobby';
            return;
        }

        if (name === room) {
            return;
        }

        const previous = room;
        room = name;
        shown = new Map();
        ui.messages.replaceChildren();
        ui.empty.hidden = false;
        ui.roomInput.value = name;
        ui.roomTitle.textContent = '#' + name;
        document.title = '#' + name + ' · nes chat';
        if (location.hash !== '#' + name) {
            history.replaceState(null, '', '#' + name);
        }

        if (previous) {
            client.unsubscribe('/rooms/' + previous, onPublication).catch(() => {});
        }

        // While disconnected, subscribe() only records the path: the client
        // sends it in its next hello, so the subscription survives reconnects.
        try {
            await client.subscribe('/rooms/' + name, onPublication);
        }
        catch (err) {
            notify('Could not subscribe to #' + name + ': ' + describe(err));
        }

        await loadHistory();
    };

    // ---- sending ----

    const updateCount = () => {

        const n = ui.text.value.trim().length;
        ui.count.textContent = n > MAX_CHARS - 200 ? n + ' / ' + MAX_CHARS : '';
        ui.count.classList.toggle('over', n > MAX_CHARS);
    };

    const send = async () => {

        const text = ui.text.value.trim();
        if (!text) {
            return;
        }

        ui.send.disabled = true;
        try {
            const res = await client.request({
                method: 'POST',
                path: '/rooms/' + encodeURIComponent(room) + '/messages',
                payload: { text }
            });
            const key = keyOf(res.payload);
            mine.add(key);
            const li = shown.get(key);       // the publication may have come first
            if (li) {
                li.classList.add('mine');
            }

            add(res.payload);
            ui.text.value = '';
            updateCount();
        }
        catch (err) {
            notify('Message not sent: ' + describe(err));
        }
        finally {
            ui.send.disabled = false;
            ui.text.focus();
        }
    };

    // ---- wiring ----

    if (!window.nes || !window.nes.Client) {
        setStatus('unavailable', 'client missing');
        notify('The official nes browser client (/vendor/nes-client.js) did not load. ' +
            'Install it with "npm ci --prefix examples/chat/web" (or run ./scripts/demo.sh), then reload.', 'fatal');
        ui.send.disabled = true;
        return;
    }

    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const client = new window.nes.Client(scheme + location.host + '/nes');

    client.onConnect = () => {

        setStatus('connected');
        ui.socketId.textContent = client.id ? 'Socket ' + client.id + '.' : '';
        if (room) {
            loadHistory();                  // catch up on what was said while away
        }
    };

    client.onDisconnect = (willReconnect) => {

        setStatus(willReconnect ? 'reconnecting' : 'disconnected', willReconnect ? 'reconnecting…' : 'disconnected');
        ui.socketId.textContent = '';
    };

    client.onError = (err) => {

        console.warn('nes client:', err.message);
    };

    ui.roomForm.addEventListener('submit', (event) => {

        event.preventDefault();
        join(ui.roomInput.value.trim());
    });

    const roomFromHash = () => {

        try {
            return decodeURIComponent(location.hash.slice(1));
        }
        catch {
            return '';
        }
    };

    window.addEventListener('hashchange', () => {

        join(roomFromHash() || 'lobby');
    });

    ui.sendForm.addEventListener('submit', (event) => {

        event.preventDefault();
        send();
    });

    ui.text.addEventListener('keydown', (event) => {

        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            ui.sendForm.requestSubmit();
        }
    });

    ui.text.addEventListener('input', updateCount);

    const initial = roomFromHash();
    join(ROOM_RE.test(initial) ? initial : 'lobby');

    // The client reconnects by itself after a lost connection, and keeps
    // trying in the background even when this first attempt fails.
    client.connect({ delay: 1000, maxDelay: 5000 }).catch((err) => {

        setStatus('reconnecting', 'reconnecting…');
        console.warn('nes connect:', err.message);
    });
})();
