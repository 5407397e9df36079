package nes

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// checkOriginPattern validates one Options.Origins entry.
func checkOriginPattern(p string) error {
	if p == "" {
		return fmt.Errorf("Origins: empty origin")
	}
	if strings.Contains(p, "://") {
		u, err := url.Parse(p)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("Origins: %q is not an origin (scheme://host[:port])", p)
		}
		return nil
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("Origins: bad pattern %q: %v", p, err)
	}
	return nil
}

// originAllowed reports whether the upgrade request r may open a socket.
func (s *Server) originAllowed(r *http.Request) bool {
	if s.opts.InsecureSkipOriginCheck {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser: no ambient credentials to abuse
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range s.opts.Origins {
		if strings.Contains(p, "://") {
			if strings.EqualFold(strings.TrimSuffix(p, "/"), origin) {
				return true
			}
			continue
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return true
		}
	}
	return false
}
