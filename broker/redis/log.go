package redis

import (
	"context"
	"log/slog"
)

// log writes one record to Options.Logger, if there is one.
func (b *Broker) log(level slog.Level, msg string, attrs ...slog.Attr) {
	if b.opts.Logger == nil {
		return
	}
	attrs = append(attrs, slog.String("channel", b.opts.Channel))
	b.opts.Logger.LogAttrs(context.Background(), level, "nes/redis: "+msg, attrs...)
}
