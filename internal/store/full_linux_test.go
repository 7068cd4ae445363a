package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"golang.org/x/sys/unix"
)

// On a full file system, a build's seal and a switch fail with a clear
// error and change nothing.
func TestFullFileSystem(t *testing.T) {
	dir := tmpfs(t, "2m")
	s, err := store.Init(dir, store.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	storetest.Build(t, s, storetest.Tree{"etc/hostname": "node\n"}, store.Meta{})
	if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.SwitchPermanent(1) }); err != nil {
		t.Fatal(err)
	}
	staging, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	// Fill the file system.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(block); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	filler.Close()
	for _, small := range []int{4096, 512, 1} {
		for {
			f, _ := os.OpenFile(filepath.Join(dir, "filler"), os.O_WRONLY|os.O_APPEND, 0)
			_, err := f.Write(make([]byte, small))
			f.Close()
			if err != nil {
				break
			}
		}
	}
	before, err := s.State()
	if err != nil {
		t.Fatal(err)
	}

	_, err = staging.Seal(store.Meta{Description: "does not fit"})
	if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("seal on a full file system: %v, want ENOSPC", err)
	} else {
		t.Logf("seal: %v", err)
	}
	_, err = s.UpdateState(func(st store.State) (store.State, error) { return st.Pin(1), nil })
	if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("state change on a full file system: %v, want ENOSPC", err)
	} else {
		t.Logf("state change: %v", err)
	}
	if after, err := s.State(); err != nil || !reflect.DeepEqual(after, before) {
		t.Errorf("state changed: %+v -> %+v (%v)", before, after, err)
	}
	if nums := storetest.Numbers(t, s); !reflect.DeepEqual(nums, []int{1}) {
		t.Errorf("generations %v, want [1]", nums)
	}
	if err := staging.Abort(); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Fsck(false); err != nil || len(r.Problems) != 0 {
		t.Errorf("fsck on the full store: %+v, %v", r, err)
	}
}
