package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
)

// The page and its assets are compiled into the binary. The nes client is
// not: it is read from the npm install (see clientHandler).
//
//go:embed web/index.html web/static
var webFS embed.FS

// installHint tells how to get the official client.
const installHint = "run: npm ci --prefix examples/chat/web (or ./scripts/demo.sh)"

// indexHandler serves the single page.
func indexHandler() http.HandlerFunc {
	page, err := webFS.ReadFile("web/index.html")
	if err != nil {
		panic(err) // embedded at build time
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	}
}

// staticHandler serves the embedded web/static directory; mount it under
// /static/ with the prefix stripped.
func staticHandler() http.Handler {
	static, err := fs.Sub(webFS, "web/static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// checkClient reports whether the official nes browser client is at path.
func checkClient(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("nes browser client not found at %s: %w; %s", path, err, installHint)
	}
	if info.IsDir() {
		return fmt.Errorf("nes browser client path %s is a directory; %s", path, installHint)
	}
	return nil
}

// clientHandler serves the official @hapi/nes browser client (a UMD module
// that defines window.nes) from the file npm installed at path. The file is
// opened on every request, so installing it while the server runs is enough;
// a missing file is answered 500 with the reason.
func clientHandler(path string, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err == nil {
			defer f.Close()
			var info os.FileInfo
			if info, err = f.Stat(); err == nil && !info.IsDir() {
				w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
				w.Header().Set("Cache-Control", "no-cache")
				http.ServeContent(w, r, "client.js", info.ModTime(), f)
				return
			}
			if err == nil {
				err = errors.New("is a directory")
			}
		}
		log.Error("cannot serve the nes browser client", "path", path, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "The nes browser client is missing: %s (%v).\nTo install it, %s, then reload.\n",
			path, err, installHint)
	}
}
