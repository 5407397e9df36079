package protocol

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// JSON returns the JSON codec, the one the official client speaks. Its name
// is "" (it is used when no subprotocol is negotiated) and its frames are
// text frames.
//
// Encoding writes the fields in the order nes and the official client do
// (PROTOCOL.md §2). A json.RawMessage (payload, message, auth) is checked to
// be exactly one valid JSON value in valid UTF-8 and embedded verbatim,
// surrounding whitespace trimmed; anything else fails with [ErrInvalidJSON]
// instead of producing a broken frame. A nil RawMessage is written as null
// where the field is required and left out where it is optional. Strings
// are escaped as JSON requires, invalid UTF-8 becoming U+FFFD.
//
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
//  5. the fields of the type, as below; DecodeError.Field names the field.
//
// The fields are checked in nes's order:
//
//   - hello: version must be the string "2" (400 "Incorrect protocol version
//     (expected 2 but received X)", X printed as nes does). A falsy auth
//     counts as none; an object auth with a truthy "headers" needs an object
//     of strings there (400 "Invalid authentication headers"). A falsy subs
//     counts as none, otherwise it must be an array (400 "Invalid
//     subscriptions") of strings (400 "Invalid subscription path") without a
//     query (400 "Subscription path cannot contain query") and beginning with
//     "/" (400 "Invalid subscription path"); a failing string entry is echoed
//     in the reply's Path, so that the official client drops it.
//   - reauth: auth as in hello.
//   - request: method, then path, must be non-empty strings (400 "Message
//     missing method" / "Message missing path" when falsy, "Invalid message
//     method" / "Invalid message path" for another type). A falsy headers
//     counts as none, otherwise it must be an object of strings (400
//     "Invalid message headers") with no Authorization header in any case
//     and whatever its value (400 "Cannot include an Authorization header").
//   - sub: path must be a non-empty string (400 "Message missing path" when
//     falsy, "Invalid subscription path" for another type) without a query
//     (400 "Subscription path cannot contain query") and beginning with "/"
//     (400 "Invalid subscription path").
//   - unsub: a falsy or missing path gives an Unsub with an empty Path (nes
//     answers it with success, and so should the server); a truthy
//     non-string path is 400 "Invalid subscription path".
//   - message, ping: anything goes.
//
// Every error is a *DecodeError with status 400 carrying the reply to send.
// Unknown members are ignored; a repeated member counts with its last
// value. Raw values (payload, message, auth) are copied: the result does not
// retain frame. Strings in binary frames that are not valid UTF-8 are read
// with U+FFFD replacements, as nes does.
//
// DecodeServer decodes a server frame (one whole message; reassemble chunks
// first) into *HelloReply, *ReauthReply, *Response, *SubReply, *UnsubReply,
// *CustomReply, *Ping, *Update, *Pub, *Revoke or *ErrorReply.
//
// As the official client does, any frame whose statusCode is a number of at
// least 400 is an *ErrorReply whatever its type, including a route's error
// answering a request (see [ErrorReply]); a *Response therefore always has a
// status below 400. Error and Message are taken from the payload when it is
// an object; Payload keeps it whole.
//
// The decoder is lenient where the official client is: ids are optional,
// and so are socket, path and the messages (nil when absent). A heartbeat of
// false, null or absent gives a nil Heartbeat. Fields of the wrong JSON type
// give an error wrapping [ErrMalformed]. A frame of unknown type gives an
// *Unknown (so that the request with that id can be failed) together with
// an error wrapping [ErrUnknownType].
func JSON() Codec { return jsonCodec{} }

type jsonCodec struct{}

// Name returns "": the JSON codec needs no subprotocol.
func (jsonCodec) Name() string { return "" }

// Binary returns false: the official client needs text frames.
func (jsonCodec) Binary() bool { return false }

