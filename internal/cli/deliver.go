package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/deliver"
	"github.com/cairnlinux/cairn/internal/fleet"
	"github.com/cairnlinux/cairn/internal/remote"
)

// DefaultTrustedKeys is where a node keeps the public keys of the
// operators whose generations it accepts.
const DefaultTrustedKeys = "/etc/cairn/trusted-keys"

const deliverExitCodes = `
Exit codes:
  0    success
  1    failure (nothing was changed on the node unless it says so)
  2    bad command line
  4    the generation is not signed by a trusted key, or does not match
       what was signed (nothing was changed on the node)
  5    the node's store is locked by another cairn and --no-wait was given
  130  cancelled
`

// deliveryReport is what push, pull and receive print.
type deliveryReport struct {
	// Node is the address the generation went to (push) or came from
	// (pull).
	Node       string `json:"node,omitempty"`
	Generation int    `json:"generation"`
	// NodeGeneration is the node's number for it.
	NodeGeneration int    `json:"nodeGeneration"`
	Method         string `json:"method"`
	Already        bool   `json:"already"`
	FilesSent      int    `json:"filesSent"`
	FilesReused    int    `json:"filesReused"`
	TreeBytes      int64  `json:"treeBytes,omitempty"`
	BytesSent      int64  `json:"bytesSent"`
	BytesReceived  int64  `json:"bytesReceived"`
	WireBytes      int64  `json:"wireBytes"`
}

func (r deliveryReport) print(w io.Writer, verb string) {
	if r.Already {
		fmt.Fprintf(w, "%s already holds it as generation %d; nothing sent (%s on the wire)\n", r.Node, r.NodeGeneration, humanBytes(r.WireBytes))
		return
	}
	how := "only the files it lacked"
	if r.Method == deliver.MethodBtrfs {
		how = "an incremental btrfs send stream"
	}
	share := ""
	if r.TreeBytes > 0 {
		share = fmt.Sprintf(", %.1f %% of the tree's %s", 100*float64(r.WireBytes)/float64(r.TreeBytes), humanBytes(r.TreeBytes))
	}
	fmt.Fprintf(w, "%s generation %d: it is generation %d on %s, by %s", verb, r.Generation, r.NodeGeneration, r.Node, how)
	if r.Method == deliver.MethodFiles {
		fmt.Fprintf(w, " (%s sent, %s taken from the node's own generations)", plural(r.FilesSent, "file"), plural(r.FilesReused, "file"))
	}
	fmt.Fprintf(w, "\n%s on the wire (%s sent, %s received%s)\n", humanBytes(r.WireBytes), humanBytes(r.BytesSent), humanBytes(r.BytesReceived), share)
}

func newKeyCommand(g *Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Make the key pair that signs the generations you deliver"}
	var asJSON bool
	gen := &cobra.Command{
		Use:   "generate FILE",
		Short: "Make an Ed25519 key pair: FILE (private, mode 0600) and FILE.pub",
		Long: `Make an Ed25519 key pair for signing deliveries: FILE holds the private key
(PKCS #8 PEM, mode 0600; keep it on the build host), FILE.pub the public key
(PKIX PEM). Copy FILE.pub into each node's ` + DefaultTrustedKeys + `
(in its manifest's files), and push, serve and pull accept what it signs.`,
		Args: argsUsage(1, 1, "key generate FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := deliver.GenerateKey(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.Stdout, map[string]string{"key": args[0], "public": args[0] + ".pub", "keyId": k.ID})
			}
			fmt.Fprintf(g.Stdout, "key %s: private %s, public %s.pub\n", k.ID, args[0], args[0])
			return nil
		},
	}
	gen.Flags().BoolVar(&asJSON, "json", false, "print the key's files and id as JSON")
	cmd.AddCommand(gen)
	return cmd
}

// PushOptions are the options of `cairn push`.
type PushOptions struct {
	Store       StoreOptions
	To          string
	Key         string
	SSH         string
	RemoteCairn string
	JSON        bool
	// Trial switches the node to the delivered generation as a trial
	// and reboots it; Wait, when not 0, waits that long for the trial's
	// outcome. FleetLock, LockID and LockGroup name the node's reboot
	// slot; Reboot is the node's reboot command.
	Trial     bool
	Wait      time.Duration
	FleetLock string
	LockID    string
	LockGroup string
	Reboot    string
}

