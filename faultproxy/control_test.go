package faultproxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/faultproxy"
)

// TestControlRefusesBrowsersAndStrangers: a form posted by a web page, a request from another site's page, a DNS
// rebinding name in Host and a missing or wrong token are refused, and no fault is added; the API's own names are
// served.
func TestControlRefusesBrowsersAndStrangers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// No client connects: the upstream is never dialled.
	p, err := faultproxy.Start(ctx, faultproxy.Config{Listen: "127.0.0.1:0", Upstream: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const fault = `{"kind":"error","cause":"server.starting_up"}`
	for _, tt := range []struct {
		name   string
		access faultproxy.ControlAccess
		method string
		header map[string]string // "Host" sets the Host header
		want   int
	}{
		{"form post", faultproxy.ControlAccess{}, "POST", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"text post", faultproxy.ControlAccess{}, "POST", map[string]string{"Content-Type": "text/plain"}, 415},
		{"no content type", faultproxy.ControlAccess{}, "POST", nil, 415},
		{"another site's page", faultproxy.ControlAccess{}, "POST", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403},
		{"opaque origin", faultproxy.ControlAccess{}, "POST", map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403},
		{"DNS rebinding", faultproxy.ControlAccess{}, "POST", map[string]string{"Content-Type": "application/json", "Host": "evil.example:6433"}, 403},
		{"DNS rebinding, read", faultproxy.ControlAccess{}, "GET", map[string]string{"Host": "evil.example:6433"}, 403},
		{"DNS rebinding, delete", faultproxy.ControlAccess{}, "DELETE", map[string]string{"Host": "rebind.evil.example"}, 403},
		{"a name besides the configured one", faultproxy.ControlAccess{Hosts: []string{"10.9.8.7"}, Token: "t0ken"}, "POST",
			map[string]string{"Content-Type": "application/json", "Host": "evil.example:6433", "Authorization": "Bearer t0ken"}, 403},
		{"no token", faultproxy.ControlAccess{Token: "t0ken"}, "POST", map[string]string{"Content-Type": "application/json"}, 401},
		{"wrong token", faultproxy.ControlAccess{Token: "t0ken"}, "POST", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer t0kem"}, 401},
		{"token as basic", faultproxy.ControlAccess{Token: "t0ken"}, "GET", map[string]string{"Authorization": "Basic t0ken"}, 401},
		{"loopback", faultproxy.ControlAccess{}, "POST", map[string]string{"Content-Type": "application/json"}, 201},
		{"json with charset", faultproxy.ControlAccess{}, "POST", map[string]string{"Content-Type": "application/json; charset=utf-8"}, 201},
		{"localhost", faultproxy.ControlAccess{}, "POST", map[string]string{"Content-Type": "application/json", "Host": "localhost:6433", "Origin": "http://localhost:6433"}, 201},
		{"IPv6 loopback", faultproxy.ControlAccess{}, "GET", map[string]string{"Host": "[::1]:6433"}, 200},
		{"the configured address", faultproxy.ControlAccess{Hosts: []string{"10.9.8.7"}, Token: "t0ken"}, "POST",
			map[string]string{"Content-Type": "application/json", "Host": "10.9.8.7:6433", "Authorization": "Bearer t0ken"}, 201},
		{"every interface", faultproxy.ControlAccess{Hosts: []string{"0.0.0.0"}, Token: "t0ken"}, "GET",
			map[string]string{"Host": "192.0.2.1:6433", "Authorization": "Bearer t0ken"}, 200},
		{"every interface, a name", faultproxy.ControlAccess{Hosts: []string{""}, Token: "t0ken"}, "GET",
			map[string]string{"Host": "evil.example:6433", "Authorization": "Bearer t0ken"}, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p.Clear()
			srv := httptest.NewServer(p.Handler(tt.access))
			defer srv.Close()
			var body *strings.Reader
			if tt.method == "POST" {
				body = strings.NewReader(fault)
			} else {
				body = strings.NewReader("")
			}
			req, err := http.NewRequestWithContext(ctx, tt.method, srv.URL+"/faults", body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.want)
			}
			if added := len(p.Faults()); tt.want >= 400 && added != 0 {
				t.Errorf("%s: refused, but %d faults added", tt.name, added)
			}
		})
	}
}