// AppendEncode appends the JSON frame of m to dst. On error dst is returned
// unchanged.
func (jsonCodec) AppendEncode(dst []byte, m Message) ([]byte, error) {
	start := len(dst)
	out, err := appendMessage(dst, m)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

func appendMessage(b []byte, m Message) ([]byte, error) {
	if isNil(m) {
		return b, fmt.Errorf("%w: nil %T", ErrUnsupported, m)
	}
	var err error
	switch m := m.(type) {
	// client to server
	case *Hello:
		b = append(b, `{"type":"hello","version":`...)
		v := m.Version
		if v == "" {
			v = Version
		}
		b = appendString(b, v)
		if m.Auth != nil {
			b = append(b, `,"auth":`...)
			if b, err = appendAuth(b, m.Auth); err != nil {
				return b, err
			}
		}
		if m.Subs != nil {
			b = append(b, `,"subs":[`...)
			for i, s := range m.Subs {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, s)
			}
			b = append(b, ']')
		}
		b = appendIDField(b, m.ID)
	case *Reauth:
		b = append(b, `{"type":"reauth"`...)
		if m.Auth != nil {
			b = append(b, `,"auth":`...)
			if b, err = appendAuth(b, m.Auth); err != nil {
				return b, err
			}
		}
		b = appendIDField(b, m.ID)
	case *Request:
		b = append(b, `{"type":"request","method":`...)
		b = appendString(b, m.Method)
		b = append(b, `,"path":`...)
		b = appendString(b, m.Path)
		if m.Headers != nil {
			b = append(b, `,"headers":{`...)
			for i, k := range slices.Sorted(maps.Keys(m.Headers)) {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, k)
				b = append(b, ':')
				b = appendString(b, m.Headers[k])
			}
			b = append(b, '}')
		}
		if m.Payload != nil {
			b = append(b, `,"payload":`...)
			if b, err = appendRaw(b, m.Payload); err != nil {
				return b, err
			}
		}
		b = appendIDField(b, m.ID)
	case *Sub:
		b = append(b, `{"type":"sub","path":`...)
		b = appendString(b, m.Path)
		b = appendIDField(b, m.ID)
	case *Unsub:
		b = append(b, `{"type":"unsub"`...)
		if m.Path != "" {
			b = append(b, `,"path":`...)
			b = appendString(b, m.Path)
		}
		b = appendIDField(b, m.ID)
	case *Custom:
		b = append(b, `{"type":"message"`...)
		if m.Message != nil {
			b = append(b, `,"message":`...)
			if b, err = appendRaw(b, m.Message); err != nil {
				return b, err
			}
		}
		b = appendIDField(b, m.ID)
	case *Ping: // both directions: the server's has no id
		b = append(b, `{"type":"ping"`...)
		b = appendIDField(b, m.ID)

	// server to client
	case *HelloReply:
		b = append(b, `{"type":"hello"`...)
		b = appendIDField(b, m.ID)
		b = append(b, `,"heartbeat":`...)
		if m.Heartbeat == nil {
			b = append(b, "false"...)
		} else {
			b = append(b, `{"interval":`...)
			b = strconv.AppendInt(b, m.Heartbeat.Interval, 10)
			b = append(b, `,"timeout":`...)
			b = strconv.AppendInt(b, m.Heartbeat.Timeout, 10)
			b = append(b, '}')
		}
		b = append(b, `,"socket":`...)
		b = appendString(b, m.Socket)
	case *ReauthReply:
		b = append(b, `{"type":"reauth"`...)
		b = appendIDField(b, m.ID)
	case *Response:
		b = append(b, `{"type":"request"`...)
		b = appendIDField(b, m.ID)
		b = append(b, `,"statusCode":`...)
		b = strconv.AppendInt(b, int64(m.StatusCode), 10)
		b = append(b, `,"payload":`...)
		if b, err = appendRaw(b, m.Payload); err != nil {
			return b, err
		}
		if m.Headers != nil {
			b = append(b, `,"headers":`...)
			if b, err = appendHeaders(b, m.Headers); err != nil {
				return b, err
			}
		}
	case *SubReply:
		b = append(b, `{"type":"sub"`...)
		b = appendIDField(b, m.ID)
		b = append(b, `,"path":`...)
		b = appendString(b, m.Path)
	case *UnsubReply:
		b = append(b, `{"type":"unsub"`...)
		b = appendIDField(b, m.ID)
	case *CustomReply:
		b = append(b, `{"type":"message"`...)
		b = appendIDField(b, m.ID)
		if m.Message != nil {
			b = append(b, `,"message":`...)
			if b, err = appendRaw(b, m.Message); err != nil {
				return b, err
			}
		}
	case *Update:
		b = append(b, `{"type":"update","message":`...)
		if b, err = appendRaw(b, m.Message); err != nil {
			return b, err
		}
	case *Pub:
		b = append(b, `{"type":"pub","path":`...)
		b = appendString(b, m.Path)
		b = append(b, `,"message":`...)
		if b, err = appendRaw(b, m.Message); err != nil {
			return b, err
		}
	case *Revoke:
		b = append(b, `{"type":"revoke","path":`...)
		b = appendString(b, m.Path)
		if m.Message != nil {
			b = append(b, `,"message":`...)
			if b, err = appendRaw(b, m.Message); err != nil {
				return b, err
			}
		}
	case *ErrorReply:
		return appendErrorReply(b, m)
	case *Unknown:
		b = append(b, `{"type":`...)
		b = appendString(b, m.Type)
		b = appendIDField(b, m.ID)
	default:
		return b, fmt.Errorf("%w: %T", ErrUnsupported, m)
	}
	return append(b, '}'), nil
}

