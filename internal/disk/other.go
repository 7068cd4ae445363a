//go:build !linux

package disk

import "os"

type Loop struct{ Dev string }

func AttachLoop(string, int64, int64) (*Loop, error) { return nil, ErrNotSupported }
func (l *Loop) Detach() error                        { return ErrNotSupported }

type Partition struct {
	Disk   string
	Number int
}

func PartitionOf(string) (Partition, error)             { return Partition{}, ErrNotSupported }
func Size(*os.File) (int64, error)                      { return 0, ErrNotSupported }
func SectorSize(*os.File) (int, error)                  { return 0, ErrNotSupported }
func InUse(string) ([]string, error)                    { return nil, ErrNotSupported }
func RereadPartitions(*os.File) error                   { return ErrNotSupported }
func ResizePartition(*os.File, int, int64, int64) error { return ErrNotSupported }

type GrowResult struct{ Device string }

func (r GrowResult) Changed() bool  { return false }
func (r GrowResult) String() string { return "" }

func Grow(string, string) (GrowResult, error) { return GrowResult{}, ErrNotSupported }

type Mount struct{ Point, Root, Source, Type, Dev string }

func Mounts() ([]Mount, error)                   { return nil, ErrNotSupported }
func MountOf([]Mount, string) (Mount, bool)      { return Mount{}, false }
func FSSpec(string) (string, Signature, error)   { return "", Signature{}, ErrNotSupported }
func FindFS(string) (string, Signature, error)   { return "", Signature{}, ErrNotSupported }
func DevicesOf([]Mount, string) ([]Mount, error) { return nil, ErrNotSupported }
