package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/deliver"
	"github.com/cairnlinux/cairn/internal/remote"
	"github.com/cairnlinux/cairn/internal/store"
)

// Node is what a rollout does to one machine: deliver, switch to the
// delivered generation as a trial, take a reboot slot, reboot, read the
// trial's outcome (Status), give the slot back once the trial is
// confirmed (internal/rollout).
type Node interface {
	Name() string
	// Status reads the node's generations and state.
	Status(ctx context.Context) (NodeStatus, error)
	// Deliver sends a prepared generation; the result names the node's
	// number for it and the bytes on the wire.
	Deliver(ctx context.Context, p *deliver.Prepared) (Delivery, error)
	// SwitchTrial makes the node's generation n its next boot, as a
	// trial of one boot.
	SwitchTrial(ctx context.Context, n int) error
	// Rollback makes the node's previous good generation its next boot.
	Rollback(ctx context.Context) error
	// Reboot asks the node to reboot.
	Reboot(ctx context.Context) error
	// Slot takes (take) or gives back the node's FleetLock reboot slot
	// from the server at url, as the node itself: the node's own
	// FleetLock client, from the node's network.
	Slot(ctx context.Context, url string, take bool) error
}

// Delivery is a delivery's result and its bytes on the wire.
type Delivery struct {
	deliver.Result
	BytesSent, BytesReceived int64
}

// SSHNode is a node reached with the operator's ssh.
type SSHNode struct {
	Spec NodeSpec
	Addr remote.SSH
	// SSH is the ssh command and options; Cairn the cairn command on the
	// node.
	SSH   []string
	Cairn []string
	// RebootCmd reboots the node (default [reboot]).
	RebootCmd []string
}

// SSHNodes returns the fleet file's nodes, reached over ssh with
// sshCmd and running cairn there (each the file's when nil).
func (f *File) SSHNodes(sshCmd, cairn []string) []*SSHNode {
	if sshCmd == nil {
		sshCmd = f.SSH
	}
	if cairn == nil {
		cairn = f.Cairn
	}
	var nodes []*SSHNode
	for _, spec := range f.Nodes {
		addr, _ := remote.ParseSSH(spec.Address) // checked by Load
		nodes = append(nodes, &SSHNode{Spec: spec, Addr: addr, SSH: sshCmd, Cairn: cairn, RebootCmd: f.Rollout.Reboot})
	}
	return nodes
}

func (n *SSHNode) Name() string { return n.Spec.Name }

// cairn is the node's cairn command line for args, with --store when the
// address names the store.
func (n *SSHNode) cairn(args ...string) []string {
	argv := append([]string(nil), n.Cairn...)
	if len(argv) == 0 {
		argv = []string{"cairn"}
	}
	argv = append(argv, args...)
	if n.Addr.Store != "" {
		argv = append(argv, "--store", n.Addr.Store)
	}
	return argv
}

// run runs a command on the node and returns its standard output; its
// standard error is part of the error.
func (n *SSHNode) run(ctx context.Context, argv []string) ([]byte, error) {
	cmd := n.Addr.Command(ctx, n.SSH, argv)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		var jerr struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(stdout.Bytes(), &jerr) == nil && jerr.Error.Message != "" {
			msg = jerr.Error.Message // cairn's error under --json
		}
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg == "" {
			return stdout.Bytes(), fmt.Errorf("%s: %s: %w", n.Spec.Name, strings.Join(argv, " "), err)
		}
		return stdout.Bytes(), &remoteError{msg: n.Spec.Name + ": " + msg, err: err}
	}
	return stdout.Bytes(), nil
}

// remoteError is a command's failure on a node, said with the node's
// message; it wraps the exit status.
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

