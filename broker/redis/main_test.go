package redis

import (
	"testing"

	"github.com/nes-go/nes/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
