package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/deliver"
	"github.com/cairnlinux/cairn/internal/remote"
	"github.com/cairnlinux/cairn/internal/store"
)

// Node is what a rollout does to one machine. A rollout (to come) takes
// a reboot slot (fleetlock.Client), delivers, switches to the delivered
// generation as a trial, reboots, waits for the trial's outcome and gives
// the slot back once the trial is confirmed.
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
	// Reboot asks the node to reboot.
	Reboot(ctx context.Context) error
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
		nodes = append(nodes, &SSHNode{Spec: spec, Addr: addr, SSH: sshCmd, Cairn: cairn})
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
		return stdout.Bytes(), fmt.Errorf("%s: %s", n.Spec.Name, msg)
	}
	return stdout.Bytes(), nil
}

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

// Reboot runs reboot on the node; the session ends with the machine.
func (n *SSHNode) Reboot(ctx context.Context) error {
	_, err := n.run(ctx, []string{"reboot"})
	return err
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = remote.Quote(a)
	}
	return strings.Join(q, " ")
}
