// Package openrc writes the OpenRC side of a system: init scripts and
// conf.d files for the services a manifest defines, and the runlevel
// links that say which services start where.
//
// Rendering is pure (InitScript, ConfD) and returns bytes; only Install
// writes, and only inside the root it is given. The scripts follow
// openrc-run(8): supervise-daemon or start-stop-daemon as the supervisor,
// a depend() function, and cgroup v2 limits through rc_cgroup_settings in
// /etc/conf.d.
//
// OpenRC expands command, command_args, command_user, directory,
// pidfile, the log files and the supervisor's extra options unquoted and
// passes them through eval when it starts a service. The renderer
// accounts for that: paths and names must be plain words (it refuses
// others, saying why), and every argument and environment variable
// reaches the program exactly as written in the manifest, spaces,
// quotes, dollars and newlines included.
package openrc
