//go:build !linux

package nes

import "errors"

// poller is Linux's (epoll); elsewhere an idle socket keeps its reading
// goroutine.
type poller struct{}

const pollerSupported = false

func newPoller() (*poller, error) { return nil, errors.New("nes: no poller on this platform") }

func (p *poller) arm(*Socket) error { return errors.New("nes: no poller on this platform") }

func (p *poller) forget(*Socket) {}

func (p *poller) close() {}
