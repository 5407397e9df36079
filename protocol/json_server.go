package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// DecodeServer implements [Codec.DecodeServer]; see [JSON] for the rules.
func (jsonCodec) DecodeServer(frame []byte) (Message, error) {
	frame = validUTF8(frame)
	var f fields
	if !parseFields(frame, &f) {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	return decodeServerFields(&f, idFromJSON(f.id))
}

// decodeServerFields builds the server message of the members of a message
// object; id is the decoded f.id.
func decodeServerFields(f *fields, id ID) (Message, error) {
	if isNumber(f.statusCode) {
		code, ok := statusCode(f.statusCode)
		if !ok {
			return nil, fmt.Errorf("%w: bad statusCode", ErrMalformed)
		}
		if code >= 400 {
			return decodeErrorReply(f, code, id)
		}
	}
	if !isString(f.typ) {
		return nil, fmt.Errorf("%w: no type", ErrMalformed)
	}
	var (
		path string
		ok   = true
	)
	if f.path != nil {
		path, ok = optString(f.path)
	}
	if !ok {
		return nil, fmt.Errorf("%w: bad path", ErrMalformed)
	}
	t := unquote(f.typ)
	switch Type(t) {
	case TypeHello:
		r := &HelloReply{ID: id}
		if truthy(f.heartbeat) {
			hb, ok := heartbeat(f.heartbeat)
			if !ok {
				return nil, fmt.Errorf("%w: bad heartbeat", ErrMalformed)
			}
			r.Heartbeat = hb
		}
		if r.Socket, ok = optString(f.socket); !ok {
			return nil, fmt.Errorf("%w: bad socket", ErrMalformed)
		}
		return r, nil
	case TypeReauth:
		return &ReauthReply{ID: id}, nil
	case TypeRequest:
		r := &Response{ID: id, Payload: f.keep(f.payload)}
		if !isNumber(f.statusCode) {
			return nil, fmt.Errorf("%w: response without a numeric statusCode", ErrMalformed)
		}
		r.StatusCode, _ = statusCode(f.statusCode) // checked above
		h, err := anyMap(f.headers)
		if err != nil {
			return nil, err
		}
		r.Headers = h
		return r, nil
	case TypeSub:
		return &SubReply{ID: id, Path: path}, nil
	case TypeUnsub:
		return &UnsubReply{ID: id}, nil
	case TypeMessage:
		return &CustomReply{ID: id, Message: f.keep(f.message)}, nil
	case TypePing:
		return &Ping{ID: id}, nil
	case TypeUpdate:
		return &Update{Message: f.keep(f.message)}, nil
	case TypePub:
		return &Pub{Path: path, Message: f.keep(f.message)}, nil
	case TypeRevoke:
		return &Revoke{Path: path, Message: f.keep(f.message)}, nil
	}
	return &Unknown{ID: id, Type: t}, fmt.Errorf("%w: %q", ErrUnknownType, t)
}

func decodeErrorReply(f *fields, code int, id ID) (Message, error) {
	e := &ErrorReply{StatusCode: code, ID: id, Payload: f.keep(f.payload)}
	if isString(f.typ) {
		e.Type, e.HasType = unquote(f.typ), true
	}
	var ok bool
	if e.Path, ok = optString(f.path); !ok {
		return nil, fmt.Errorf("%w: bad path", ErrMalformed)
	}
	if len(f.payload) > 0 && f.payload[0] == '{' {
		it := newObjectIter(f.payload, 0, MaxDepth)
		for {
			key, val, ok := it.next()
			if !ok {
				break
			}
			switch {
			case keyIs(key, "error") && isString(val):
				e.Error = unquote(val)
			case keyIs(key, "message") && isString(val):
				e.Message = unquote(val)
			}
		}
	}
	h, err := anyMap(f.headers)
	if err != nil {
		return nil, err
	}
	e.Headers = h
	return e, nil
}

// optString decodes a raw value that must be a string when present: "" for
// absent or null.
func optString(raw []byte) (string, bool) {
	switch {
	case raw == nil || raw[0] == 'n':
		return "", true
	case raw[0] == '"':
		return unquote(raw), true
	}
	return "", false
}

// anyMap decodes a headers value: nil when absent or null, else it must be
// an object.
func anyMap(raw []byte) (map[string]any, error) {
	if raw == nil || raw[0] == 'n' {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, fmt.Errorf("%w: bad headers", ErrMalformed)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%w: bad headers: %v", ErrMalformed, err)
	}
	return h, nil
}

// statusCode decodes a raw JSON number as a status code; it must be finite
// and within ±1e9 (the fraction is dropped).
func statusCode(raw []byte) (int, bool) {
	if n, ok := canonicalInt(raw); ok {
		if n < -1e9 || n > 1e9 {
			return 0, false
		}
		return int(n), true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f < -1e9 || f > 1e9 {
		return 0, false
	}
	return int(f), true
}

// heartbeat decodes a heartbeat object {interval, timeout} of numbers of
// milliseconds.
func heartbeat(raw []byte) (*Heartbeat, bool) {
	if raw[0] != '{' {
		return nil, false
	}
	hb := &Heartbeat{}
	var seenI, seenT bool
	it := newObjectIter(raw, 0, MaxDepth)
	for {
		key, val, ok := it.next()
		if !ok {
			break
		}
		var dst *int64
		switch {
		case keyIs(key, "interval"):
			dst, seenI = &hb.Interval, true
		case keyIs(key, "timeout"):
			dst, seenT = &hb.Timeout, true
		default:
			continue
		}
		ms, ok := millis(val)
		if !ok {
			return nil, false
		}
		*dst = ms
	}
	return hb, seenI && seenT
}

// isNumber reports whether the raw JSON value is a number.
func isNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

// millis decodes a raw JSON number of milliseconds (at most 1e15).
func millis(raw []byte) (int64, bool) {
	if !isNumber(raw) {
		return 0, false
	}
	if n, ok := canonicalInt(raw); ok {
		return n, n >= -1e15 && n <= 1e15
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < -1e15 || f > 1e15 {
		return 0, false
	}
	return int64(f), true
}
