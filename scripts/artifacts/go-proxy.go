// go run scripts/artifacts/go-proxy.go <moduledir> <version> <proxydir> (see go-proxy.sh): adds
// an assembled Go module to a directory laid out as a GOPROXY (the module proxy protocol:
// <module>/@v/list, v<version>.info, .mod, .zip). Serve the directory over HTTP(S) — or use
// GOPROXY=file://<proxydir> — and `go get <module>@v<version>` works without a replace directive.
// Reproducible: sorted zip entries, one fixed modification time (SOURCE_DATE_EPOCH).
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 4 {
		fail("usage: go run go-proxy.go <moduledir> <version> <proxydir>")
	}
	dir, version, proxy := os.Args[1], "v"+strings.TrimPrefix(os.Args[2], "v"), os.Args[3]
	modFile, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	check(err)
	m := regexp.MustCompile(`(?m)^module\s+(\S+)\s*$`).FindSubmatch(modFile)
	if m == nil {
		fail("no module line in " + filepath.Join(dir, "go.mod"))
	}
	module := string(m[1])
	stamp := time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		check(err)
		stamp = time.Unix(sec, 0).UTC()
	}

	var files []string
	check(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	}))
	sort.Strings(files)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: module + "@" + version + "/" + f, Method: zip.Deflate, Modified: stamp})
		check(err)
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		check(err)
		_, err = w.Write(b)
		check(err)
	}
	check(zw.Close())

	// The proxy protocol escapes capital letters in paths as !lowercase.
	escaped := regexp.MustCompile(`[A-Z]`).ReplaceAllStringFunc(module, func(c string) string { return "!" + strings.ToLower(c) })
	at := filepath.Join(proxy, filepath.FromSlash(escaped), "@v")
	check(os.MkdirAll(at, 0o755))
	info, err := json.Marshal(map[string]string{"Version": version, "Time": stamp.Format(time.RFC3339)})
	check(err)
	check(os.WriteFile(filepath.Join(at, version+".info"), append(info, '\n'), 0o644))
	check(os.WriteFile(filepath.Join(at, version+".mod"), modFile, 0o644))
	check(os.WriteFile(filepath.Join(at, version+".zip"), buf.Bytes(), 0o644))
	// list: every version in the directory, one per line.
	entries, err := os.ReadDir(at)
	check(err)
	var versions []string
	for _, e := range entries {
		if v, ok := strings.CutSuffix(e.Name(), ".info"); ok {
			versions = append(versions, v)
		}
	}
	sort.Strings(versions)
	check(os.WriteFile(filepath.Join(at, "list"), []byte(strings.Join(versions, "\n")+"\n"), 0o644))
	fmt.Printf("go-proxy: %s@%s → %s\n", module, version, at)
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}
