// Command growcmd runs disk.Grow on the store's file system of a running
// cairn system (the device mounted at /run/cairn/store), as cairn-init
// does at boot: the boot tests put it into a generation to run the
// growth where cairn-init does not (yet) call it.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/cairnlinux/cairn/internal/disk"
)

func main() {
	mnt := "/run/cairn/store"
	if len(os.Args) > 1 {
		mnt = os.Args[1]
	}
	dev, err := source(mnt)
	if err != nil {
		fmt.Println("GROW FAILED:", err)
		os.Exit(1)
	}
	res, err := disk.Grow(dev, mnt)
	if err != nil {
		fmt.Println("GROW FAILED:", err)
		os.Exit(1)
	}
	fmt.Printf("GROW: %s\n", res)
	fmt.Printf("GROW SIZES: partition %d %d fs %d %d\n", res.PartitionBefore, res.PartitionAfter, res.FSBefore, res.FSAfter)
}

// source returns the device mounted at mnt.
func source(mnt string) (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		for i, x := range fs {
			if x == "-" && len(fs) > 4 && fs[4] == mnt && i+2 < len(fs) {
				return fs[i+2], nil
			}
		}
	}
	return "", fmt.Errorf("nothing is mounted on %s", mnt)
}
