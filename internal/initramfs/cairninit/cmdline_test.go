package cairninit

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCmdline(t *testing.T) {
	cases := []struct {
		line string
		want Cmdline
	}{
		{
			line: "BOOT_IMAGE=/vmlinuz root=UUID=2df710a3-b706-4cee-8c09-217cbdbae791 rootfstype=btrfs console=ttyS0 quiet",
			want: Cmdline{Root: "UUID=2df710a3-b706-4cee-8c09-217cbdbae791", RootFSType: "btrfs", Quiet: true, RootWait: DefaultRootWait},
		},
		{
			line: `root=LABEL="my disk" cairn.gen=12 init=/sbin/openrc-init rootflags=compress=zstd,subvol=@cairn/generations/3 cairn.rootwait=2.5`,
			want: Cmdline{Root: "LABEL=my disk", Gen: 12, Init: "/sbin/openrc-init", RootFlags: "compress=zstd,subvol=@cairn/generations/3", RootWait: 2500 * time.Millisecond},
		},
		{
			line: "root=/dev/vda rd.break",
			want: Cmdline{Root: "/dev/vda", Break: true, RootWait: DefaultRootWait},
		},
		{
			line: "root=/dev/vda cairn.break=1 -- cairn.gen=4 single",
			want: Cmdline{Root: "/dev/vda", Break: true, RootWait: DefaultRootWait},
		},
		{
			line: "rd.break=pre-mount cairn.break=no",
			want: Cmdline{Break: false, RootWait: DefaultRootWait},
		},
		{
			line: "root=LABEL=a root=LABEL=b\n",
			want: Cmdline{Root: "LABEL=b", RootWait: DefaultRootWait},
		},
		{
			line: "cairn.gen=0 cairn.gen=x cairn.gen=-2 cairn.rootwait=soon cairn.rootwait=-1",
			want: Cmdline{RootWait: DefaultRootWait, Problems: []string{
				"cairn.gen=0: not a generation number (ignored)",
				"cairn.gen=x: not a generation number (ignored)",
				"cairn.gen=-2: not a generation number (ignored)",
				"cairn.rootwait=soon: want seconds, 0 to 3600 (ignored)",
				"cairn.rootwait=-1: want seconds, 0 to 3600 (ignored)",
			}},
		},
		{
			line: "root=LABEL=cairn cairn.default=3 cairn.default=none",
			want: Cmdline{Root: "LABEL=cairn", Default: 3, RootWait: DefaultRootWait, Problems: []string{
				"cairn.default=none: not a generation number (ignored)",
			}},
		},
		{line: "", want: Cmdline{RootWait: DefaultRootWait}},
	}
	for _, c := range cases {
		if got := ParseCmdline(c.line); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseCmdline(%q):\n got %+v\nwant %+v", c.line, got, c.want)
		}
	}
}

func TestTopFlags(t *testing.T) {
	keep, dropped := topFlags("compress=zstd,subvol=@cairn/generations/3,ro,,noatime,subvolid=260")
	if keep != "compress=zstd,noatime" || strings.Join(dropped, " ") != "subvol=@cairn/generations/3 ro subvolid=260" {
		t.Errorf("kept %q dropped %q", keep, dropped)
	}
	if keep, dropped := topFlags(""); keep != "" || dropped != nil {
		t.Errorf("empty: %q %q", keep, dropped)
	}
}

func TestParseRoot(t *testing.T) {
	good := map[string]RootSpec{
		"UUID=2DF710A3-B706-4CEE-8C09-217CBDBAE791": {UUID: "2df710a3-b706-4cee-8c09-217cbdbae791"},
		"LABEL=cairn":   {Label: "cairn"},
		"/dev/nvme0n1":  {Path: "/dev/nvme0n1"},
		"LABEL=a b=c/d": {Label: "a b=c/d"},
	}
	for in, want := range good {
		got, err := ParseRoot(in)
		if err != nil || got != want {
			t.Errorf("ParseRoot(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "UUID=1234", "LABEL=", "PARTUUID=abcd", "vda", "/dev"} {
		if _, err := ParseRoot(bad); err == nil {
			t.Errorf("ParseRoot(%q) accepted", bad)
		}
	}
}
