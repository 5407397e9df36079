// Package leakcheck fails a test binary that leaves goroutines running.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// ignored are goroutines owned by the runtime or the test framework.
var ignored = []string{
	"testing.Main(",
	"testing.tRunner(",
	"testing.(*M).",
	"testing.runFuzzing(",
	"testing.runFuzzTests(",
	"created by runtime.gc",
	"runtime.MHeap_Scavenger",
	"signal.signal_recv",
	"sigterm.handler",
	"runtime_mcall",
	"(*loggingT).flushDaemon",
	"goroutine in C code",
	"os/signal.loop",
	"runtime.ensureSigM",
}

// Main runs the tests, then fails the binary (exit code 1) if goroutines
// other than the runtime's and the test framework's are still running after
// a grace period of a few seconds.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := Check(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines still running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Check waits up to grace for stray goroutines to end and returns the stacks
// of those still running, or "" when there are none.
func Check(grace time.Duration) string {
	deadline := time.Now().Add(grace)
	for {
		leaked := interesting()
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			sort.Strings(leaked)
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func interesting() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.TrimSpace(g) == "" { // the calling goroutine
			continue
		}
		if isIgnored(g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func isIgnored(stack string) bool {
	lines := strings.Split(stack, "\n")
	if len(lines) < 2 {
		return true
	}
	// The test framework's own goroutines and runtime helpers.
	for _, s := range ignored {
		if strings.Contains(stack, s) && !strings.Contains(stack, "github.com/nes-go/nes") {
			return true
		}
	}
	// Idle keep-alive connections of net/http's default transport belong to
	// the process, not to the code under test.
	if strings.Contains(stack, "net/http.(*persistConn)") {
		return true
	}
	return false
}
