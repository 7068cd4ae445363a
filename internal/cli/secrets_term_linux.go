package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/secrets"
)

// askPassphrase asks for an SSH key's passphrase on the controlling
// terminal, without echo.
func askPassphrase(*Globals) secrets.Passphrase {
	return func(file string) ([]byte, error) {
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("%s is protected by a passphrase and there is no terminal to ask it on", file)
		}
		defer tty.Close()
		fd := int(tty.Fd())
		old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return nil, err
		}
		quiet := *old
		quiet.Lflag &^= unix.ECHO
		quiet.Lflag |= unix.ICANON | unix.ISIG
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
			return nil, err
		}
		defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
		fmt.Fprintf(tty, "Passphrase for %s: ", file)
		line, err := bufio.NewReader(tty).ReadBytes('\n')
		fmt.Fprintln(tty)
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}
