//go:build !linux

package cairninit

import (
	"errors"
	"time"
)

var errNotLinux = errors.New("cairn-init only runs on Linux")

type otherMachine struct{}

// NewMachine returns a Machine whose every step fails: cairn-init only
// runs on Linux.
func NewMachine() Machine { return otherMachine{} }

func (otherMachine) MountKernelFS() error              { return errNotLinux }
func (otherMachine) Cmdline() (string, error)          { return "", errNotLinux }
func (otherMachine) Uptime() (time.Duration, error)    { return 0, errNotLinux }
func (otherMachine) LoadModules(*Log) error            { return errNotLinux }
func (otherMachine) Undo() error                       { return errNotLinux }
func (otherMachine) SwitchRoot(string, []string) error { return errNotLinux }
func (otherMachine) Shell() error                      { return ErrNoShell }
func (otherMachine) Halt()                             {}
func (otherMachine) FindRoot(RootSpec, time.Duration, *Log) ([]Device, error) {
	return nil, errNotLinux
}
func (otherMachine) MountStore([]Device, string, string) (string, error) { return "", errNotLinux }
func (otherMachine) Prepare(string, int, string, *Log) (string, error)   { return "", errNotLinux }
func (otherMachine) GrowStore(string, string) (string, error)            { return "", errNotLinux }
func (otherMachine) RAMImage() bool                                      { return false }
func (otherMachine) PrepareRAM(string, string, *Log) (string, error)     { return "", errNotLinux }
func (otherMachine) MountPersist([]Device, string, *Log) error           { return errNotLinux }

func syncTree(string) error { return errNotLinux }
func syncDir(string) error  { return errNotLinux }
