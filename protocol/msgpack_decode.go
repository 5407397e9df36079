package protocol

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// idFloatMark is the n of a number ID decoded from a MessagePack float
// (whose s is then its JSON text): it encodes back to MessagePack as a float
// even when its value is an integer. JSON ids never set n with s.
const idFloatMark = 1

// DecodeClient implements [Codec.DecodeClient]; see [MessagePack].
func (c msgpackCodec) DecodeClient(frame []byte) (Message, error) {
	return c.DecodeClientInto(frame, nil)
}

// DecodeClientInto implements [ReusingDecoder].
func (msgpackCodec) DecodeClientInto(frame []byte, req *Request) (Message, error) {
	var f fields
	var id ID
	if !parseMsgpackFields(frame, &f, &id) {
		return nil, cannotParse()
	}
	return decodeClientFields(&f, id, req)
}

// DecodeServer implements [Codec.DecodeServer]; see [MessagePack].
func (msgpackCodec) DecodeServer(frame []byte) (Message, error) {
	var f fields
	var id ID
	if !parseMsgpackFields(frame, &f, &id) {
		return nil, fmt.Errorf("%w: not a MessagePack map of JSON values", ErrMalformed)
	}
	return decodeServerFields(&f, id)
}

// Indexes of the members parseMsgpackFields records.
const (
	fType = iota
	fID
	fVersion
	fAuth
	fSubs
	fMethod
	fPath
	fHeaders
	fPayload
	fMessage
	fStatusCode
	fHeartbeat
	fSocket
	fCount
)

// fieldIndex returns the index of a member key, -1 for keys the decoders
// ignore.
func fieldIndex(key []byte) int {
	switch string(key) {
	case "type":
		return fType
	case "id":
		return fID
	case "version":
		return fVersion
	case "auth":
		return fAuth
	case "subs":
		return fSubs
	case "method":
		return fMethod
	case "path":
		return fPath
	case "headers":
		return fHeaders
	case "payload":
		return fPayload
	case "message":
		return fMessage
	case "statusCode":
		return fStatusCode
	case "heartbeat":
		return fHeartbeat
	case "socket":
		return fSocket
	}
	return -1
}

// parseMsgpackFields parses frame as one MessagePack map of JSON values
// (see [MessagePack]) and records the members the decoders look at,
// converted to JSON, in f (which then owns them), and the decoded id in id.
// It fails for anything else.
func parseMsgpackFields(frame []byte, f *fields, id *ID) bool {
	c := mpConv{b: frame, out: make([]byte, 0, len(frame)+len(frame)/2+8)}
	n, i, ok := c.mapHeader(0)
	if !ok {
		return false
	}
	var spans [fCount][2]int
	var seen [fCount]bool
	var idFloat bool
	for ; n > 0; n-- {
		var key []byte
		if key, i, ok = c.str(i); !ok {
			return false
		}
		idx := fieldIndex(key)
		if idx < 0 {
			c.skip = true
			i, ok = c.value(i, MaxDepth-1)
			c.skip = false
			if !ok {
				return false
			}
			continue
		}
		start := len(c.out)
		if idx == fID {
			idFloat = false
			if i < len(frame) && (frame[i] == mpFloat32 || frame[i] == mpFloat64) {
				idFloat = true
				if math.IsInf(c.peekFloat(i), 0) {
					// No JSON text for it: spell it as JSON.parse reads 1e999.
					if c.peekFloat(i) > 0 {
						c.out = append(c.out, "1e999"...)
					} else {
						c.out = append(c.out, "-1e999"...)
					}
					i += 1 + 4 + 4*int(frame[i]-mpFloat32)
					spans[idx], seen[idx] = [2]int{start, len(c.out)}, true
					continue
				}
			}
		}
		if i, ok = c.value(i, MaxDepth-1); !ok {
			return false
		}
		spans[idx], seen[idx] = [2]int{start, len(c.out)}, true
	}
	if i != len(frame) {
		return false
	}
	out := c.out
	get := func(idx int) []byte {
		if !seen[idx] {
			return nil
		}
		s := spans[idx]
		return out[s[0]:s[1]:s[1]]
	}
	f.typ, f.id = get(fType), get(fID)
	f.version, f.auth, f.subs = get(fVersion), get(fAuth), get(fSubs)
	f.method, f.path, f.headers = get(fMethod), get(fPath), get(fHeaders)
	f.payload, f.message = get(fPayload), get(fMessage)
	f.statusCode, f.heartbeat, f.socket = get(fStatusCode), get(fHeartbeat), get(fSocket)
	f.owned = true
	if idFloat {
		*id = ID{kind: idNumber, n: idFloatMark, s: string(f.id)}
	} else {
		*id = idFromJSON(f.id)
	}
	return true
}

