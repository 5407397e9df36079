package protocol

import "errors"

// Messages of the error replies produced by the decoders. The first three
// and the last one are nes's own; the others answer frames nes would crash on
// or mishandle.
const (
	msgCannotParse    = "Cannot parse message"
	msgMissingID      = "Message missing id"
	msgUnknownType    = "Unknown message type"
	msgMissingMethod  = "Message missing method"
	msgMissingPath    = "Message missing path"
	msgInvalidMethod  = "Invalid message method"
	msgInvalidPath    = "Invalid message path"
	msgInvalidHeaders = "Invalid message headers"
	msgAuthHeader     = "Cannot include an Authorization header"
	msgInvalidSubs    = "Invalid subscriptions"
	msgInvalidSubPath = "Invalid subscription path"
	msgSubQuery       = "Subscription path cannot contain query"
	msgInvalidAuth    = "Invalid authentication headers"
	msgInternal       = "An internal server error occurred"
)

// Errors reported by [Codec.DecodeServer] (wrapped with details) and by
// [Codec.AppendEncode].
var (
	// ErrMalformed reports a server frame that is not a valid nes message.
	ErrMalformed = errors.New("protocol: malformed message")
	// ErrUnknownType reports a server frame with a type nes does not define.
	ErrUnknownType = errors.New("protocol: unknown message type")
	// ErrInvalidJSON reports a json.RawMessage (payload, message, auth) that
	// is not exactly one valid JSON value in valid UTF-8.
	ErrInvalidJSON = errors.New("protocol: invalid JSON value")
	// ErrUnsupported reports a Message the codec cannot encode.
	ErrUnsupported = errors.New("protocol: unsupported message")
)

// DecodeError is the error [Codec.DecodeClient] returns for a frame that is
// not a valid message. Reply is the exact error reply nes sends for it.
//
// Field tells at which stage nes finds the fault, which matters for the
// order of a server's checks:
//
//   - Field == "": the envelope is bad (the frame is not a JSON object, or
//     its type or id is missing). nes answers this before looking at any
//     connection state, so the server sends Reply as is.
//   - Field != "" (for example "version", "method", "path", "headers",
//     "subs", "auth"): type and id are fine but a field of that message type
//     is not. nes validates such fields only after its state checks, so the
//     server should first run them as for a valid message of type
//     Reply.Type — "Connection is not initialized" for anything but hello
//     and ping before the hello, "Connection already initialized" for a
//     second hello — and send Reply only if they pass.
type DecodeError struct {
	Reply *ErrorReply
	Field string
}

// Error returns the reply's message, prefixed with the offending type.
func (e *DecodeError) Error() string {
	if e.Reply == nil {
		return "protocol: invalid message"
	}
	if e.Reply.Type != "" {
		return "protocol: " + e.Reply.Type + ": " + e.Reply.Message
	}
	return "protocol: " + e.Reply.Message
}

// decodeError builds the DecodeError of a 400 reply echoing type and id.
func decodeError(field, message string, t []byte, id ID) *DecodeError {
	r := &ErrorReply{StatusCode: 400, Error: "Bad Request", Message: message, ID: id}
	if len(t) > 0 && t[0] == '"' {
		r.Type, r.HasType = unquote(t), true
	}
	return &DecodeError{Reply: r, Field: field}
}

// NewErrorReply returns the reply of an error with the given status, as Boom
// would build it: Error is the status's reason phrase ([ReasonPhrase]) and
// Message is message, or the reason phrase when message is empty. As in
// Boom, a 500 always gets the message "An internal server error occurred",
// so that internal details do not leak; set Message afterwards to override.
func NewErrorReply(status int, message string) *ErrorReply {
	r := &ErrorReply{StatusCode: status, Error: ReasonPhrase(status), Message: message}
	switch {
	case status == 500:
		r.Message = msgInternal
	case message == "":
		r.Message = r.Error
	}
	return r
}

// WithRequest makes e echo the type and id of the offending message, sets
// HasType, and returns e.
func (e *ErrorReply) WithRequest(t Type, id ID) *ErrorReply {
	e.Type, e.HasType, e.ID = string(t), true, id
	return e
}

// Reply returns the 400 "Unknown message type" reply nes sends for u (once
// the connection is initialized).
func (u *Unknown) Reply() *ErrorReply {
	return NewErrorReply(400, msgUnknownType).WithRequest(Type(u.Type), u.ID)
}

// ReasonPhrase returns the reason phrase Node.js (and so Boom) uses for an
// HTTP status code, "Unknown" for a code it does not know.
func ReasonPhrase(code int) string {
	if s, ok := reasonPhrases[code]; ok {
		return s
	}
	return "Unknown"
}

// reasonPhrases is Node.js's http.STATUS_CODES.
var reasonPhrases = map[int]string{
	100: "Continue",
	101: "Switching Protocols",
	102: "Processing",
	103: "Early Hints",
	200: "OK",
	201: "Created",
	202: "Accepted",
	203: "Non-Authoritative Information",
	204: "No Content",
	205: "Reset Content",
	206: "Partial Content",
	207: "Multi-Status",
	208: "Already Reported",
	226: "IM Used",
	300: "Multiple Choices",
	301: "Moved Permanently",
	302: "Found",
	303: "See Other",
	304: "Not Modified",
	305: "Use Proxy",
	307: "Temporary Redirect",
	308: "Permanent Redirect",
	400: "Bad Request",
	401: "Unauthorized",
	402: "Payment Required",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	406: "Not Acceptable",
	407: "Proxy Authentication Required",
	408: "Request Timeout",
	409: "Conflict",
	410: "Gone",
	411: "Length Required",
	412: "Precondition Failed",
	413: "Payload Too Large",
	414: "URI Too Long",
	415: "Unsupported Media Type",
	416: "Range Not Satisfiable",
	417: "Expectation Failed",
	418: "I'm a Teapot",
	421: "Misdirected Request",
	422: "Unprocessable Entity",
	423: "Locked",
	424: "Failed Dependency",
	425: "Too Early",
	426: "Upgrade Required",
	428: "Precondition Required",
	429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	451: "Unavailable For Legal Reasons",
	500: "Internal Server Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Gateway Timeout",
	505: "HTTP Version Not Supported",
	506: "Variant Also Negotiates",
	507: "Insufficient Storage",
	508: "Loop Detected",
	509: "Bandwidth Limit Exceeded",
	510: "Not Extended",
	511: "Network Authentication Required",
}
