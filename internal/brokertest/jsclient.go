package brokertest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nes-go/nes/internal/syncbuf"
)

// repoRoot is the root of this repository, found from this file's path.
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("brokertest: cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// The official JS client, connected to node A, receives what an HTTP
// handler on node C publishes.
func testOfficialClient(t *testing.T, h Harness) {
	nodes := newCluster(t, h.NewBroker, 3)
	a, c := nodes[0], nodes[2]
	const path = "/rooms/js"

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the official client test needs Node.js 20+ on PATH: %v", err)
	}
	root := repoRoot(t)
	modules := filepath.Join(root, "interop", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@hapi", "nes", "package.json")); err != nil {
		t.Fatalf("the official client is not installed in %s (./scripts/test.sh runs npm ci there): %v", modules, err)
	}
	cmd := exec.Command(nodeBin, filepath.Join(root, "internal", "brokertest", "testdata", "subscriber.js"), a.ws, path)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	defer func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the JS client exited before %s; stderr:\n%s", what, stderr.String())
			}
			return line
		case <-time.After(wait):
			t.Fatalf("the JS client printed nothing for %v while waiting for %s", wait, what)
		}
		return ""
	}
	if line := next("READY"); line != "READY" {
		t.Fatalf("the JS client printed %q, want READY", line)
	}
	want := []string{`{"seq":1}`, `{"text":"é 中 😀","seq":2}`, `"plain string"`}
	for _, msg := range want {
		body := `{"path":"` + path + `","message":` + msg + `}`
		resp, err := http.Post(c.base+"/publish", "application/json", strings.NewReader(body))
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST %s/publish: %s", c.base, resp.Status)
		}
	}
	for _, msg := range want {
		line := next("publication " + msg)
		var got, exp struct{ Message any }
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("the JS client printed %q: %v", line, err)
		}
		_ = json.Unmarshal([]byte(`{"message":`+msg+`}`), &exp)
		gotJSON, _ := json.Marshal(got.Message)
		expJSON, _ := json.Marshal(exp.Message)
		if !bytes.Equal(gotJSON, expJSON) {
			t.Errorf("the JS client on node A got %s, want %s", gotJSON, expJSON)
		}
	}
}
