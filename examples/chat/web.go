package main

import (
	"embed"
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
// a missing file is answered 500 with the reason and how to install it.
func clientHandler(path string, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := serveFile(w, r, path, "text/javascript; charset=utf-8")
		if err == nil {
			return
		}
		log.Error("cannot serve the nes browser client", "path", path, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "The nes browser client is missing: %v.\nTo install it, %s, then reload.\n", err, installHint)
	}
}

// serveFile serves the regular file at path, or returns why it cannot
// without writing anything.
func serveFile(w http.ResponseWriter, r *http.Request, path, contentType string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
	return nil
}
