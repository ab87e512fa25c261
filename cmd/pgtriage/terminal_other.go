//go:build !windows

package main

import "os"

// enableEscapes: Unix terminals take escape sequences as they are.
func enableEscapes(*os.File) bool { return true }
