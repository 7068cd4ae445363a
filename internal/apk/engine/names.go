package engine

import (
	"errors"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/install"
	"github.com/cairnlinux/cairn/internal/apk/repo"
)

// TestFiles are apk-tools' plain-text test files (WithTestMode).
type TestFiles = database.TestOptions

// TestModeTime is the clock of apk-tools' test mode.
const TestModeTime = database.TestModeTime

// NativeArch is apk's name for the architecture cairn runs on.
func NativeArch() string { return database.NativeArch() }

// ParseRepositories reads repository lines as apk's
// etc/apk/repositories has them ("[@tag] URL"), for WithRepositories.
func ParseRepositories(lines []string) ([]repo.Repository, error) {
	var out []repo.Repository
	for _, l := range lines {
		r, err := repo.ParseRepository(l)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// NotVerified reports whether err means that something did not verify: a
// bad or missing signature, a checksum or size that does not match, a
// damaged package or index, a file whose content is not the package's.
func NotVerified(err error) bool {
	var fe *apkfile.FormatError
	var me *repo.MismatchError
	var ie *install.IdentityError
	return apkfile.IsUntrusted(err) || errors.As(err, &fe) || errors.As(err, &me) || errors.As(err, &ie)
}
