//go:build !linux

package cli

import "github.com/cairnlinux/cairn/internal/secrets"

// askPassphrase: no terminal handling off Linux; a protected SSH key
// cannot be used there.
func askPassphrase(*Globals) secrets.Passphrase { return nil }
