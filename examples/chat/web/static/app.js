'use strict';

// The chat page. It talks to the Go server with the official nes client
// (window.nes, loaded from /vendor/nes-client.js):
//   - history: GET /rooms/{room}/messages (plain fetch);
//   - live messages: client.subscribe('/rooms/' + room, handler);
//   - sending: client.request({ method: 'POST', path, payload: { text } }) over the socket;
//   - logging in with the server's nes authentication flow (GET /config says which):
//       cookie: GET /nes/auth with Basic credentials sets an HttpOnly cookie, then the
//               client reconnects so that the websocket upgrade carries it;
//       token:  GET /nes/auth answers a token, passed as connect({ auth: token }), or
//               client.reauthenticate(token) when already connected;
//       direct: the Basic header goes in the hello: connect({ auth: { headers } }).
// Anyone may read; posting needs a user. GET /me over the socket tells who the
// socket is authenticated as (the page cannot read the HttpOnly cookie).
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
        socketId: $('socket-id'),
        loginForm: $('login-form'),
        user: $('user'),
        password: $('password'),
        login: $('login'),
        who: $('who'),
        whoName: $('who-name'),
        whoFlow: $('who-flow'),
        logout: $('logout'),
        flow: $('flow')
    };

    let flow = null;          // the server's authentication flow: 'cookie', 'token' or 'direct'
    let user = null;          // who the socket is authenticated as, null when anonymous
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
            updateComposer();
            ui.text.focus();
        }
    };

    // ---- authentication ----

    // Posting needs a user: the composer is disabled while anonymous.
    const updateComposer = () => {

        ui.text.disabled = !user;
        ui.send.disabled = !user;
        ui.text.placeholder = user ?
            'Write a message… (Enter to send, Shift+Enter for a new line)' :
            'Log in to post. Reading is open to everyone.';
    };

    const setUser = (name) => {

        user = name || null;
        ui.who.hidden = !user;
        ui.loginForm.hidden = !!user;
        ui.whoName.textContent = user || '';
        ui.whoFlow.textContent = flow ? '(' + flow + ' flow)' : '';
        updateComposer();
    };

    // refreshUser asks the server who this socket is (GET /me over the socket).
    const refreshUser = async () => {

        try {
            const res = await client.request('/me');
            setUser(res.payload && res.payload.user);
        }
        catch (err) {
            setUser(null);
            console.warn('GET /me:', err.message);
        }
    };

    // The value of an Authorization header for HTTP Basic (UTF-8 safe).
    const basicAuth = (name, pass) => {

        let binary = '';
        for (const byte of new TextEncoder().encode(name + ':' + pass)) {
            binary += String.fromCharCode(byte);
        }

        return 'Basic ' + btoa(binary);
    };

    // An error of the hello (or of a reauth) refusing the credentials.
    const isAuthFailure = (err) => !!err && err.type === 'server' && err.statusCode === 401;

    // connectWith (re)opens the socket with hello.auth = authValue (none when
    // null) and resolves to the connection error, or null. The client keeps
    // the auth for its own reconnections, and keeps reconnecting after
    // network errors, but not after a refused hello.
    const connectWith = async (authValue) => {

        await client.disconnect();          // connect() refuses to run on an open client
        setUser(null);
        setStatus('connecting', 'connecting…');
        const options = { delay: 1000, maxDelay: 5000 };
        if (authValue) {
            options.auth = authValue;
        }

        try {
            await client.connect(options);
            return null;
        }
        catch (err) {
            if (!isAuthFailure(err)) {
                setStatus('reconnecting', 'reconnecting…');
                console.warn('nes connect:', err.message);
            }

            return err;
        }
    };

    // sessionLost handles a refused hello on (re)connection: an expired
    // token, a cookie sealed before the server restarted with new keys…
    // The page falls back to reading anonymously.
    let recovering = false;
    const sessionLost = async (err) => {

        if (recovering) {
            return;
        }

        recovering = true;
        try {
            notify('Your session ended (' + err.message + '). You can keep reading; log in again to post.');
            if (flow === 'cookie') {
                await clearCookie();        // else every upgrade would carry the refused cookie
            }

            await connectWith(null);
        }
        finally {
            recovering = false;
        }
    };

    // The nes cookie is HttpOnly: only the server can clear it.
    const clearCookie = async () => {

        try {
            await fetch('/logout', { method: 'POST', credentials: 'same-origin' });
        }
        catch (err) {
            console.warn('POST /logout:', err.message);
        }
    };

    // fetchAuthEndpoint calls the cookie or token endpoint with Basic
    // credentials and returns its JSON body, or throws its error message.
    const fetchAuthEndpoint = async (authorization) => {

        const res = await fetch('/nes/auth', {
            headers: { Authorization: authorization },
            credentials: 'same-origin',
            cache: 'no-store'
        });
        const body = await res.json().catch(() => ({}));
        if (!res.ok) {
            throw new Error(body.message || res.statusText);
        }

        return body;
    };

    const login = async (name, pass) => {

        const authorization = basicAuth(name, pass);
        if (flow === 'direct') {
            const err = await connectWith({ headers: { authorization } });
            if (isAuthFailure(err)) {
                notify('Login failed: ' + err.message);
                await connectWith(null);
            }

            return;
        }

        let body;
        try {
            body = await fetchAuthEndpoint(authorization);
        }
        catch (err) {
            notify('Login failed: ' + err.message);
            return;
        }

        if (flow === 'cookie') {
            // The cookie is sent with the websocket upgrade, so reconnect.
            const err = await connectWith(null);
            if (isAuthFailure(err)) {
                await sessionLost(err);
            }

            return;
        }

        // Token flow.
        if (client.id) {                    // connected: swap the credentials in place
            try {
                await client.reauthenticate(body.token);
                await refreshUser();
            }
            catch (err) {
                notify('Login failed: ' + describe(err));
            }

            return;
        }

        const err = await connectWith(body.token);
        if (isAuthFailure(err)) {
            await sessionLost(err);
        }
    };

    const logout = async () => {

        if (flow === 'cookie') {
            await clearCookie();
        }

        await connectWith(null);            // also drops the token or headers kept for reconnections
    };

    const loadFlow = async () => {

        try {
            const res = await fetch('/config', { cache: 'no-store' });
            const body = await res.json();
            return body.auth;
        }
        catch (err) {
            notify('Could not load /config: ' + describe(err));
            return 'cookie';
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
        refreshUser();
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
        if (isAuthFailure(err)) {           // a reconnection's hello was refused
            sessionLost(err);
        }
    };

    ui.loginForm.addEventListener('submit', async (event) => {

        event.preventDefault();
        const name = ui.user.value.trim();
        if (!name || name.includes(':')) {
            notify('User names are 1 to 32 characters, without a colon.');
            return;
        }

        ui.login.disabled = true;
        ui.notice.hidden = true;            // an earlier failure no longer applies
        try {
            await login(name, ui.password.value);
            ui.password.value = '';
        }
        finally {
            ui.login.disabled = false;
        }
    });

    ui.logout.addEventListener('click', async () => {

        ui.logout.disabled = true;
        try {
            await logout();
        }
        finally {
            ui.logout.disabled = false;
        }
    });

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
    updateComposer();

    // The client reconnects by itself after a lost connection, and keeps
    // trying in the background even when this first attempt fails. In the
    // cookie flow a cookie from an earlier visit authenticates this socket.
    (async () => {

        flow = await loadFlow();
        ui.flow.textContent = flow + ' flow';
        const err = await connectWith(null);
        if (isAuthFailure(err)) {
            await sessionLost(err);
        }
    })();
})();
