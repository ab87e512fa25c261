package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/catalog"
)

// codeInfo is one cause code as `codes --format json` lists it: what alert routing and scripts key on.
type codeInfo struct {
	Code      catalog.Code     `json:"code"`
	Category  catalog.Category `json:"category"`
	Transient bool             `json:"transient"`
	Summary   string           `json:"summary"`
	// Steps are the generic next steps; check and explain fill the placeholders ({host}, <resource-group>) with
	// what they found.
	Steps []string `json:"steps"`
}

func newCodesCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "codes [flags]",
		Short: "List every cause code with its category, whether it is transient, and its summary",
		Long: `codes lists the cause codes that check, explain, watch and the retry package name, from the
catalog this binary carries: the code, its category, whether the failure is transient (retrying
can help) or persistent (something must change), and a summary. Codes may be added, never renamed,
so alert routing and scripts can key on them. --format json adds the generic next steps;
--format markdown writes docs/causes.md.`,
		Example: `  pgtriage codes
  pgtriage codes --format json | jq -r '.codes[] | select(.transient) | .code'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			var err error
			switch format {
			case "text":
				err = writeCodesText(out)
			case "json":
				err = writeJSON(out, struct {
					SchemaVersion int        `json:"schema_version"`
					Codes         []codeInfo `json:"codes"`
				}{schemaVersion, codeInfos()})
			case "markdown":
				err = writeCodesMarkdown(out)
			default:
				return usageError("--format must be text, json or markdown, not %q", format)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or markdown")
	return cmd
}

// schemaVersion is the version of every command's JSON output (docs/schema): raised when a field is renamed or
// removed, not when one is added.
const schemaVersion = 1

func codeInfos() []codeInfo {
	var out []codeInfo
	for _, c := range catalog.All() {
		out = append(out, codeInfo{Code: c.Code, Category: c.Category, Transient: c.Transient,
			Summary: c.SummaryFor(catalog.Facts{}), Steps: c.Steps(catalog.Facts{})})
	}
	return out
}

func kindOf(c codeInfo) string {
	if c.Category == catalog.None {
		return "-"
	}
	return transientWord(c.Transient)
}

func transientWord(transient bool) string {
	if transient {
		return "transient"
	}
	return "persistent"
}

func writeCodesText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tCATEGORY\tKIND\tSUMMARY")
	for _, c := range codeInfos() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Code, c.Category, kindOf(c), c.Summary)
	}
	return tw.Flush()
}

// writeCodesMarkdown writes docs/causes.md; TestCausesDocCurrent fails when the file in the repository differs.
func writeCodesMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Cause codes\n\n")
	b.WriteString("<!-- Generated from the catalog by `pgtriage codes --format markdown`; do not edit. Regenerate with\n")
	b.WriteString("     `go test ./cmd/pgtriage -run TestCausesDocCurrent -update`. -->\n\n")
	b.WriteString("Every diagnosis of `check`, `explain`, `watch` and the `retry` package names one of these codes. Codes may be\n")
	b.WriteString("added, never renamed. *Transient* means retrying can help; *persistent* means something must change first.\n")
	b.WriteString("Steps show placeholders (`{host}`, `<resource-group>`) where a diagnosis fills in what it found; for a\n")
	b.WriteString("managed service (Azure, RDS, Cloud SQL, Supabase, Neon) the steps are in that service's terms.\n\n")
	b.WriteString("| Code | Category | Kind | Summary |\n|---|---|---|---|\n")
	infos := codeInfos()
	for _, c := range infos {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", c.Code, anchor(c.Code), c.Category, kindOf(c), mdCell(c.Summary))
	}
	for _, c := range infos {
		fmt.Fprintf(&b, "\n## %s\n\n%s (%s, %s)\n", c.Code, mdText(c.Summary), c.Category, kindOf(c))
		if len(c.Steps) > 0 {
			b.WriteString("\n")
		}
		for i, s := range c.Steps {
			fmt.Fprintf(&b, "%d. %s\n", i+1, mdText(s))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// anchor is the heading anchor GitHub makes of a code: lower case, '.' dropped.
func anchor(c catalog.Code) string { return strings.ReplaceAll(string(c), ".", "") }

// mdCell makes text a table cell: '|' escaped, and placeholders like <role> shown rather than taken as HTML.
func mdCell(s string) string { return strings.ReplaceAll(mdText(s), "|", `\|`) }

// mdText escapes '<' outside `code spans` (inside them Markdown shows it as it is).
func mdText(s string) string {
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = strings.ReplaceAll(parts[i], "<", `\<`)
	}
	return strings.Join(parts, "`")
}
