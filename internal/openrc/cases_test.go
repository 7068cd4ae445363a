package openrc

import "github.com/cairnlinux/cairn/internal/manifest"

// renderCase is a service the renderers are tested with; golden names
// its files in testdata.
type renderCase struct {
	golden  string
	service string
	def     manifest.Service
}

var renderCases = []renderCase{
	{"minimal", "hello", manifest.Service{Command: "/usr/local/bin/hello"}},
	{"nomad", "nomad", manifest.Service{
		Description: "HashiCorp Nomad agent",
		Command:     "/usr/local/bin/nomad",
		Args:        []string{"agent", "-config", "/etc/nomad.d", "-data-dir=/var/lib/nomad"},
		User:        "nomad",
		Group:       "nomad",
		Directory:   "/var/lib/nomad",
		Environment: map[string]string{"NOMAD_ADDR": "http://127.0.0.1:4646", "GOMAXPROCS": "2", "PATH": "/usr/local/bin:/usr/bin:/bin"},
		Need:        []string{"net", "localmount"},
		Use:         []string{"dns", "logger"},
		After:       []string{"firewall", "consul"},
		Before:      []string{"traefik"},
		Provide:     []string{"scheduler"},
		Respawn:     manifest.Respawn{Delay: 5, Max: 3, Period: 60},
		OutputLog:   "/var/log/nomad/nomad.log",
		ErrorLog:    "/var/log/nomad/nomad.err",
		Cgroup:      map[string]string{"pids.max": "4096", "memory.max": "2G", "cpu.max": "200000 100000"},
	}},
	{"start-stop-daemon", "webhook", manifest.Service{
		Description: "Webhook receiver",
		Command:     "/usr/bin/webhook",
		Args:        []string{"-hooks", "/etc/webhook/hooks.json", "-verbose"},
		User:        "webhook",
		Supervisor:  StartStopDaemon,
		Need:        []string{"net"},
		OutputLog:   "/var/log/webhook.log",
		ErrorLog:    "/var/log/webhook.err",
		Cgroup:      map[string]string{"memory.max": "268435456"},
	}},
	{"hostile", "odd.svc@1", manifest.Service{
		Description: "It's \"odd\": $HOME `id` $(id)\nsecond line \\ end",
		Command:     "/opt/odd/bin/odd-daemon",
		Args: []string{
			"--name", "it's mine", "--msg", "a  b\tc\nd", "--glob", "*.txt",
			"--dollar", "$HOME", "--tick", "`id`", "--empty", "", "--semi", ";true",
			"--quote", `say "hi"`, "--bs", `C:\dir`,
		},
		Environment: map[string]string{
			"MSG":            "it's \"$HOME\" `id`\nline 2",
			"EMPTY":          "",
			"_JAVA_OPTIONS":  "-Xmx1g -Dx='y z'",
			"http_proxy":     "http://proxy:3128",
			"WITH_BACKSLASH": `a\b\\c`,
			"command":        "not OpenRC's",
			"IFS":            " ",
		},
		After:   []string{"*"},
		Before:  []string{"nginx"},
		Respawn: manifest.Respawn{Period: 10},
		Cgroup:  map[string]string{"io.max": "8:0 rbps=1048576 wiops=120"},
	}},
}
