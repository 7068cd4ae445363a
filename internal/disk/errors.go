package disk

import "errors"

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("disks are only supported on Linux")

// ErrNotBlockDevice says a path is not a block device.
var ErrNotBlockDevice = errors.New("not a block device")

// ErrNoSuchFS says no block device of this machine holds the file system
// a spec (UUID=…, LABEL=…) names.
var ErrNoSuchFS = errors.New("no block device holds it")
