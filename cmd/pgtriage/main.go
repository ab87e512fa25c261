// Command pgtriage finds out why a PostgreSQL connection fails, says whether the failure is transient or persistent,
// and tells the user what to do next.
package main

import "os"

func main() {
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