func newPushCommand(g *Globals) *cobra.Command {
	o := &PushOptions{}
	cmd := &cobra.Command{
		Use:   "push N --to ssh://[user@]node[:port][/store] --key KEY",
		Short: "Deliver a generation to a node over ssh, sending only what it lacks",
		Long: `Deliver generation N of this store to a node: ssh runs cairn receive there,
which checks that KEY signed the generation (against the node's trusted keys),
asks for what it lacks — the files none of its generations holds, or, between
btrfs stores, an incremental send stream against a generation both hold —
builds the tree, checks it against the signed tree digest, and seals it as a
new generation of the node's store. Nothing boots it, unless --trial: then the
node switches to it as a trial (one boot) and reboots (taking its FleetLock
slot first when --fleetlock is given), and with --wait DURATION cairn waits
for the trial's outcome and prints it: confirmed (exit 0), or fell back /
not confirmed in time (exit 6; the node is brought back to its default).
The bytes on the wire are those cairn sent and received through ssh.
` + deliverExitCodes + `
  6    --trial --wait: the trial failed (fell back, or not confirmed in time)`,
		Args: argsUsage(1, 1, "push N --to ADDRESS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd.Context(), o, g, args[0])
		},
	}
	addStoreFlags(cmd, &o.Store, false)
	f := cmd.Flags()
	f.StringVar(&o.To, "to", "", "the node: ssh://[user@]host[:port][/store dir on the node]")
	f.StringVar(&o.Key, "key", "", "the signing key (cairn key generate)")
	f.StringVar(&o.SSH, "ssh", "ssh", "the ssh command and its options, split at spaces")
	f.StringVar(&o.RemoteCairn, "remote-cairn", "cairn", "the cairn command on the node, split at spaces")
	f.BoolVar(&o.JSON, "json", false, "print the delivery as JSON")
	f.BoolVar(&o.Trial, "trial", false, "switch the node to the generation as a trial and reboot it")
	f.DurationVar(&o.Wait, "wait", 0, "with --trial: wait this long for the trial's outcome and print it (0: do not wait)")
	f.StringVar(&o.FleetLock, "fleetlock", "", "with --trial: the FleetLock server the node takes its reboot slot from")
	f.StringVar(&o.LockID, "lock-id", "", "the node's FleetLock id (default: the address's host)")
	f.StringVar(&o.LockGroup, "lock-group", "default", "the node's FleetLock group")
	f.StringVar(&o.Reboot, "reboot", "reboot", "with --trial: the node's reboot command, split at spaces")
	return cmd
}

func runPush(ctx context.Context, o *PushOptions, g *Globals, arg string) error {
	n, err := parseGeneration(arg)
	if err != nil {
		return err
	}
	if o.To == "" || o.Key == "" {
		return usagef("push: --to and --key are needed")
	}
	addr, err := remote.ParseSSH(o.To)
	if err != nil {
		return usagef("push: --to: %v", err)
	}
	key, err := deliver.LoadPrivateKey(o.Key)
	if err != nil {
		return err
	}
	nd, err := o.Store.inspect(g)
	if err != nil {
		return err
	}
	if _, err := nd.Generation(n); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	host, _ := os.Hostname()
	p, err := (&deliver.Sender{Store: nd.Store, Key: key, Name: host}).Prepare(ctx, n)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if o.Trial {
		return pushTrial(ctx, o, g, addr, p)
	}
	if o.Wait != 0 || o.FleetLock != "" {
		return usagef("push: --wait and --fleetlock go with --trial")
	}
	argv := append(strings.Fields(o.RemoteCairn), "receive")
	if addr.Store != "" {
		argv = append(argv, "--store", addr.Store)
	}
	d, err := fleet.PushSSH(ctx, p, addr, strings.Fields(o.SSH), argv, g.Stderr)
	if err != nil {
		return fmt.Errorf("push generation %d to %s: %w", n, addr, err)
	}
	res := d.Result
	rep := deliveryReport{Node: addr.String(), Generation: n, NodeGeneration: res.Generation, Method: res.Method, Already: res.Already,
		FilesSent: res.Files, FilesReused: res.Reused, TreeBytes: p.Header().Bytes,
		BytesSent: d.BytesSent, BytesReceived: d.BytesReceived, WireBytes: d.BytesSent + d.BytesReceived}
	if o.JSON {
		return writeJSON(g.Stdout, rep)
	}
	rep.print(g.Stdout, "pushed")
	return nil
}

// ReceiveOptions are the options of `cairn receive` and `cairn pull`.
type ReceiveOptions struct {
	Store   StoreOptions
	Trusted string
	JSON    bool
}

func (o *ReceiveOptions) trusted(g *Globals) ([]deliver.PublicKey, error) {
	path := o.Trusted
	if path == "" {
		path = g.Getenv("CAIRN_TRUSTED_KEYS")
	}
	if path == "" {
		path = DefaultTrustedKeys
	}
	return deliver.LoadTrusted(path)
}

func addReceiveFlags(cmd *cobra.Command, o *ReceiveOptions) {
	addStoreFlags(cmd, &o.Store, true)
	cmd.Flags().StringVar(&o.Trusted, "trusted", "", "the trusted public keys: a directory of *.pub files, or one file (default $CAIRN_TRUSTED_KEYS, else "+DefaultTrustedKeys+")")
}