// isNil reports whether m is a nil pointer to one of the message types.
func isNil(m Message) bool {
	switch m := m.(type) {
	case *Hello:
		return m == nil
	case *Reauth:
		return m == nil
	case *Request:
		return m == nil
	case *Sub:
		return m == nil
	case *Unsub:
		return m == nil
	case *Custom:
		return m == nil
	case *Ping:
		return m == nil
	case *HelloReply:
		return m == nil
	case *ReauthReply:
		return m == nil
	case *Response:
		return m == nil
	case *SubReply:
		return m == nil
	case *UnsubReply:
		return m == nil
	case *CustomReply:
		return m == nil
	case *Update:
		return m == nil
	case *Pub:
		return m == nil
	case *Revoke:
		return m == nil
	case *ErrorReply:
		return m == nil
	case *Unknown:
		return m == nil
	}
	return false
}

func appendErrorReply(b []byte, e *ErrorReply) ([]byte, error) {
	var err error
	b = append(b, `{"statusCode":`...)
	b = strconv.AppendInt(b, int64(e.StatusCode), 10)
	b = append(b, `,"payload":`...)
	if e.Payload != nil {
		if b, err = appendRaw(b, e.Payload); err != nil {
			return b, err
		}
	} else {
		b = append(b, `{"error":`...)
		errText := e.Error
		if errText == "" {
			errText = ReasonPhrase(e.StatusCode)
		}
		b = appendString(b, errText)
		if e.Message != "" {
			b = append(b, `,"message":`...)
			b = appendString(b, e.Message)
		}
		b = append(b, '}')
	}
	if e.Headers != nil {
		b = append(b, `,"headers":`...)
		if b, err = appendHeaders(b, e.Headers); err != nil {
			return b, err
		}
	}
	if e.HasType || e.Type != "" {
		b = append(b, `,"type":`...)
		b = appendString(b, e.Type)
	}
	b = appendIDField(b, e.ID)
	if e.Path != "" {
		b = append(b, `,"path":`...)
		b = appendString(b, e.Path)
	}
	return append(b, '}'), nil
}

// appendIDField appends `,"id":<id>` unless id is zero.
func appendIDField(b []byte, id ID) []byte {
	if id.IsZero() {
		return b
	}
	b = append(b, `,"id":`...)
	return id.appendJSON(b)
}

// appendAuth appends an auth value: Raw when set, else {"headers":{...}}
// when Headers is set, else the Token string.
func appendAuth(b []byte, a *Auth) ([]byte, error) {
	switch {
	case a.Raw != nil:
		return appendRaw(b, a.Raw)
	case a.Headers != nil:
		b = append(b, `{"headers":{`...)
		for i, k := range slices.Sorted(maps.Keys(a.Headers)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, a.Headers[k])
		}
		return append(b, "}}"...), nil
	}
	return appendString(b, a.Token), nil
}

// appendRaw appends a raw JSON value after checking it; nil appends null.
func appendRaw(b []byte, raw json.RawMessage) ([]byte, error) {
	if raw == nil {
		return append(b, "null"...), nil
	}
	v, ok := validJSON(raw)
	if !ok {
		return b, ErrInvalidJSON
	}
	return append(b, v...), nil
}

// appendHeaders appends a headers object, keys sorted. Strings are written
// directly, other values with encoding/json.
func appendHeaders(b []byte, h map[string]any) ([]byte, error) {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(h)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		switch v := h[k].(type) {
		case string:
			b = appendString(b, v)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				return b, fmt.Errorf("protocol: header %q: %w", k, err)
			}
			b = append(b, j...)
		}
	}
	return append(b, '}'), nil
}

// escapeByte marks the bytes appendString cannot copy as they are.
var escapeByte = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Control characters, quote and
// backslash are escaped; invalid UTF-8 becomes \ufffd; everything else
// (including U+2028 and U+2029, which JSON allows) is copied as is.
func appendString(b []byte, s string) []byte { return appendQuoted(b, s, `\ufffd`) }

// appendQuoted appends s as a JSON string, writing invalid for each byte
// that is not part of a valid UTF-8 sequence.
func appendQuoted[T string | []byte](b []byte, s T, invalid string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if !escapeByte[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			end := min(i+utf8.UTFMax, len(s))
			r, size := utf8.DecodeRuneInString(string(s[i:end])) // a small, non-escaping conversion
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, invalid...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
