package protocol

// MsgpackSubprotocol is the websocket subprotocol that selects the
// [MessagePack] codec.
const MsgpackSubprotocol = "nes.v2.msgpack"

// MessagePack returns the MessagePack codec. Its name is
// [MsgpackSubprotocol] and its frames are binary frames. It is not spoken by
// the official client: a client selects it by offering the subprotocol.
//
// A frame is one MessagePack map with string keys, the keys and values of
// the JSON frame of the same message ("type", "id", "version", "auth",
// "subs", "method", "path", "headers", "payload", "message", "statusCode",
// "heartbeat", "socket"), in the same order. The messages, their validation
// and the error replies are those of [JSON]: DecodeClient answers the
// MessagePack equivalent of a JSON frame with the same message or the same
// [*DecodeError] (same Field, same Reply), and DecodeServer decodes the same
// shapes, with the same leniency and errors.
//
// # Values
//
// MessagePack values map to JSON values as follows: nil, booleans, strings,
// arrays and maps with string keys as such; integers (signed or unsigned, up
// to 64 bits) to JSON integers; floats to JSON numbers written with a
// fraction or an exponent (3.0 becomes "3.0", a float32 is read with its
// shortest 32-bit digits). Strings that are not valid UTF-8 are read with
// U+FFFD replacements, as the JSON codec reads binary frames. A frame
// holding anything without a JSON equivalent anywhere, even in a member the
// decoder ignores, is unparseable (DecodeClient: 400 "Cannot parse message"
// with neither type nor id; DecodeServer: an error wrapping
// [ErrMalformed]):
//
//   - bin values: a payload is JSON, and guessing an encoding (base64?)
//     would hand the application a string it never sent; send strings;
//   - ext values (timestamps included);
//   - NaN and ±Inf floats (except ±Inf as an id, see below);
//   - map keys that are not strings;
//   - nesting deeper than [MaxDepth] (the frame's map counting as one), a
//     truncated value, trailing bytes after the map, the never-used byte
//     0xc1.
//
// Payload values of the typed messages stay [json.RawMessage] whatever the
// codec. DecodeClient and DecodeServer convert them (payload, message, auth,
// headers) from MessagePack to compact JSON, map keys in the order received;
// AppendEncode converts them back: JSON integers that fit an int64 or a
// uint64 become MessagePack integers, other numbers float64; object keys
// are sorted (byte order of the decoded keys, the last of duplicate keys
// winning) so that equal values give equal bytes. A raw value that is not
// valid JSON fails with [ErrInvalidJSON], as with the JSON codec, and so
// does a number that overflows a float64 or a value nested deeper than
// [MaxDepth] (the peer's decoder would reject the frame).
//
// # Ids
//
// An id may be any MessagePack value; as with JSON only a non-zero number or
// a non-empty string is valid (see [ID.Valid]). An integer id decodes to an
// integer [ID] and encodes back as an integer; a float id keeps being a
// float (15.5 and 3.0 are echoed as the floats 15.5 and 3.0, and an
// infinite float is accepted, as JSON's 1e999 is); a string id is a string.
// An id decoded from JSON is encoded as an integer when its value is an
// integer within int64 (or uint64) range (1, 1e3, 2.0), as a float64
// otherwise. Other ids (nil, true, maps, arrays) are only echoed in error
// replies, converted like payload values.
//
// Encoding writes the members in the order of the JSON codec. Strings that
// are not valid UTF-8 are written with U+FFFD replacements; integers use the
// smallest MessagePack encoding.
func MessagePack() Codec { return msgpackCodec{} }

type msgpackCodec struct{}

// Name returns [MsgpackSubprotocol].
func (msgpackCodec) Name() string { return MsgpackSubprotocol }

// Binary returns true: MessagePack frames are binary frames.
func (msgpackCodec) Binary() bool { return true }