func newReceiveCommand(g *Globals) *cobra.Command {
	o := &ReceiveOptions{}
	cmd := &cobra.Command{
		Use:   "receive",
		Short: "Take a delivery on standard input (what cairn push runs on the node)",
		Long: `Take one delivery from cairn push on standard input and answer on standard
output; messages go to standard error. cairn push runs it through ssh.
` + deliverExitCodes,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			trusted, err := o.trusted(g)
			if err != nil {
				return err
			}
			ss, err := lockStore(cmd.Context(), g, &o.Store, fsckRepair)
			if err != nil {
				return err
			}
			defer ss.close()
			rc := &deliver.Receiver{Store: ss.s, Trusted: trusted}
			res, err := rc.ReceiveStream(cmd.Context(), g.Stdin, g.Stdout)
			if err != nil {
				return fmt.Errorf("receive: %w", err)
			}
			fmt.Fprintf(g.Stderr, "cairn: received generation %d (%s)\n", res.Generation, res.Method)
			return nil
		},
	}
	addReceiveFlags(cmd, o)
	return cmd
}

// ServeOptions are the options of `cairn serve`.
type ServeOptions struct {
	Store  StoreOptions
	Key    string
	Listen string
}

func newServeCommand(g *Globals) *cobra.Command {
	o := &ServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve --key KEY [--listen ADDR]",
		Short: "Serve this store's generations over HTTP, signed, for nodes to pull",
		Long: `Serve this store's generations over HTTP for cairn pull: each offer is signed
with KEY; a node takes only what it lacks and checks the signature and the tree
digest itself, so plain HTTP is enough for integrity (put it behind TLS for
privacy). It runs until interrupted.

  GET  /v1/generations            the generations, as JSON
  GET  /v1/generations/N/offer    the signed offer and the tree's listing
  POST /v1/generations/N/data     what the node asks for
`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Key == "" {
				return usagef("serve: --key is needed")
			}
			key, err := deliver.LoadPrivateKey(o.Key)
			if err != nil {
				return err
			}
			s, err := o.Store.open(g)
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			srv := &deliver.Server{Sender: &deliver.Sender{Store: s, Key: key, Name: host},
				Log: func(format string, args ...any) { fmt.Fprintf(g.Stderr, "cairn: "+format+"\n", args...) }}
			return serveHTTP(cmd.Context(), g, o.Listen, srv.Handler(), "generations of "+s.Dir())
		},
	}
	addStoreFlags(cmd, &o.Store, false)
	cmd.Flags().StringVar(&o.Key, "key", "", "the signing key (cairn key generate)")
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:8470", "the address to listen on")
	return cmd
}

// serveHTTP serves h on addr until ctx ends, saying where on standard
// error (the address with the port the kernel chose, for :0).
func serveHTTP(ctx context.Context, g *Globals, addr string, h http.Handler, what string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(g.Stderr, "cairn: serving %s on http://%s/\n", what, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		return nil
	}
}

func newPullCommand(g *Globals) *cobra.Command {
	o := &ReceiveOptions{}
	cmd := &cobra.Command{
		Use:   "pull URL [N]",
		Short: "Fetch a generation from cairn serve, taking only what this store lacks",
		Long: `Fetch generation N (default: the newest) from a cairn serve at URL into this
store: the offer must be signed by a trusted key, and the tree built must
match its digest, or nothing changes. Nothing boots it: cairn switch does.
` + deliverExitCodes,
		Args: argsUsage(1, 2, "pull URL [N]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			if len(args) == 2 {
				var err error
				if n, err = parseGeneration(args[1]); err != nil {
					return err
				}
			}
			trusted, err := o.trusted(g)
			if err != nil {
				return err
			}
			ss, err := lockStore(cmd.Context(), g, &o.Store, fsckRepair)
			if err != nil {
				return err
			}
			defer ss.close()
			var c deliver.Counter
			res, err := deliver.Pull(cmd.Context(), &deliver.Receiver{Store: ss.s, Trusted: trusted}, deliver.CountingClient(&c), args[0], n)
			if err != nil {
				return fmt.Errorf("pull from %s: %w", args[0], err)
			}
			rep := deliveryReport{Node: args[0], Generation: res.SenderGeneration, NodeGeneration: res.Generation, Method: res.Method, Already: res.Already,
				FilesSent: res.Files, FilesReused: res.Reused, BytesSent: c.Sent(), BytesReceived: c.Received(), WireBytes: c.Sent() + c.Received()}
			if o.JSON {
				return writeJSON(g.Stdout, rep)
			}
			if rep.Already {
				fmt.Fprintf(g.Stdout, "this store already holds it as generation %d; nothing fetched (%s on the wire)\n", res.Generation, humanBytes(rep.WireBytes))
				return nil
			}
			fmt.Fprintf(g.Stdout, "pulled from %s: generation %d of this store, by %s (%s fetched, %s taken from this store)\n%s on the wire\n",
				args[0], res.Generation, res.Method, plural(res.Files, "file"), plural(res.Reused, "file"), humanBytes(rep.WireBytes))
			return nil
		},
	}
	addReceiveFlags(cmd, o)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the delivery as JSON")
	return cmd
}
