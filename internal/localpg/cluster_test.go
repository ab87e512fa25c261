package localpg_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgtriage/pgtriage/internal/localpg"
)

func start(t *testing.T, opts localpg.Options) *localpg.Cluster {
	t.Helper()
	c, err := localpg.Start(context.Background(), opts)
	if errors.Is(err, localpg.ErrNoServer) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStartClose is the life of a cluster outside a test helper, as the demo and the experiments use it: a role
// logs in over TCP with its password, and Close leaves nothing behind.
func TestStartClose(t *testing.T) {
	c := start(t, localpg.Options{Roles: []localpg.Role{{Name: "app", Password: "s3cret"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.ConnString("user=app", "password=s3cret", "dbname=postgres", "sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "app" {
		t.Fatalf("current_user = %q, %v", user, err)
	}
	conn.Close(ctx)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s after Close: %v", c.Dir, err)
	}
}

// TestStartFails: a cluster that cannot be made returns the reason and leaves no directory and no server.
func TestStartFails(t *testing.T) {
	_, err := localpg.Start(context.Background(), localpg.Options{Conf: map[string]string{"max_connections": "not a number"}})
	if errors.Is(err, localpg.ErrNoServer) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err == nil || !strings.Contains(err.Error(), "max_connections") {
		t.Fatalf("err = %v, want the server's complaint about max_connections", err)
	}
	// Other test binaries make clusters at the same time: only this process's count.
	owners, _ := filepath.Glob(filepath.Join(os.TempDir(), "localpg-*", "owner.pid"))
	for _, owner := range owners {
		if b, _ := os.ReadFile(owner); string(b) == strconv.Itoa(os.Getpid()) {
			t.Errorf("%s left behind", filepath.Dir(owner))
		}
	}
}
