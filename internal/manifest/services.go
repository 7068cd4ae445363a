package manifest

import (
	"os"
	"path"
	"path/filepath"
	"strings"
)

// InitDir is where OpenRC's init scripts are.
const InitDir = "/etc/init.d"

// ServiceSource is where an init script of the manifest's own comes from.
type ServiceSource struct {
	// Key is the manifest key that brings it: services.define.NAME,
	// files.inline[2], artifacts[0], files.skeleton.
	Key string
	// File is the script on the build machine, for a skeleton's.
	File string
}

// OwnServices returns the init scripts the manifest brings itself, by
// service name: services it defines, and /etc/init.d/NAME files of
// files.inline, of artifacts and of the skeleton (read from the manifest's
// directory dir; "" leaves the skeleton out). A runlevel may list these
// besides the services of packages.
func (s *System) OwnServices(dir string) map[string]ServiceSource {
	own := map[string]ServiceSource{}
	if dir != "" && s.Files.Skeleton != "" {
		if skel, err := ResolveLocal(dir, s.Files.Skeleton); err == nil {
			entries, _ := os.ReadDir(filepath.Join(skel, filepath.FromSlash(InitDir)))
			for _, e := range entries {
				own[e.Name()] = ServiceSource{Key: "files.skeleton", File: filepath.Join(skel, filepath.FromSlash(InitDir), e.Name())}
			}
		}
	}
	for i, a := range s.Artifacts {
		if name, ok := initScriptName(a.Path); ok {
			own[name] = ServiceSource{Key: indexPath("artifacts", i)}
		}
	}
	for i, f := range s.Files.Inline {
		if name, ok := initScriptName(f.Path); ok {
			own[name] = ServiceSource{Key: indexPath("files.inline", i)}
		}
	}
	for name := range s.Services.Define {
		own[name] = ServiceSource{Key: keyPath("services.define", name)}
	}
	for name := range s.Containers {
		own[name] = ServiceSource{Key: keyPath("containers", name)}
	}
	return own
}

// initScriptName returns NAME for a path /etc/init.d/NAME.
func initScriptName(p string) (string, bool) {
	dir, name := path.Split(path.Clean(p))
	return name, strings.TrimSuffix(dir, "/") == InitDir && serviceName.MatchString(name)
}

// ownScripts checks the init scripts the manifest writes itself: a name
// defined in services.define is not also a file, and a script listed in a
// runlevel can run (executable, starting with #!).
func (v *validator) ownScripts(s *System) {
	listed := map[string]string{}
	for _, level := range sortedKeys(s.Services.Runlevels) {
		for _, name := range s.Services.Runlevels[level] {
			if _, ok := listed[name]; !ok {
				listed[name] = keyPath("services", level)
			}
		}
	}
	for i, f := range s.Files.Inline {
		name, ok := initScriptName(f.Path)
		if !ok {
			continue
		}
		p := indexPath("files.inline", i)
		if _, ok := s.Services.Define[name]; ok {
			v.addRef(keyPath(p, "path"), keyPath("services.define", name), "%s is also defined in services.define, which writes it: keep one", f.Path)
			continue
		}
		level, ok := listed[name]
		if !ok {
			continue
		}
		if f.Mode != "" && octalMode.MatchString(f.Mode) && !executable(f.Mode) {
			v.add(keyPath(p, "mode"), "%s is listed in %s, so it must be executable: write mode: \"0755\" (or leave mode out)", f.Path, level)
		}
		if !strings.HasPrefix(f.Content, "#!") {
			v.add(keyPath(p, "content"), "%s is listed in %s, so it is an init script: start it with #!/sbin/openrc-run", f.Path, level)
		}
	}
	for i, a := range s.Artifacts {
		if name, ok := initScriptName(a.Path); ok {
			if _, ok := s.Services.Define[name]; ok {
				v.addRef(keyPath(indexPath("artifacts", i), "path"), keyPath("services.define", name), "%s is also defined in services.define, which writes it: keep one", a.Path)
			}
		}
	}
}

// executable reports whether an octal mode lets its owner execute.
func executable(mode string) bool {
	return len(mode) >= 3 && (mode[len(mode)-3]-'0')&1 != 0
}

// skeletonScripts checks, on the build machine, the skeleton's init
// scripts that runlevels list: each must be an executable file starting
// with #!.
func (s *System) skeletonScripts(dir string) Errors {
	own := s.OwnServices(dir)
	var errs Errors
	for _, level := range sortedKeys(s.Services.Runlevels) {
		for i, name := range s.Services.Runlevels[level] {
			src := own[name]
			if src.File == "" {
				continue
			}
			p := indexPath(keyPath("services", level), i)
			fi, err := os.Stat(src.File)
			switch {
			case err != nil:
				errs = append(errs, &Error{Path: p, Msg: err.Error()})
				continue
			case !fi.Mode().IsRegular():
				errs = append(errs, &Error{Path: p, Msg: src.File + " (files.skeleton) is not a regular file, so it is no init script"})
				continue
			case fi.Mode().Perm()&0o100 == 0:
				errs = append(errs, &Error{Path: p, Msg: src.File + " (files.skeleton) is not executable, so OpenRC cannot start it: chmod 755 it"})
			}
			f, err := os.Open(src.File)
			if err != nil {
				errs = append(errs, &Error{Path: p, Msg: err.Error()})
				continue
			}
			head := make([]byte, 2)
			n, _ := f.Read(head)
			f.Close()
			if string(head[:n]) != "#!" {
				errs = append(errs, &Error{Path: p, Msg: src.File + " (files.skeleton) does not start with #!: an init script starts with #!/sbin/openrc-run"})
			}
		}
	}
	return errs
}
