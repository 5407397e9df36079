package serve

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestMessage(t *testing.T) {
	for _, size := range []int{0, 10, 100, 1000} {
		b := Message(1795368849215293059, 7, size)
		var m struct {
			T   int64  `json:"t"`
			I   int    `json:"i"`
			Pad string `json:"pad"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("size %d: %s is not JSON: %v", size, b, err)
		}
		if m.T != 1795368849215293059 || m.I != 7 {
			t.Fatalf("size %d: decoded %+v", size, m)
		}
		if size >= 64 && len(b) != size {
			t.Fatalf("size %d: %d bytes", size, len(b))
		}
	}
}

func TestPublishQuery(t *testing.T) {
	for q, want := range map[string]struct {
		path    string
		n, size int
		ok      bool
	}{
		"path=/rooms/a&n=200&size=50": {"/rooms/a", 200, 50, true},
		"path=/rooms/a&n=3":           {"/rooms/a", 3, 100, true},
		"path=/rooms/a&n=0":           {"/rooms/a", 0, 100, true},
		"path=rooms&n=3":              {"rooms", 3, 100, false},
		"path=/r&n=x":                 {"/r", 0, 100, false},
		"path=/r&n=-1":                {"/r", -1, 100, false},
		"path=/r&n=1&size=big":        {"/r", 1, 0, false},
		"n=1":                         {"", 1, 100, false},
	} {
		v, _ := url.ParseQuery(q)
		path, n, size, ok := PublishQuery(v)
		if ok != want.ok || (ok && (path != want.path || n != want.n || size != want.size)) {
			t.Errorf("%s: got %q %d %d %v, want %+v", q, path, n, size, ok, want)
		}
	}
}
