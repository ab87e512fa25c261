package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/explain"
	"github.com/pgtriage/pgtriage/internal/termtext"
)

func newExplainCmd() *cobra.Command {
	var format, file string
	cmd := &cobra.Command{
		Use:   "explain [flags] [TEXT...]",
		Short: "Explain an error message, a stack trace or a whole log: the cause, whether it is transient, what to do",
		Long: `explain reads what a client or the server printed (psql, pgx, lib/pq, PgJDBC, Npgsql, psycopg,
node-postgres, SQLAlchemy, Django, Prisma, sqlx, Ruby pg, PHP PDO, the server log) and names each
distinct cause of a connection failure in it, with the same codes and next steps as check.

The text comes from the arguments (joined with spaces), from --file, or from standard input when
the only argument is "-" or when there is no argument and standard input is not a terminal. A
lone argument that names an existing file is read as that file. A
multi-line message (libpq's DETAIL and HINT lines, a Java stack trace with "Caused by:", a Python
traceback) is one message; in a log, each cause is listed once with how often and from which line
it occurs, the most frequent first. Lines longer than 1 MiB are cut.

Exit codes: 0 a cause was recognised, 1 nothing was, 3 bad usage (unreadable file, bad format).`,
		Example: `  pgtriage explain 'FATAL:  password authentication failed for user "app"'
  pgtriage explain --format json "failed to connect to ` + "`user=app database=orders`" + `: ... (SQLSTATE 53300)"
  kubectl logs deploy/orders-api | pgtriage explain
  pgtriage explain --file /var/log/postgresql/postgresql-16-main.log
  pgtriage explain /var/log/postgresql/postgresql-16-main.log
  pbpaste | pgtriage explain -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			in, name, err := explainInput(cmd.InOrStdin(), file, args)
			if err != nil {
				return &exitError{Code: usageExit, Err: err}
			}
			if f, ok := in.(*os.File); ok && file != "" && file != "-" {
				defer f.Close()
			}
			matches, err := explain.Scan(in)
			if err != nil {
				return usageError("reading %s: %w", name, err)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if matches == nil {
					matches = []explain.Match{}
				}
				if err := writeJSON(out, struct {
					Matches []explain.Match `json:"matches"`
				}{matches}); err != nil {
					return &exitError{Code: usageExit, Err: err}
				}
			} else {
				writeExplainText(out, matches, name)
			}
			if len(matches) == 0 {
				return &exitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&file, "file", "", "read the text from this file (a log, a saved stack trace); - for standard input")
	return cmd
}

// explainInput picks where the text comes from, and a name for it in messages.
func explainInput(stdin io.Reader, file string, args []string) (io.Reader, string, error) {
	switch {
	case file != "" && len(args) > 0:
		return nil, "", errors.New("give the text as arguments or with --file, not both")
	case file == "-" || file == "" && len(args) == 1 && args[0] == "-":
		return stdin, "standard input", nil
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return nil, "", err
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, "", fmt.Errorf("%s is a directory", file)
		}
		return f, file, nil
	case len(args) == 1 && namesFile(args[0]):
		// `explain /var/log/postgresql/x.log` means the file: an error message is never the path of an existing
		// regular file, while taking the path as text would say "nothing recognised" about a log full of causes.
		return explainInput(stdin, args[0], nil)
	case len(args) > 0:
		return strings.NewReader(strings.Join(args, " ")), "the arguments", nil
	}
	if isTerminal(stdin) {
		return nil, "", errors.New("no text to explain: give it as arguments, with --file, or on standard input (see pgtriage explain --help)")
	}
	return stdin, "standard input", nil
}

// namesFile says whether a lone argument is the path of an existing regular file rather than message text.
func namesFile(arg string) bool {
	if strings.ContainsAny(arg, "\n") {
		return false
	}
	st, err := os.Stat(arg)
	return err == nil && st.Mode().IsRegular()
}

func writeExplainText(w io.Writer, matches []explain.Match, name string) {
	if len(matches) == 0 {
		fmt.Fprintf(w, "No connection problem recognised in %s.\n", termtext.Escape(name))
		fmt.Fprintln(w, "Run `pgtriage check` with the same connection settings to test each layer in turn.")
		return
	}
	for i, m := range matches {
		if i > 0 {
			fmt.Fprintln(w)
		}
		times := "once"
		if m.Count > 1 {
			times = fmt.Sprintf("%d times", m.Count)
		}
		fmt.Fprintf(w, "%s  (%s, %s)  %s, first at line %d\n", m.Code, m.Category, transientWord(m.Transient), times, m.FirstLine)
		if m.SQLState != "" {
			fmt.Fprintf(w, "  SQLSTATE %s\n", m.SQLState)
		}
		// The evidence is the user's log, and the steps and summary hold facts from it: escaped for the terminal.
		fmt.Fprintf(w, "  %s\n", termtext.Escape(m.Summary))
		fmt.Fprintln(w, "  Evidence:")
		for _, line := range strings.Split(m.Evidence, "\n") {
			fmt.Fprintf(w, "    | %s\n", termtext.Escape(strings.TrimRight(line, " \t\r")))
		}
		fmt.Fprintln(w, "  Next steps:")
		for j, s := range m.Steps {
			fmt.Fprintf(w, "    %d. %s\n", j+1, termtext.Escape(s))
		}
	}
}
