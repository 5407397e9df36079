package nes

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// The binary form of an Envelope, as brokers carry it between nodes:
//
//	version  1 byte (envelopeVersion)
//	kind     1 byte (EnvelopeKind)
//	flags    1 byte (flagToUser | flagInternal)
//	path     uvarint length, bytes
//	user     uvarint length, bytes     (only with flagToUser)
//	internal uvarint length, JSON      (only with flagInternal)
//	message  JSON, to the end
//
// The message comes last and whole, so a receiver takes it as a sub-slice:
// it is never decoded and encoded again on its way to the sockets.
const (
	envelopeVersion = 1

	flagToUser   = 1 << 0
	flagInternal = 1 << 1
	knownFlags   = flagToUser | flagInternal
)

// ErrBadEnvelope is wrapped by the error [Envelope.UnmarshalBinary] returns
// for bytes that are not an envelope.
var ErrBadEnvelope = errors.New("nes: bad envelope")

// AppendBinary appends the binary form of e to b, the form brokers carry
// between nodes. It implements [encoding.BinaryAppender].
func (e *Envelope) AppendBinary(b []byte) ([]byte, error) {
	if e.Kind != KindPublish && e.Kind != KindBroadcast {
		return b, fmt.Errorf("%w: kind %d", ErrBadEnvelope, e.Kind)
	}
	if len(e.Message) == 0 {
		return b, fmt.Errorf("%w: no message", ErrBadEnvelope)
	}
	var flags byte
	if e.ToUser {
		flags |= flagToUser
	}
	if e.Internal != nil {
		flags |= flagInternal
	}
	b = append(b, envelopeVersion, byte(e.Kind), flags)
	b = appendField(b, e.Path)
	if e.ToUser {
		b = appendField(b, e.User)
	}
	if e.Internal != nil {
		b = appendField(b, []byte(e.Internal))
	}
	return append(b, e.Message...), nil
}

// MarshalBinary returns the binary form of e. It implements
// [encoding.BinaryMarshaler].
func (e *Envelope) MarshalBinary() ([]byte, error) {
	n := 3 + 3*binary.MaxVarintLen32 + len(e.Path) + len(e.User) + len(e.Internal) + len(e.Message)
	return e.AppendBinary(make([]byte, 0, n))
}

// UnmarshalBinary sets e from the binary form [Envelope.AppendBinary]
// writes. Message and Internal share data's memory, so data must not be
// changed while e is in use. The message and internal data must be valid
// JSON and a publication's path must start with "/"; anything else is an
// error wrapping ErrBadEnvelope. It implements [encoding.BinaryUnmarshaler].
func (e *Envelope) UnmarshalBinary(data []byte) error {
	if len(data) < 3 {
		return fmt.Errorf("%w: %d bytes", ErrBadEnvelope, len(data))
	}
	if data[0] != envelopeVersion {
		return fmt.Errorf("%w: version %d", ErrBadEnvelope, data[0])
	}
	kind, flags := EnvelopeKind(data[1]), data[2]
	if kind != KindPublish && kind != KindBroadcast {
		return fmt.Errorf("%w: kind %d", ErrBadEnvelope, kind)
	}
	if flags&^knownFlags != 0 {
		return fmt.Errorf("%w: flags %#x", ErrBadEnvelope, flags)
	}
	rest := data[3:]
	path, rest, err := readField(rest, "path")
	if err != nil {
		return err
	}
	var user, internal []byte
	if flags&flagToUser != 0 {
		if user, rest, err = readField(rest, "user"); err != nil {
			return err
		}
	}
	if flags&flagInternal != 0 {
		if internal, rest, err = readField(rest, "internal"); err != nil {
			return err
		}
		if !json.Valid(internal) {
			return fmt.Errorf("%w: internal data is not JSON", ErrBadEnvelope)
		}
	}
	if !json.Valid(rest) {
		return fmt.Errorf("%w: message is not JSON", ErrBadEnvelope)
	}
	if kind == KindPublish && !validPublishPath(string(path)) {
		return fmt.Errorf("%w: path %q", ErrBadEnvelope, path)
	}
	*e = Envelope{
		Kind:     kind,
		Path:     string(path),
		Message:  rest,
		Internal: internal,
		User:     string(user),
		ToUser:   flags&flagToUser != 0,
	}
	return nil
}

func appendField[T string | []byte](b []byte, v T) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func readField(b []byte, name string) (field, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("%w: truncated %s", ErrBadEnvelope, name)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}