// mpConv converts MessagePack values of b to JSON, appended to out, or only
// validates them when skip is set.
type mpConv struct {
	b    []byte
	out  []byte
	skip bool
}

// need reports whether b holds n bytes from i.
func (c *mpConv) need(i, n int) bool { return n >= 0 && i <= len(c.b) && n <= len(c.b)-i }

// uintN reads a big-endian unsigned integer of size bytes at i.
func (c *mpConv) uintN(i, size int) (uint64, bool) {
	if !c.need(i, size) {
		return 0, false
	}
	switch size {
	case 1:
		return uint64(c.b[i]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(c.b[i:])), true
	case 4:
		return uint64(binary.BigEndian.Uint32(c.b[i:])), true
	}
	return binary.BigEndian.Uint64(c.b[i:]), true
}

// mapHeader reads a map header at i: the number of entries and the index
// after the header.
func (c *mpConv) mapHeader(i int) (n, next int, ok bool) {
	if i >= len(c.b) {
		return 0, 0, false
	}
	t := c.b[i]
	var u uint64
	switch {
	case t&0xf0 == 0x80:
		return int(t & 0x0f), i + 1, true
	case t == mpMap16:
		u, ok = c.uintN(i+1, 2)
		next = i + 3
	case t == mpMap32:
		u, ok = c.uintN(i+1, 4)
		next = i + 5
	default:
		return 0, 0, false
	}
	// Every entry takes at least two bytes.
	if !ok || u > uint64(len(c.b)-next)/2 {
		return 0, 0, false
	}
	return int(u), next, true
}

// str reads a string at i: its bytes and the index after it.
func (c *mpConv) str(i int) (s []byte, next int, ok bool) {
	if i >= len(c.b) {
		return nil, 0, false
	}
	t := c.b[i]
	var n uint64
	switch {
	case t&0xe0 == 0xa0:
		n, next, ok = uint64(t&0x1f), i+1, true
	case t == mpStr8:
		n, ok = c.uintN(i+1, 1)
		next = i + 2
	case t == mpStr16:
		n, ok = c.uintN(i+1, 2)
		next = i + 3
	case t == mpStr32:
		n, ok = c.uintN(i+1, 4)
		next = i + 5
	}
	if !ok || n > uint64(len(c.b)-next) {
		return nil, 0, false
	}
	return c.b[next : next+int(n)], next + int(n), true
}

// peekFloat returns the float at i (b[i] is a float type byte), NaN if it
// is truncated.
func (c *mpConv) peekFloat(i int) float64 {
	if c.b[i] == mpFloat32 {
		u, ok := c.uintN(i+1, 4)
		if !ok {
			return math.NaN()
		}
		return float64(math.Float32frombits(uint32(u)))
	}
	u, ok := c.uintN(i+1, 8)
	if !ok {
		return math.NaN()
	}
	return math.Float64frombits(u)
}

