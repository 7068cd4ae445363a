package disk

import "errors"

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("disks are only supported on Linux")

// ErrNotBlockDevice says a path is not a block device.
var ErrNotBlockDevice = errors.New("not a block device")
