package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type result struct {
	archives []string // paths, in the order of the targets
}

// binary is one built executable and what its build information says.
type binary struct {
	goos, goarch string
	data         []byte
	info         *buildinfo.BuildInfo
}

// compile builds cmd/pgtriage of the module at src for goos/goarch, static
// and without local paths, and reads back its build information.
func compile(ctx context.Context, src, goos, goarch string) (*binary, error) {
	tmp, err := os.MkdirTemp("", "pgtriage-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	exe := filepath.Join(tmp, "pgtriage")
	// -buildvcs=true on the command line wins over a GOFLAGS=-buildvcs=false of the machine;
	// -s -w drop the symbol tables (a third of the size) but keep the build information.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=true", "-ldflags=-s -w -buildid=", "-o", exe, "./cmd/pgtriage")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s/%s: %w\n%s", goos, goarch, err, out)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return nil, err
	}
	info, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s/%s: build information: %w", goos, goarch, err)
	}
	return &binary{goos: goos, goarch: goarch, data: data, info: info}, nil
}

func (b *binary) setting(key string) string {
	for _, s := range b.info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// version names the release: the module version of a tagged build, else
// the commit, marked when the clone had changes.
func (b *binary) version() string {
	if v := b.info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v := b.setting("vcs.revision")
	if len(v) > 12 {
		v = v[:12]
	}
	if v == "" {
		v = "devel"
	}
	if b.setting("vcs.modified") == "true" {
		v += "-modified"
	}
	return v
}

// stamp is the time written into the archives: the commit's, else
// SOURCE_DATE_EPOCH (reproducible-builds.org), else there is none to use.
func (b *binary) stamp() (time.Time, error) {
	if t := b.setting("vcs.time"); t != "" {
		return time.Parse(time.RFC3339, t)
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, errors.New("the binary has no commit time (no VCS stamp: build from a git clone, not a worktree) and SOURCE_DATE_EPOCH is not set")
}

// modules lists the modules compiled in, one "path version sum" a line.
func (b *binary) modules() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# %s/%s %s %s\n", b.goos, b.goarch, b.info.Main.Path, b.version())
	for _, m := range b.info.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		fmt.Fprintf(&s, "%s %s %s\n", m.Path, m.Version, m.Sum)
	}
	return s.String()
}

// file is one entry of an archive.
type file struct {
	name string
	mode int64
	data []byte
}

func build(ctx context.Context, src, out string, list []string) (*result, error) {
	readme, err := os.ReadFile(filepath.Join(src, "README.md"))
	if err != nil {
		return nil, err
	}
	var sums, mods strings.Builder
	r := &result{}
	for _, target := range list {
		goos, goarch, ok := strings.Cut(target, "/")
		if !ok {
			return nil, fmt.Errorf("target %q: want GOOS/GOARCH", target)
		}
		b, err := compile(ctx, src, goos, goarch)
		if err != nil {
			return nil, err
		}
		when, err := b.stamp()
		if err != nil {
			return nil, err
		}
		base := fmt.Sprintf("pgtriage_%s_%s_%s", b.version(), goos, goarch)
		exe := "pgtriage"
		if goos == "windows" {
			exe += ".exe"
		}
		// In name order, so that the archive does not depend on how it was assembled.
		files := []file{{"README.md", 0o644, readme}, {exe, 0o755, b.data}}
		var archive []byte
		name := base + ".tar.gz"
		if goos == "windows" {
			name = base + ".zip"
			archive, err = zipArchive(base, files, when)
		} else {
			archive, err = tarArchive(base, files, when)
		}
		if err != nil {
			return nil, err
		}
		path := filepath.Join(out, name)
		if err := os.WriteFile(path, archive, 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(archive), name)
		mods.WriteString(b.modules())
		r.archives = append(r.archives, path)
	}
	if err := os.WriteFile(filepath.Join(out, "SHA256SUMS"), []byte(sums.String()), 0o644); err != nil {
		return nil, err
	}
	return r, os.WriteFile(filepath.Join(out, "MODULES.txt"), []byte(mods.String()), 0o644)
}

// tarArchive packs files under dir/ with fixed times and owners; gzip
// without a name or time in its header.
func tarArchive(dir string, files []file, when time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	hdr := func(name string, mode int64, typ byte, size int) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Mode: mode, Size: int64(size), ModTime: when,
			Uid: 0, Gid: 0, Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
	}
	if err := tw.WriteHeader(hdr(dir+"/", 0o755, tar.TypeDir, 0)); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := tw.WriteHeader(hdr(dir+"/"+f.name, f.mode, tar.TypeReg, len(f.data))); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// zipArchive is tarArchive for Windows users, whose tools open zip files.
func zipArchive(dir string, files []file, when time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: dir + "/" + f.name, Method: zip.Deflate, Modified: when}
		h.SetMode(os.FileMode(f.mode))
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
