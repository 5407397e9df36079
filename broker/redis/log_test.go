package redis

import (
	"log/slog"
	"strings"

	"github.com/nes-go/nes/internal/syncbuf"
)

// logBuffer collects log output, safe for concurrent use.
type logBuffer struct{ syncbuf.Buffer }

func (l *logBuffer) count(s string) int { return strings.Count(l.String(), s) }

func (l *logBuffer) logger() *slog.Logger { return l.Logger() }
