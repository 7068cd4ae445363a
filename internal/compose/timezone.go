package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// writeTimezone does what Alpine's setup-timezone does with tzdata
// installed: it copies /usr/share/zoneinfo/ZONE to /etc/zoneinfo/ZONE and
// links /etc/localtime to zoneinfo/ZONE, so the zone keeps working if
// tzdata is removed. UTC (or no zone) needs nothing: musl's default.
func writeTimezone(r *rootFS, sys *manifest.System) error {
	zone := sys.Timezone
	if zone == "" || zone == "UTC" {
		return nil
	}
	if err := checkZone(zone); err != nil {
		return fmt.Errorf("timezone: %w", err)
	}
	data, err := r.readFile("usr/share/zoneinfo/" + zone)
	if errors.Is(err, fs.ErrNotExist) {
		if ok, _ := r.isDir("usr/share/zoneinfo"); !ok {
			return fmt.Errorf("timezone: %s needs the time zone database: add tzdata to packages", zone)
		}
		return fmt.Errorf("timezone: %q is not a zone of the tz database in /usr/share/zoneinfo (Europe/Berlin, America/New_York, ...)", zone)
	}
	if err != nil {
		return fmt.Errorf("timezone: %s: %w", zone, err)
	}
	if !bytes.HasPrefix(data, []byte("TZif")) {
		return fmt.Errorf("timezone: /usr/share/zoneinfo/%s is not a TZif zone file", zone)
	}
	if err := r.writeFile("etc/zoneinfo/"+zone, data, 0o644, 0, 0); err != nil {
		return fmt.Errorf("timezone: %w", err)
	}
	if err := r.symlink("etc/localtime", "zoneinfo/"+zone, 0, 0); err != nil {
		return fmt.Errorf("timezone: %w", err)
	}
	return nil
}

// checkZone accepts tz database names: relative slash-separated
// components of letters, digits, '_', '-', '+' and '.', never "." or "..".
func checkZone(zone string) error {
	for _, c := range strings.Split(zone, "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("%q is not a time zone name (Europe/Berlin)", zone)
		}
		for i := 0; i < len(c); i++ {
			b := c[i]
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("_-+.", b) >= 0) {
				return fmt.Errorf("%q is not a time zone name (Europe/Berlin)", zone)
			}
		}
	}
	return nil
}
