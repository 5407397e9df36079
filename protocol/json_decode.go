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

	// owned is set when the raw values live in a buffer of their own (the
	// MessagePack decoder converts them to JSON): they are then kept as
	// they are instead of being copied out of the frame.
	owned bool
}

// keep returns raw for a message to retain: a copy unless f owns it.
func (f *fields) keep(raw []byte) []byte {
	if f.owned {
		return raw
	}
	return copyRaw(raw)
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

// DecodeClient implements [Codec.DecodeClient]; see [JSON] for the rules.
func (c jsonCodec) DecodeClient(frame []byte) (Message, error) {
	return c.DecodeClientInto(frame, nil)
}

// DecodeClientInto implements [ReusingDecoder].
func (jsonCodec) DecodeClientInto(frame []byte, req *Request) (Message, error) {
	frame = validUTF8(frame)
	var f fields
	if !parseFields(frame, &f) {
		return nil, cannotParse()
	}
	return decodeClientFields(&f, idFromJSON(f.id), req)
}

// decodeClientFields validates the members of a client message object, in
// nes's order (steps 2 to 5 of [JSON]); id is the decoded f.id. A request
// is decoded into req unless it is nil.
func decodeClientFields(f *fields, id ID, req *Request) (Message, error) {
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
		return decodeHello(f, id)
	case TypeReauth:
		auth, err := decodeAuth(f, id)
		if err != nil {
			return nil, err
		}
		return &Reauth{ID: id, Auth: auth}, nil
	case TypeRequest:
		return decodeRequest(f, id, req)
	case TypeSub:
		return decodeSub(f, id)
	case TypeUnsub:
		return decodeUnsub(f, id)
	case TypeMessage:
		return &Custom{ID: id, Message: f.keep(f.message)}, nil
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
