//go:build !linux

package image

import "context"

func (d Disk) writeImage(context.Context, *DiskPlan, Source, string) (Result, error) {
	return Result{}, errNotLinux
}

// WriteOnto writes the planned disk onto path (Linux only).
func (d Disk) WriteOnto(context.Context, *DiskPlan, Source, string) error { return errNotLinux }
