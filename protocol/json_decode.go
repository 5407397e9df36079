package protocol

import (
	"unicode/utf8"
)

// fields holds the raw values (no surrounding whitespace) of the members of
// a message object the decoders look at; nil means absent. A repeated key
// keeps its last value, as with JSON.parse.
type fields struct {
	typ, id               []byte
	version, auth, subs   []byte // hello, reauth
	method, path, headers []byte // request, sub, unsub, pub, revoke, replies
	payload, message      []byte
	statusCode            []byte // replies
	heartbeat, socket     []byte // hello reply
}

// set records the member key (a raw JSON string) with value val.
func (f *fields) set(key, val []byte) {
	k := key[1 : len(key)-1]
	for _, c := range k {
		if c == '\\' {
			k = []byte(unquote(key))
			break
		}
	}
	switch string(k) {
	case "type":
		f.typ = val
	case "id":
		f.id = val
	case "version":
		f.version = val
	case "auth":
		f.auth = val
	case "subs":
		f.subs = val
	case "method":
		f.method = val
	case "path":
		f.path = val
	case "headers":
		f.headers = val
	case "payload":
		f.payload = val
	case "message":
		f.message = val
	case "statusCode":
		f.statusCode = val
	case "heartbeat":
		f.heartbeat = val
	case "socket":
		f.socket = val
	}
}

// parseFields parses frame as one JSON object (nested at most MaxDepth
// levels) and records its members. It fails for anything else, including
// valid JSON that is not an object.
func parseFields(frame []byte, f *fields) bool {
	i := skipWS(frame, 0)
	if i >= len(frame) || frame[i] != '{' {
		return false
	}
	it := newObjectIter(frame, i, MaxDepth-1)
	for {
		key, val, ok := it.next()
		if !ok {
			break
		}
		f.set(key, val)
	}
	return !it.bad && skipWS(frame, it.i) == len(frame)
}

// validUTF8 returns frame, or a copy of it with every byte that is not part
// of a valid UTF-8 sequence replaced by U+FFFD (what JSON.parse sees when nes
// turns a binary frame into a string).
func validUTF8(frame []byte) []byte {
	if utf8.Valid(frame) {
		return frame
	}
	out := make([]byte, 0, len(frame)+16)
	for i := 0; i < len(frame); {
		r, size := utf8.DecodeRune(frame[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, frame[i:i+size]...)
		}
		i += size
	}
	return out
}

// cannotParse is the DecodeError of an unparseable frame: no type, no id.
func cannotParse() *DecodeError {
	return &DecodeError{Reply: &ErrorReply{StatusCode: 400, Error: "Bad Request", Message: msgCannotParse}}
}

// DecodeClient decodes a client frame (text or binary) and validates it as
// nes does, in nes's order:
//
//  1. not JSON, not an object, or nested deeper than [MaxDepth]:
//     400 "Cannot parse message" with neither type nor id;
//  2. missing, falsy or non-string type: 400 "Cannot parse message" echoing
//     the id if any (and the type if it is a string);
//  3. id not a non-zero number or non-empty string (see [ID.Valid]):
//     400 "Message missing id" echoing type and id;
//  4. a type nes does not know: an *Unknown and a nil error (see [Unknown]);
//  5. the fields of the type (DecodeError.Field names the field):
//     - hello: version must be the string "2" (400 "Incorrect protocol
//     version (expected 2 but received X)", X as nes prints it); a falsy auth
//     counts as none, an object auth with "headers" needs an object of
//     strings (400 "Invalid authentication headers"); a falsy subs counts as
//     none, otherwise it must be an array (400 "Invalid subscriptions") of
//     strings beginning with "/" (400 "Invalid subscription path") without
//     a query (400 "Subscription path cannot contain query"); a string entry
//     that fails is echoed in the reply's Path, so the official client drops it;
//     - reauth: auth as in hello;
//     - request: method and path must be non-empty strings (400 "Message
//     missing method" / "Message missing path" when falsy, "Invalid message
//     method" / "Invalid message path" when of another type); a falsy headers
//     counts as none, otherwise it must be an object of strings (400 "Invalid
//     message headers") without an Authorization header in any case (400
//     "Cannot include an Authorization header", whatever its value);
//     - sub: path must be a non-empty string (400 "Message missing path" when
//     falsy) beginning with "/" (400 "Invalid subscription path") without a
//     query (400 "Subscription path cannot contain query");
//     - unsub: a falsy or missing path gives an Unsub with an empty Path (nes
//     answers it with success and so should the server); a truthy
//     non-string path is 400 "Invalid subscription path";
//     - message, ping: anything goes.
//
// Every error is a *DecodeError with status 400 carrying the reply to send.
// Unknown members are ignored; a repeated member counts with its last
// value. Raw values (payload, message, auth) are copied: the result does not
// retain frame. Strings in binary frames that are not valid UTF-8 are read
// with U+FFFD replacements, as nes does.
func (jsonCodec) DecodeClient(frame []byte) (Message, error) {
	frame = validUTF8(frame)
	var f fields
	if !parseFields(frame, &f) {
		return nil, cannotParse()
	}
	id := idFromJSON(f.id)
	if len(f.typ) < 3 || f.typ[0] != '"' { // missing, falsy ("") or not a string
		return nil, decodeError("", msgCannotParse, f.typ, id)
	}
	if !id.Valid() {
		return nil, decodeError("", msgMissingID, f.typ, id)
	}
	t := f.typ[1 : len(f.typ)-1]
	for _, c := range t {
		if c == '\\' {
			t = []byte(unquote(f.typ))
			break
		}
	}
	switch Type(t) {
	case TypeHello:
		return decodeHello(&f, id)
	case TypeReauth:
		auth, err := decodeAuth(&f, id)
		if err != nil {
			return nil, err
		}
		return &Reauth{ID: id, Auth: auth}, nil
	case TypeRequest:
		return decodeRequest(&f, id)
	case TypeSub:
		return decodeSub(&f, id)
	case TypeUnsub:
		return decodeUnsub(&f, id)
	case TypeMessage:
		return &Custom{ID: id, Message: copyRaw(f.message)}, nil
	case TypePing:
		return &Ping{ID: id}, nil
	}
	return &Unknown{ID: id, Type: string(t)}, nil
}

// copyRaw returns a copy of a raw value, nil when absent.
func copyRaw(raw []byte) []byte {
	if raw == nil {
		return nil
	}
	return append([]byte(nil), raw...)
}
