package catalog

// Diagnosis is a verdict: one cause, with the evidence found and its steps filled with the facts. probe's check
// reports one, and watch's event log keeps them, so the type lives here, below both.
type Diagnosis struct {
	Code      Code     `json:"code"`
	Category  Category `json:"category"`
	Transient bool     `json:"transient"`
	SQLState  string   `json:"sqlstate,omitempty"`
	Summary   string   `json:"summary"`
	Evidence  string   `json:"evidence,omitempty"`
	Steps     []string `json:"steps"`
	// ClientAddress is the client address the server named (in a pg_hba rejection) or reported once connected:
	// after NAT or a proxy it is not the address the client thinks it has.
	ClientAddress string `json:"client_address,omitempty"`
	// Side says, when a pooler answered, whether the pooler itself refused the client ("pooler") or the failure
	// lies behind it ("server").
	Side string `json:"side,omitempty"`
}