// value converts the value at i, whose arrays and maps may nest depth
// levels, and returns the index after it.
func (c *mpConv) value(i, depth int) (int, bool) {
	if i >= len(c.b) {
		return 0, false
	}
	t := c.b[i]
	switch {
	case t <= 0x7f:
		if !c.skip {
			c.out = strconv.AppendUint(c.out, uint64(t), 10)
		}
		return i + 1, true
	case t >= 0xe0:
		if !c.skip {
			c.out = strconv.AppendInt(c.out, int64(int8(t)), 10)
		}
		return i + 1, true
	case t&0xf0 == 0x80, t == mpMap16, t == mpMap32:
		n, next, ok := c.mapHeader(i)
		if !ok || depth <= 0 {
			return 0, false
		}
		return c.mapBody(next, n, depth-1)
	case t&0xf0 == 0x90 || t == mpArray16 || t == mpArray32:
		var u uint64
		var ok bool
		next := i + 1
		switch t {
		case mpArray16:
			u, ok = c.uintN(i+1, 2)
			next = i + 3
		case mpArray32:
			u, ok = c.uintN(i+1, 4)
			next = i + 5
		default:
			u, ok = uint64(t&0x0f), true
		}
		if !ok || depth <= 0 || u > uint64(len(c.b)-next) {
			return 0, false
		}
		return c.arrayBody(next, int(u), depth-1)
	case t&0xe0 == 0xa0, t == mpStr8, t == mpStr16, t == mpStr32:
		s, next, ok := c.str(i)
		if !ok {
			return 0, false
		}
		if !c.skip {
			c.out = appendStringBytes(c.out, s)
		}
		return next, true
	}
	switch t {
	case mpNil:
		if !c.skip {
			c.out = append(c.out, "null"...)
		}
		return i + 1, true
	case mpFalse:
		if !c.skip {
			c.out = append(c.out, "false"...)
		}
		return i + 1, true
	case mpTrue:
		if !c.skip {
			c.out = append(c.out, "true"...)
		}
		return i + 1, true
	case mpFloat32, mpFloat64:
		f := c.peekFloat(i)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		if !c.skip {
			bits := 64
			if t == mpFloat32 {
				bits = 32
			}
			c.out = appendFloatJSON(c.out, f, bits)
		}
		return i + 1 + 4*int(t-mpFloat32+1), true
	case mpUint8, mpUint16, mpUint32, mpUint64:
		size := 1 << (t - mpUint8)
		u, ok := c.uintN(i+1, size)
		if !ok {
			return 0, false
		}
		if !c.skip {
			c.out = strconv.AppendUint(c.out, u, 10)
		}
		return i + 1 + size, true
	case mpInt8, mpInt16, mpInt32, mpInt64:
		size := 1 << (t - mpInt8)
		u, ok := c.uintN(i+1, size)
		if !ok {
			return 0, false
		}
		if !c.skip {
			var n int64
			switch size {
			case 1:
				n = int64(int8(u))
			case 2:
				n = int64(int16(u))
			case 4:
				n = int64(int32(u))
			default:
				n = int64(u)
			}
			c.out = strconv.AppendInt(c.out, n, 10)
		}
		return i + 1 + size, true
	}
	// bin, ext and the never-used 0xc1 have no JSON equivalent.
	return 0, false
}

// mapBody converts the n entries of a map starting at i (entries nesting
// depth more levels) and returns the index after them.
func (c *mpConv) mapBody(i, n, depth int) (int, bool) {
	if !c.skip {
		c.out = append(c.out, '{')
	}
	var ok bool
	for k := 0; k < n; k++ {
		var key []byte
		if key, i, ok = c.str(i); !ok {
			return 0, false
		}
		if !c.skip {
			if k > 0 {
				c.out = append(c.out, ',')
			}
			c.out = appendStringBytes(c.out, key)
			c.out = append(c.out, ':')
		}
		if i, ok = c.value(i, depth); !ok {
			return 0, false
		}
	}
	if !c.skip {
		c.out = append(c.out, '}')
	}
	return i, true
}

// arrayBody converts the n elements of an array starting at i.
func (c *mpConv) arrayBody(i, n, depth int) (int, bool) {
	if !c.skip {
		c.out = append(c.out, '[')
	}
	var ok bool
	for k := 0; k < n; k++ {
		if k > 0 && !c.skip {
			c.out = append(c.out, ',')
		}
		if i, ok = c.value(i, depth); !ok {
			return 0, false
		}
	}
	if !c.skip {
		c.out = append(c.out, ']')
	}
	return i, true
}

// appendFloatJSON appends the finite f as a JSON number that always has a
// fraction or an exponent (so that it converts back to a float): the
// shortest digits of a float of the given bit size, formatted as
// JavaScript does, with ".0" added to an integer.
func appendFloatJSON(dst []byte, f float64, bits int) []byte {
	if bits == 32 {
		f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
	}
	start := len(dst)
	dst = appendJSNumber(dst, f)
	if bytes.IndexAny(dst[start:], ".e") < 0 {
		dst = append(dst, ".0"...)
	}
	return dst
}

// appendStringBytes appends s as a JSON string, as [appendString] does
// except that a byte that is not part of a valid UTF-8 sequence becomes
// U+FFFD itself, not its escape: the text the JSON codec keeps when it reads
// such a byte in a frame.
func appendStringBytes(b, s []byte) []byte { return appendQuoted(b, s, "\uFFFD") }
