//go:build !linux

package btrfs

import (
	"context"
	"io"
	"os"
)

func IsBtrfs(string) (bool, error)                     { return false, ErrNotSupported }
func IsSubvolume(string) (bool, error)                 { return false, ErrNotSupported }
func CreateSubvolume(string) error                     { return ErrNotSupported }
func Snapshot(string, string, bool) error              { return ErrNotSupported }
func DeleteSubvolume(string) error                     { return ErrNotSupported }
func SubvolumeID(string) (uint64, error)               { return 0, ErrNotSupported }
func ReadOnly(string) (bool, error)                    { return false, ErrNotSupported }
func SetReadOnly(string, bool) error                   { return ErrNotSupported }
func Sync(string) error                                { return ErrNotSupported }
func Commit(string) (uint64, error)                    { return 0, ErrNotSupported }
func Info(string) (SubvolumeInfo, error)               { return SubvolumeInfo{}, ErrNotSupported }
func DefaultSubvolume(string) (uint64, error)          { return 0, ErrNotSupported }
func SetDefaultSubvolume(string, uint64) error         { return ErrNotSupported }
func EnableQuota(string) error                         { return ErrNotSupported }
func WaitQuotaRescan(string) error                     { return ErrNotSupported }
func EnableSimpleQuota(string) error                   { return ErrNotSupported }
func SimpleQuotaSupported() bool                       { return false }
func QgroupLimits(string, uint64) (QgroupLimit, error) { return QgroupLimit{}, ErrNotSupported }
func Quota(string) (QuotaStatus, error)                { return QuotaStatus{}, ErrNotSupported }
func CreateQgroup(string, uint64) error                { return ErrNotSupported }
func LimitQgroup(string, uint64, QgroupLimit) error    { return ErrNotSupported }
func Qgroup(string, uint64) (QgroupUsage, error)       { return QgroupUsage{}, ErrNotSupported }
func CloneFile(string, string) error                   { return ErrNotSupported }
func CopyFile(string, string) (bool, error)            { return false, ErrNotSupported }
func FileExtents(string) ([]Extent, error)             { return nil, ErrNotSupported }
func FileSystemInfo(string) (FileSystem, error)        { return FileSystem{}, ErrNotSupported }
func Flush(*os.File) error                             { return ErrNotSupported }

func Send(context.Context, string, string, io.Writer) error { return ErrNotSupported }
func SetReceived(string, UUID, uint64) error                { return ErrNotSupported }
