package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// exporterFlags are the listener flags every Prometheus exporter has (exporter-toolkit's names), so that the
// deployment habits of node_exporter or blackbox_exporter carry over: --web.listen-address, --web.config.file
// (TLS and basic auth). --metrics-addr, the older name, is an alias.
type exporterFlags struct {
	listen, alias []string
	configFile    string
}

func (e *exporterFlags) register(f *pflag.FlagSet) {
	f.StringSliceVar(&e.listen, "web.listen-address", nil, "serve the exporter (/metrics, /-/healthy, /-/ready, a landing page at /) at this address, e.g. :9188; repeat for several")
	f.StringVar(&e.configFile, "web.config.file", "", "exporter-toolkit web configuration file: TLS and basic auth of the listener")
	f.StringSliceVar(&e.alias, "metrics-addr", nil, "the same as --web.listen-address")
}

func (e *exporterFlags) addresses() []string {
	return append(append([]string(nil), e.listen...), e.alias...)
}

// exporter is a running exporter listener.
type exporter struct {
	servers []*http.Server
}

// startExporter validates the web configuration, listens on every address and serves mux there (behind
// exporter-toolkit's TLS and basic auth), with the landing page, /-/healthy and /-/ready added. ready says whether
// the process is ready to be scraped. Errors are for the command line: a bad address or web configuration.
func startExporter(e exporterFlags, mux *http.ServeMux, ready func() (bool, string), errOut io.Writer) (*exporter, error) {
	addrs := e.addresses()
	if len(addrs) == 0 {
		if e.configFile != "" {
			return nil, errors.New("--web.config.file needs --web.listen-address")
		}
		return &exporter{}, nil
	}
	scheme := "http"
	if e.configFile != "" {
		if err := web.Validate(e.configFile); err != nil {
			return nil, fmt.Errorf("--web.config.file: %w", err)
		}
		tls, err := webConfigHasTLS(e.configFile)
		if err != nil {
			return nil, fmt.Errorf("--web.config.file: %w", err)
		}
		if tls {
			scheme = "https"
		}
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "pgtriage",
		Description: "Diagnoses failing PostgreSQL connections; watch's metrics for Prometheus.",
		Version:     version.Info(),
		Profiling:   "false",
		Links: []web.LandingLinks{
			{Address: "/metrics", Text: "Metrics"},
			{Address: "/probe?target=NAME", Text: "Probe", Description: "one check of a target of the config file, blackbox_exporter's way"},
			{Address: "/-/healthy", Text: "Health", Description: "200 while the process runs"},
			{Address: "/-/ready", Text: "Readiness", Description: "200 once every target has a first result"},
		},
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", landing)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.Handle("/-/ready", readyHandler(ready))
	// exporter-toolkit logs at Info every listen; only its warnings and errors (bad credentials, TLS handshakes)
	// are worth an operator's attention.
	handler := slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn})
	logger := slog.New(handler)
	ex := &exporter{}
	flags := &web.FlagConfig{WebConfigFile: &e.configFile}
	for _, a := range addrs {
		// Listening here rather than in web.ListenAndServe gives a usage error at once and, for port 0, the address.
		ln, err := net.Listen("tcp", a)
		if err != nil {
			ex.stop()
			return nil, fmt.Errorf("--web.listen-address: %w", err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(handler, slog.LevelWarn)}
		ex.servers = append(ex.servers, srv)
		go func() {
			if err := web.Serve(ln, srv, flags, logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(errOut, "pgtriage watch: exporter:", err)
			}
		}()
		fmt.Fprintf(errOut, "pgtriage watch: metrics at %s://%s/metrics\n", scheme, ln.Addr())
	}
	return ex, nil
}

// stop shuts the listeners down, waiting a little for scrapes in flight.
func (ex *exporter) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range ex.servers {
		_ = s.Shutdown(ctx)
	}
}

// readyHandler answers 200 when ready says so and 503 with its reason otherwise, as Prometheus's own /-/ready does.
func readyHandler(ready func() (bool, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ok, why := ready()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
}

// webConfigHasTLS reads whether the web configuration turns TLS on, to print the right URL.
func webConfigHasTLS(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var c web.Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return false, err
	}
	return c.TLSConfig.IsEnabled(), nil
}

// buildInfo returns the collector of pgtriage_build_info. Release builds set version.Version and version.Revision
// with -ldflags -X; others take what the Go toolchain recorded (the module version, "(devel)" from a checkout).
func buildInfo() prometheus.Collector {
	if version.Version == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			version.Version = bi.Main.Version
		}
	}
	return versioncollector.NewCollector("pgtriage")
}
