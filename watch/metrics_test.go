package watch_test

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/pgtriage/pgtriage/watch"
)

// scrape reads the metrics as Prometheus would, in the text format.
func scrape(t *testing.T, m *watch.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
