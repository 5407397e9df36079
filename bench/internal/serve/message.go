package serve

import (
	"net/url"
	"strconv"
	"strings"
)

// Message returns a publication of the benchmark's POST /publish:
// {"t":t,"i":i,"pad":"xx…"}, padded to size bytes when the object without
// padding is not already longer. t is the publication time in unix
// nanoseconds, from which the load tool computes latencies.
func Message(t int64, i, size int) []byte {
	b := make([]byte, 0, max(size, 64))
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"i":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"pad":"`...)
	for range size - len(b) - len(`"}`) {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// PublishUsage is the error text of a bad POST /publish.
const PublishUsage = "want ?path=/...&n=<count>[&size=<bytes>]"

// PublishQuery reads the query of POST /publish?path=/...&n=<count>&size=<bytes>
// (size defaults to 100). ok is false if a value is missing or malformed.
func PublishQuery(q url.Values) (path string, n, size int, ok bool) {
	path = q.Get("path")
	n, errN := strconv.Atoi(q.Get("n"))
	size, errSize := 100, error(nil)
	if s := q.Get("size"); s != "" {
		size, errSize = strconv.Atoi(s)
	}
	ok = strings.HasPrefix(path, "/") && errN == nil && n >= 0 && errSize == nil && size >= 0
	return path, n, size, ok
}
