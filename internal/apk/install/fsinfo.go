package install

// fileStat is what the installer needs to know of an existing entry.
type fileStat struct {
	Mode     uint32 // type and permission bits, as st_mode
	UID, GID int
	Size     int64
}

// File type bits of st_mode.
const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFLNK = 0o120000
	sIFCHR = 0o020000
	sIFBLK = 0o060000
	sIFIFO = 0o010000
)

func (s fileStat) isDir() bool     { return s.Mode&sIFMT == sIFDIR }
func (s fileStat) isSymlink() bool { return s.Mode&sIFMT == sIFLNK }
