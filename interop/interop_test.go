package interop

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestOfficialClient runs the Node suite of this directory: the unmodified
// official @hapi/nes client from npm against the fixture server built from
// ./fixture. It fails, never skips, when Node.js or npm is missing, when the
// dependencies cannot be installed, or when the fixture does not build.
//
// Under -race the fixture is built with the race detector too, and any race
// it reports fails the scenario that provoked it.
func TestOfficialClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the interop suite needs Node.js 20+ on PATH: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	if _, err := os.Stat(filepath.Join("node_modules", "@hapi", "nes", "package.json")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatalf("node_modules is missing and npm is not on PATH: %v", err)
		}
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}

	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=2", "--test-reporter=spec")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if raceEnabled {
		cmd.Env = append(cmd.Env, "NES_INTEROP_RACE=1")
	}
	out, err := cmd.CombinedOutput()
	summary := regexp.MustCompile(`(?m)^ℹ (tests|pass|fail|cancelled|skipped|todo|duration_ms) .*$`).FindAll(out, -1)
	t.Logf("node --test: %s", bytes.Join(summary, []byte("; ")))
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	if regexp.MustCompile(`(?m)^ℹ (skipped|todo) [1-9]`).Match(out) {
		t.Fatalf("the interop suite must not skip scenarios:\n%s", out)
	}
}
