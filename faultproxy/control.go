package faultproxy

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// maxFaultBody bounds the JSON of one fault sent to the control API.
const maxFaultBody = 64 << 10

// Handler is the HTTP control API of p, served by `pgtriage proxy --control`:
//
//	GET    /faults       the faults in force, a JSON array
//	POST   /faults       add the Fault in the JSON body; 201 with the stored fault (its id)
//	DELETE /faults/{id}  remove one fault; 204, or 404 when there is none
//	DELETE /faults       remove every fault; 204
//	GET    /sessions     {"sessions": N}, the client connections open now
//
// Errors are 400 with {"error": "..."}.
//
// A web page in a browser must not be able to change faults, neither by posting a form to a loopback port nor by
// DNS rebinding (a name of the page's site that resolves to 127.0.0.1): every request must name in Host, and in
// Origin when it has one, a loopback address, localhost or one of access.Hosts; a POST must be application/json,
// which a form cannot send without a CORS preflight that this handler never allows. These checks are refused with
// 403 and 415. With access.Token set, every request must also carry "Authorization: Bearer TOKEN" (401 otherwise):
// serve the handler on a non-loopback address only so.
func (p *Proxy) Handler(access ControlAccess) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, p.Faults())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "the body must be JSON: Content-Type: application/json"})
			return
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFaultBody))
		dec.DisallowUnknownFields()
		var f Fault
		if err := dec.Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "fault JSON: " + err.Error()})
			return
		}
		f, err := p.Add(f)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, f)
	})
	mux.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !p.Remove(r.PathValue("id")) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no fault with id %q", r.PathValue("id"))})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, _ *http.Request) {
		p.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"sessions": p.Sessions()})
	})
	return access.guard(mux)
}

// ControlAccess says who may use the control API; see [Proxy.Handler].
type ControlAccess struct {
	// Token, when set, must come with every request as "Authorization: Bearer TOKEN".
	Token string
	// Hosts are the names and addresses, besides loopback ones and localhost, that requests may name in Host and
	// Origin: those of the address the API is served on. An unspecified address (0.0.0.0, ::) admits every IP
	// address, which DNS rebinding cannot use: it needs a name.
	Hosts []string
}

func (a ControlAccess) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.allowed(r.Host) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "Host must name this control API's address (a loopback address or localhost)"})
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || u.Host == "" || !a.allowed(u.Host) {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "requests from a web page of another site are refused"})
				return
			}
		}
		if a.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
				w.Header().Set("WWW-Authenticate", "Bearer")
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid control token is required (Authorization: Bearer ...)"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// allowed tells whether hostport (a Host header or an Origin's host) names this API.
func (a ControlAccess) allowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	addr, err := netip.ParseAddr(host)
	if host == "localhost" || err == nil && addr.IsLoopback() || slices.Contains(a.Hosts, host) {
		return true
	}
	return err == nil && slices.ContainsFunc(a.Hosts, func(h string) bool {
		u, err := netip.ParseAddr(h)
		return h == "" || err == nil && u.IsUnspecified()
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An error here means the client went away: there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}
