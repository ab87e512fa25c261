package faultproxy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgtriage/pgtriage/catalog"
)

// when is the point of the startup at which a server sends an error.
type when int

const (
	// beforeAuth: the server answers the StartupMessage with the error, so
	// the proxy does too, without asking the upstream.
	beforeAuth when = iota
	// afterAuth: the server sends AuthenticationOk, then the error.
	afterAuth
	// atPassword: the server answers the client's (last) password message
	// with the error.
	atPassword
)

// startupError is the ErrorResponse a PostgreSQL 15 server sends for one
// cause. The fields are those of a real 15.18 server (captured with pgx, see
// TestInjectedErrorsMatchServer), except where noted; L is that version's line
// and moves between minor versions.
type startupError struct {
	when    when
	code    string
	message string // fmt format with the arguments named by args
	args    []string
	detail  string
	file    string
	line    int32
	routine string
	// pooler marks PgBouncer's own errors: src/proto.c send_pooler_error sends only severity, SQLSTATE (08P01 when
	// it names none) and message, without the unlocalized severity, file, line and routine of a server.
	pooler bool
}

// startupErrors are the causes KindError can send.
var startupErrors = map[catalog.Code]startupError{
	catalog.LimitsTooManyConnections: {when: beforeAuth, code: "53300", message: "sorry, too many clients already",
		file: "proc.c", line: 357, routine: "InitProcess"},
	catalog.LimitsReservedSlots: {when: afterAuth, code: "53300",
		message: "remaining connection slots are reserved for non-replication superuser connections",
		file:    "postinit.c", line: 886, routine: "InitPostgres"},
	// starting up and recovery cannot be produced on demand; their lines are
	// placed from the shutting-down one (2432) by the layout of
	// ProcessStartupPacket in REL_15_STABLE.
	catalog.ServerStartingUp: {when: beforeAuth, code: "57P03", message: "the database system is starting up",
		file: "postmaster.c", line: 2415, routine: "ProcessStartupPacket"},
	catalog.ServerShuttingDown: {when: beforeAuth, code: "57P03", message: "the database system is shutting down",
		file: "postmaster.c", line: 2432, routine: "ProcessStartupPacket"},
	catalog.ServerRecovery: {when: beforeAuth, code: "57P03", message: "the database system is in recovery mode",
		file: "postmaster.c", line: 2437, routine: "ProcessStartupPacket"},
	catalog.AuthPasswordFailed: {when: atPassword, code: "28P01", message: `password authentication failed for user "%s"`,
		args: []string{"user"}, file: "auth.c", line: 334, routine: "auth_failed"},
	catalog.AuthHBARejected: {when: beforeAuth, code: "28000",
		message: `no pg_hba.conf entry for host "%s", user "%s", database "%s", %s`,
		args:    []string{"client_addr", "user", "database", "encryption"},
		file:    "auth.c", line: 544, routine: "ClientAuthentication"},
	catalog.AuthRoleNotFound: {when: afterAuth, code: "28000", message: `role "%s" does not exist`,
		args: []string{"user"}, file: "miscinit.c", line: 768, routine: "InitializeSessionUserId"},
	catalog.DBNotFound: {when: afterAuth, code: "3D000", message: `database "%s" does not exist`,
		args: []string{"database"}, file: "postinit.c", line: 948, routine: "InitPostgres"},

	// PgBouncer 1.18's words (the Debian package; TestInjectedPoolerErrorsMatchPgBouncer compares the first three
	// with a real one): src/client.c, src/objects.c and src/janitor.c at tag pgbouncer_1_18_0, but for one. A pooler's login
	// waits for a server connection after the client's password, hence atPassword for the two that follow it;
	// query_wait_timeout comes on the first query of a session that logged in, which afterAuth stands for.
	catalog.PoolerClientLimit: {when: beforeAuth, code: "08P01", message: "no more connections allowed (max_client_conn)", pooler: true},
	catalog.PoolerDBNotFound:  {when: beforeAuth, code: "08P01", message: "no such database: %s", args: []string{"database"}, pooler: true},
	catalog.PoolerTLSRequired: {when: beforeAuth, code: "08P01", message: "SSL required", pooler: true},
	// PgBouncer 1.22 on (src/objects.c check_fast_fail at 13a344f2): 1.18 says "try again later" instead of the
	// cached error, also when the server is merely down.
	catalog.PoolerServerLoginFailed: {when: atPassword, code: "08P01", pooler: true, args: []string{"user"},
		message: `server login has been failing, cached error: password authentication failed for user "%s" (server_login_retry)`},
	catalog.PoolerServerUnavailable: {when: atPassword, code: "08P01", message: "client_login_timeout (server down)", pooler: true},
	catalog.PoolerWaitTimeout:       {when: afterAuth, code: "08P01", message: "query_wait_timeout", pooler: true},
}

func startupCauses() string {
	var s []string
	for c := range startupErrors {
		s = append(s, string(c))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// encode renders the ErrorResponse for facts (user, database, client_addr,
// encryption).
func (e startupError) encode(facts map[string]string) []byte {
	args := make([]any, len(e.args))
	for i, a := range e.args {
		args[i] = facts[a]
	}
	msg := e.message
	if len(args) > 0 {
		msg = fmt.Sprintf(e.message, args...)
	}
	r := &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: e.code, Message: msg,
		Detail: e.detail, File: e.file, Line: e.line, Routine: e.routine}
	if e.pooler {
		r.SeverityUnlocalized = ""
	}
	b, _ := r.Encode(nil)
	return b
}

// terminated57P01 is what a backend sends when pg_terminate_backend ends it
// (ProcessInterrupts, captured from 15.18).
var terminated57P01 = mustEncode(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL",
	Code: "57P01", Message: "terminating connection due to administrator command",
	File: "postgres.c", Line: 3211, Routine: "ProcessInterrupts"})

// crashed57P02 is what every backend sends when another one crashed
// (quickdie, captured from 15.18): since PostgreSQL 14 a WARNING sent as a
// NoticeResponse, after which the server closes the connection.
var crashed57P02 = mustEncode(&pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING",
	Code: "57P02", Message: "terminating connection because of crash of another server process",
	Detail: "The postmaster has commanded this server process to roll back the current transaction and exit, " +
		"because another server process exited abnormally and possibly corrupted shared memory.",
	Hint: "In a moment you should be able to reconnect to the database and repeat your command.",
	File: "postgres.c", Line: 2895, Routine: "quickdie"})

func mustEncode(m pgproto3.BackendMessage) []byte {
	b, err := m.Encode(nil)
	if err != nil {
		panic(err)
	}
	return b
}
