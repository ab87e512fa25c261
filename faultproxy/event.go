package faultproxy

import "time"

// Event is one thing the proxy did to one connection.
type Event struct {
	Time     time.Time `json:"time"`
	Conn     uint64    `json:"conn"`   // connection number, unique per proxy
	Client   string    `json:"client"` // client address:port
	User     string    `json:"user,omitempty"`
	Database string    `json:"database,omitempty"`
	App      string    `json:"application_name,omitempty"`
	Type     EventType `json:"type"`
	FaultID  string    `json:"fault_id,omitempty"`
	Kind     Kind      `json:"kind,omitempty"`
	Code     string    `json:"sqlstate,omitempty"` // SQLSTATE of an error the proxy sent
	Detail   string    `json:"detail,omitempty"`   // never a password
}

// EventType says what an Event reports.
type EventType string

// Event types.
const (
	EventAccepted EventType = "accepted" // a client connected
	EventSession  EventType = "session"  // the upstream answered the startup with ReadyForQuery
	EventFault    EventType = "fault"    // a fault acted (FaultID, Kind, Code)
	EventClosed   EventType = "closed"   // the client connection is closed
)
