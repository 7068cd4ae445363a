//go:build !linux

package install

import "context"

// execScript: scripts run in cairn's sandbox, which needs Linux.
func (t *txn) execScript(context.Context, string, []byte, []string) ([]byte, error) {
	return nil, ErrUnsupported
}
