package faultproxy

import (
	"encoding/json"
	"fmt"
	"net/http"
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
// Errors are 400 with {"error": "..."}. The handler has no authentication:
// serve it on loopback only.
func (p *Proxy) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, p.Faults())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
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
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An error here means the client went away: there is no one to tell.
	_ = json.NewEncoder(w).Encode(v)
}
