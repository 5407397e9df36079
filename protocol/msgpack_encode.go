package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MessagePack type bytes.
const (
	mpNil     = 0xc0
	mpFalse   = 0xc2
	mpTrue    = 0xc3
	mpBin8    = 0xc4
	mpBin16   = 0xc5
	mpBin32   = 0xc6
	mpExt8    = 0xc7
	mpExt16   = 0xc8
	mpExt32   = 0xc9
	mpFloat32 = 0xca
	mpFloat64 = 0xcb
	mpUint8   = 0xcc
	mpUint16  = 0xcd
	mpUint32  = 0xce
	mpUint64  = 0xcf
	mpInt8    = 0xd0
	mpInt16   = 0xd1
	mpInt32   = 0xd2
	mpInt64   = 0xd3
	mpFixExt1 = 0xd4
	mpFixExt2 = 0xd5
	mpFixExt4 = 0xd6
	mpFixExt8 = 0xd7
	mpFixExt  = 0xd8
	mpStr8    = 0xd9
	mpStr16   = 0xda
	mpStr32   = 0xdb
	mpArray16 = 0xdc
	mpArray32 = 0xdd
	mpMap16   = 0xde
	mpMap32   = 0xdf
)

// AppendEncode appends the MessagePack frame of m to dst. On error dst is
// returned unchanged.
func (msgpackCodec) AppendEncode(dst []byte, m Message) ([]byte, error) {
	start := len(dst)
	out, err := mpAppendMessage(dst, m)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

// count returns 1 when cond holds, else 0.
func count(cond bool) int {
	if cond {
		return 1
	}
	return 0
}

func mpAppendMessage(b []byte, m Message) ([]byte, error) {
	if isNil(m) {
		return b, fmt.Errorf("%w: nil %T", ErrUnsupported, m)
	}
	var err error
	switch m := m.(type) {
	// client to server
	case *Hello:
		b = mpMapHeader(b, 2+count(m.Auth != nil)+count(m.Subs != nil)+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "hello")
		v := m.Version
		if v == "" {
			v = Version
		}
		b = mpKeyStr(b, "version", v)
		if m.Auth != nil {
			b = mpStr(b, "auth")
			if b, err = mpAppendAuth(b, m.Auth); err != nil {
				return b, err
			}
		}
		if m.Subs != nil {
			b = mpStr(b, "subs")
			b = mpArrayHeader(b, len(m.Subs))
			for _, s := range m.Subs {
				b = mpStr(b, s)
			}
		}
		return mpAppendIDField(b, m.ID)
	case *Reauth:
		b = mpMapHeader(b, 1+count(m.Auth != nil)+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "reauth")
		if m.Auth != nil {
			b = mpStr(b, "auth")
			if b, err = mpAppendAuth(b, m.Auth); err != nil {
				return b, err
			}
		}
		return mpAppendIDField(b, m.ID)
	case *Request:
		b = mpMapHeader(b, 3+count(m.Headers != nil)+count(m.Payload != nil)+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "request")
		b = mpKeyStr(b, "method", m.Method)
		b = mpKeyStr(b, "path", m.Path)
		if m.Headers != nil {
			b = mpStr(b, "headers")
			b = mpStringMap(b, m.Headers)
		}
		if m.Payload != nil {
			b = mpStr(b, "payload")
			if b, err = mpAppendRaw(b, m.Payload); err != nil {
				return b, err
			}
		}
		return mpAppendIDField(b, m.ID)
	case *Sub:
		b = mpMapHeader(b, 2+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "sub")
		b = mpKeyStr(b, "path", m.Path)
		return mpAppendIDField(b, m.ID)
	case *Unsub:
		b = mpMapHeader(b, 1+count(m.Path != "")+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "unsub")
		if m.Path != "" {
			b = mpKeyStr(b, "path", m.Path)
		}
		return mpAppendIDField(b, m.ID)
	case *Custom:
		b = mpMapHeader(b, 1+count(m.Message != nil)+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "message")
		if m.Message != nil {
			b = mpStr(b, "message")
			if b, err = mpAppendRaw(b, m.Message); err != nil {
				return b, err
			}
		}
		return mpAppendIDField(b, m.ID)
	case *Ping:
		b = mpMapHeader(b, 1+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "ping")
		return mpAppendIDField(b, m.ID)

	// server to client
	case *HelloReply:
		b = mpMapHeader(b, 3+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "hello")
		if b, err = mpAppendIDField(b, m.ID); err != nil {
			return b, err
		}
		b = mpStr(b, "heartbeat")
		if m.Heartbeat == nil {
			b = append(b, mpFalse)
		} else {
			b = mpMapHeader(b, 2)
			b = mpStr(b, "interval")
			b = mpInt(b, m.Heartbeat.Interval)
			b = mpStr(b, "timeout")
			b = mpInt(b, m.Heartbeat.Timeout)
		}
		return mpKeyStr(b, "socket", m.Socket), nil
	case *ReauthReply:
		b = mpMapHeader(b, 1+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "reauth")
		return mpAppendIDField(b, m.ID)
	case *Response:
		b = mpMapHeader(b, 3+count(!m.ID.IsZero())+count(m.Headers != nil))
		b = mpKeyStr(b, "type", "request")
		if b, err = mpAppendIDField(b, m.ID); err != nil {
			return b, err
		}
		b = mpStr(b, "statusCode")
		b = mpInt(b, int64(m.StatusCode))
		b = mpStr(b, "payload")
		if b, err = mpAppendRaw(b, m.Payload); err != nil {
			return b, err
		}
		if m.Headers != nil {
			b = mpStr(b, "headers")
			return mpAppendHeaders(b, m.Headers)
		}
		return b, nil
	case *SubReply:
		b = mpMapHeader(b, 2+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "sub")
		if b, err = mpAppendIDField(b, m.ID); err != nil {
			return b, err
		}
		return mpKeyStr(b, "path", m.Path), nil
	case *UnsubReply:
		b = mpMapHeader(b, 1+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", "unsub")
		return mpAppendIDField(b, m.ID)
	case *CustomReply:
		b = mpMapHeader(b, 1+count(!m.ID.IsZero())+count(m.Message != nil))
		b = mpKeyStr(b, "type", "message")
		if b, err = mpAppendIDField(b, m.ID); err != nil {
			return b, err
		}
		if m.Message != nil {
			b = mpStr(b, "message")
			return mpAppendRaw(b, m.Message)
		}
		return b, nil
	case *Update:
		b = mpMapHeader(b, 2)
		b = mpKeyStr(b, "type", "update")
		b = mpStr(b, "message")
		return mpAppendRaw(b, m.Message)
	case *Pub:
		b = mpMapHeader(b, 3)
		b = mpKeyStr(b, "type", "pub")
		b = mpKeyStr(b, "path", m.Path)
		b = mpStr(b, "message")
		return mpAppendRaw(b, m.Message)
	case *Revoke:
		b = mpMapHeader(b, 2+count(m.Message != nil))
		b = mpKeyStr(b, "type", "revoke")
		b = mpKeyStr(b, "path", m.Path)
		if m.Message != nil {
			b = mpStr(b, "message")
			return mpAppendRaw(b, m.Message)
		}
		return b, nil
	case *ErrorReply:
		return mpAppendErrorReply(b, m)
	case *Unknown:
		b = mpMapHeader(b, 1+count(!m.ID.IsZero()))
		b = mpKeyStr(b, "type", m.Type)
		return mpAppendIDField(b, m.ID)
	}
	return b, fmt.Errorf("%w: %T", ErrUnsupported, m)
}

func mpAppendErrorReply(b []byte, e *ErrorReply) ([]byte, error) {
	hasType := e.HasType || e.Type != ""
	b = mpMapHeader(b, 2+count(e.Headers != nil)+count(hasType)+count(!e.ID.IsZero())+count(e.Path != ""))
	b = mpStr(b, "statusCode")
	b = mpInt(b, int64(e.StatusCode))
	b = mpStr(b, "payload")
	var err error
	if e.Payload != nil {
		if b, err = mpAppendRaw(b, e.Payload); err != nil {
			return b, err
		}
	} else {
		b = mpMapHeader(b, 1+count(e.Message != ""))
		errText := e.Error
		if errText == "" {
			errText = ReasonPhrase(e.StatusCode)
		}
		b = mpKeyStr(b, "error", errText)
		if e.Message != "" {
			b = mpKeyStr(b, "message", e.Message)
		}
	}
	if e.Headers != nil {
		b = mpStr(b, "headers")
		if b, err = mpAppendHeaders(b, e.Headers); err != nil {
			return b, err
		}
	}
	if hasType {
		b = mpKeyStr(b, "type", e.Type)
	}
	if b, err = mpAppendIDField(b, e.ID); err != nil {
		return b, err
	}
	if e.Path != "" {
		b = mpKeyStr(b, "path", e.Path)
	}
	return b, nil
}

// mpAppendIDField appends the "id" key and id unless id is zero.
func mpAppendIDField(b []byte, id ID) ([]byte, error) {
	if id.IsZero() {
		return b, nil
	}
	return mpAppendID(mpStr(b, "id"), id)
}

// mpAppendID appends id as a MessagePack value: see [MessagePack].
func mpAppendID(b []byte, id ID) ([]byte, error) {
	switch id.kind {
	case idNumber:
		if id.s == "" {
			return mpInt(b, id.n), nil
		}
		if id.n == idFloatMark {
			return mpFloat(b, id.float()), nil
		}
		return mpAppendNumber(b, []byte(id.s), true)
	case idString:
		return mpStr(b, id.s), nil
	case idOther:
		return mpAppendRaw(b, json.RawMessage(id.s))
	}
	return append(b, mpNil), nil
}

// mpAppendAuth appends an auth value as [appendAuth] does in JSON.
func mpAppendAuth(b []byte, a *Auth) ([]byte, error) {
	switch {
	case a.Raw != nil:
		return mpAppendRaw(b, a.Raw)
	case a.Headers != nil:
		b = mpMapHeader(b, 1)
		b = mpStr(b, "headers")
		return mpStringMap(b, a.Headers), nil
	}
	return mpStr(b, a.Token), nil
}

// mpStringMap appends a map of strings, keys sorted.
func mpStringMap(b []byte, m map[string]string) []byte {
	b = mpMapHeader(b, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = mpKeyStr(b, k, m[k])
	}
	return b
}

// mpAppendHeaders appends a headers map, keys sorted. Strings and integers
// are written directly, other values through their JSON encoding.
func mpAppendHeaders(b []byte, h map[string]any) ([]byte, error) {
	b = mpMapHeader(b, len(h))
	for _, k := range slices.Sorted(maps.Keys(h)) {
		b = mpStr(b, k)
		switch v := h[k].(type) {
		case string:
			b = mpStr(b, v)
		case int:
			b = mpInt(b, int64(v))
		case int64:
			b = mpInt(b, v)
		default:
			j, err := json.Marshal(v)
			if err != nil {
				return b, fmt.Errorf("protocol: header %q: %w", k, err)
			}
			if b, err = mpAppendRaw(b, j); err != nil {
				return b, fmt.Errorf("protocol: header %q: %w", k, err)
			}
		}
	}
	return b, nil
}

// mpAppendRaw appends the MessagePack form of a raw JSON value after
// checking it; nil appends nil.
func mpAppendRaw(b []byte, raw json.RawMessage) ([]byte, error) {
	if raw == nil {
		return append(b, mpNil), nil
	}
	v, ok := validJSON(raw)
	if !ok {
		return b, ErrInvalidJSON
	}
	return mpAppendJSON(b, v, MaxDepth-1)
}

// jsonMember is a member of a JSON object being converted.
type jsonMember struct {
	key string
	val []byte
}

// mpAppendJSON appends the MessagePack form of the valid JSON value v (no
// surrounding whitespace) whose arrays and objects may nest depth levels.
func mpAppendJSON(b, v []byte, depth int) ([]byte, error) {
	var err error
	switch v[0] {
	case '{':
		if depth <= 0 {
			return b, fmt.Errorf("%w: nested deeper than MaxDepth", ErrInvalidJSON)
		}
		var small [8]jsonMember
		members := small[:0]
		it := newObjectIter(v, 0, int(^uint(0)>>1))
		for {
			key, val, ok := it.next()
			if !ok {
				break
			}
			members = append(members, jsonMember{unquote(key), val})
		}
		// Sort by key, the last of duplicate keys winning as in JSON.parse.
		slices.SortStableFunc(members, func(x, y jsonMember) int {
			switch {
			case x.key < y.key:
				return -1
			case x.key > y.key:
				return 1
			}
			return 0
		})
		n := 0
		for i := range members {
			if i+1 < len(members) && members[i+1].key == members[i].key {
				continue
			}
			members[n] = members[i]
			n++
		}
		members = members[:n]
		b = mpMapHeader(b, len(members))
		for _, m := range members {
			b = mpStr(b, m.key)
			if b, err = mpAppendJSON(b, m.val, depth-1); err != nil {
				return b, err
			}
		}
		return b, nil
	case '[':
		if depth <= 0 {
			return b, fmt.Errorf("%w: nested deeper than MaxDepth", ErrInvalidJSON)
		}
		var small [16][]byte
		elems := small[:0]
		it := newArrayIter(v)
		for {
			el, ok := it.next()
			if !ok {
				break
			}
			elems = append(elems, el)
		}
		b = mpArrayHeader(b, len(elems))
		for _, el := range elems {
			if b, err = mpAppendJSON(b, el, depth-1); err != nil {
				return b, err
			}
		}
		return b, nil
	case '"':
		s := v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') < 0 {
			return mpStrBytes(b, s), nil // valid UTF-8: checked by validJSON
		}
		return mpStr(b, unquote(v)), nil
	case 't':
		return append(b, mpTrue), nil
	case 'f':
		return append(b, mpFalse), nil
	case 'n':
		return append(b, mpNil), nil
	}
	return mpAppendNumber(b, v, false)
}

// mpAppendNumber appends the valid JSON number literal v: an integer when
// it is one within int64 or uint64 range (when integral is set: when its
// value is an integer in that range, as 1e3 or 2.0), else a float64. A
// literal that overflows a float64 fails, unless integral is set (an id):
// then it is written as an infinite float.
func mpAppendNumber(b, v []byte, integral bool) ([]byte, error) {
	if n, ok := canonicalInt(v); ok {
		return mpInt(b, n), nil
	}
	if bytes.IndexAny(v, ".eE") < 0 {
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil { // -0
			return mpInt(b, n), nil
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return mpUint(b, u), nil
		}
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil && !integral {
		return b, fmt.Errorf("%w: number %s out of range", ErrInvalidJSON, v)
	}
	if integral && f == math.Trunc(f) && !math.IsInf(f, 0) {
		if f >= -(1<<63) && f < 1<<63 {
			return mpInt(b, int64(f)), nil
		}
		if f >= 0 && f < 1<<64 {
			return mpUint(b, uint64(f)), nil
		}
	}
	return mpFloat(b, f), nil
}

// mpKeyStr appends the string key k and the string value v.
func mpKeyStr(b []byte, k, v string) []byte { return mpStr(mpStr(b, k), v) }

// mpStrHeader appends the header of a string of n bytes.
func mpStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, mpStr8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpStr16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpStr32), uint32(n))
}