// Status runs the node's cairn status --json and cairn generations
// --json in one ssh session.
func (n *SSHNode) Status(ctx context.Context) (NodeStatus, error) {
	st := NodeStatus{Name: n.Spec.Name, Address: n.Addr.String(), Group: n.Spec.Group, Checked: time.Now().UTC()}
	line := quoteArgv(n.cairn("status", "--json")) + " && " + quoteArgv(n.cairn("generations", "--json"))
	out, err := n.run(ctx, []string{"sh", "-c", line})
	if err != nil {
		st.Error = err.Error()
		return st, err
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var status struct {
		Booted   int `json:"booted"`
		Default  int `json:"default"`
		NextBoot int `json:"nextBoot"`
	}
	var gens struct {
		Backend     string      `json:"backend"`
		State       store.State `json:"state"`
		Generations []struct {
			Number      int       `json:"number"`
			Created     time.Time `json:"created"`
			Description string    `json:"description"`
		} `json:"generations"`
	}
	if err := dec.Decode(&status); err == nil {
		err = dec.Decode(&gens)
	}
	if err != nil {
		st.Error = fmt.Sprintf("%s: the node's cairn answered something else than status and generations: %v", n.Spec.Name, err)
		return st, errors.New(st.Error)
	}
	st.Reachable = true
	st.Booted, st.Default, st.NextBoot = status.Booted, status.Default, status.NextBoot
	st.Trial = gens.State.Trial
	st.LastTrial = gens.State.LastTrial
	st.Generations = len(gens.Generations)
	if k := len(gens.Generations); k > 0 {
		g := gens.Generations[k-1]
		st.Newest, st.NewestDescription, st.NewestCreated = g.Number, g.Description, g.Created
	}
	return st, nil
}

// Deliver pushes p to the node's cairn receive.
func (n *SSHNode) Deliver(ctx context.Context, p *deliver.Prepared) (Delivery, error) {
	return PushSSH(ctx, p, n.Addr, n.SSH, n.cairn("receive"), nil)
}

// PushSSH delivers p to `argv` (the node's cairn receive) run through
// ssh; the node's messages go to stderr when not nil.
func PushSSH(ctx context.Context, p *deliver.Prepared, addr remote.SSH, sshCmd, argv []string, stderr io.Writer) (Delivery, error) {
	cmd := addr.Command(ctx, sshCmd, argv)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, &errBuf)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Delivery{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Delivery{}, err
	}
	if err := cmd.Start(); err != nil {
		return Delivery{}, err
	}
	var c deliver.Counter
	res, perr := deliver.Push(ctx, p, c.Reader(stdout), c.Writer(stdin))
	stdin.Close()
	io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	d := Delivery{Result: res, BytesSent: c.Sent(), BytesReceived: c.Received()}
	if perr != nil {
		if werr != nil && !errors.As(perr, new(*deliver.ReceiverError)) {
			msg := strings.TrimSpace(errBuf.String())
			perr = fmt.Errorf("%w (%s: %v: %s)", perr, sshCmdName(sshCmd), werr, msg)
		}
		return d, perr
	}
	return d, nil
}

func sshCmdName(sshCmd []string) string {
	if len(sshCmd) == 0 {
		return "ssh"
	}
	return sshCmd[0]
}

// SwitchTrial runs the node's cairn switch N.
func (n *SSHNode) SwitchTrial(ctx context.Context, gen int) error {
	_, err := n.run(ctx, n.cairn("switch", strconv.Itoa(gen), "--tries", "1"))
	return err
}

// Rollback runs the node's cairn rollback.
func (n *SSHNode) Rollback(ctx context.Context) error {
	_, err := n.run(ctx, n.cairn("rollback"))
	return err
}

// Reboot runs the reboot command on the node. The session may end with
// the machine before an answer comes: what counts is what the node says
// after it booted again.
func (n *SSHNode) Reboot(ctx context.Context) error {
	argv := n.RebootCmd
	if len(argv) == 0 {
		argv = []string{"reboot"}
	}
	_, err := n.run(ctx, argv)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 255 {
		return nil // ssh's own failure: the connection went down with the machine
	}
	return err
}

// Slot runs the node's cairn fleetlock lock or unlock.
func (n *SSHNode) Slot(ctx context.Context, url string, take bool) error {
	verb := "unlock"
	if take {
		verb = "lock"
	}
	argv := append([]string(nil), n.Cairn...)
	if len(argv) == 0 {
		argv = []string{"cairn"}
	}
	argv = append(argv, "fleetlock", verb, "--url", url, "--id", n.Spec.LockID, "--group", n.Spec.Group)
	_, err := n.run(ctx, argv)
	return err
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = remote.Quote(a)
	}
	return strings.Join(q, " ")
}