// mpStr appends s as a string, invalid UTF-8 bytes becoming U+FFFD.
func mpStr(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	return append(mpStrHeader(b, len(s)), s...)
}

// mpStrBytes appends the valid UTF-8 s as a string.
func mpStrBytes(b, s []byte) []byte {
	return append(mpStrHeader(b, len(s)), s...)
}

// toValidUTF8 replaces every byte of s that is not part of a valid UTF-8
// sequence with U+FFFD (as appendString does).
func toValidUTF8(s string) string {
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// mpArrayHeader appends the header of an array of n elements.
func mpArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpArray16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpArray32), uint32(n))
}

// mpMapHeader appends the header of a map of n entries.
func mpMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpMap16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpMap32), uint32(n))
}

// mpInt appends n in its smallest encoding.
func mpInt(b []byte, n int64) []byte {
	if n >= 0 {
		return mpUint(b, uint64(n))
	}
	switch {
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, mpInt8, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, mpInt16), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, mpInt32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, mpInt64), uint64(n))
}

// mpUint appends u in its smallest encoding.
func mpUint(b []byte, u uint64) []byte {
	switch {
	case u < 128:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, mpUint8, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpUint16), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, mpUint32), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, mpUint64), u)
}

// mpFloat appends f as a float64.
func mpFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, mpFloat64), math.Float64bits(f))
}
