package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/secrets"
)

func newSecretsCommand(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Age-encrypted secrets: edit, rekey, keys; on a node, activate",
		Long: `Secrets are files encrypted with age beside the manifest (secrets: in it),
safe to commit. Generations and images carry them encrypted; the node decrypts
them at boot with its own key into /run/secrets (memory), before the services
that need them. Who a secret is encrypted to is the file named recipients in
its directory: the operators' age or SSH keys and each node's key.

On the build machine:
  cairn secrets list                        what each secret is encrypted to
  cairn secrets edit NAME                   decrypt, $EDITOR, encrypt
  cairn secrets add-key --name N --key K    add a node's or operator's key
  cairn secrets add-key --name N --from-host HOST   a node's SSH host key
  cairn secrets remove-key NAME             take a key away
  cairn secrets rekey                       re-encrypt for the recipients now
  cairn secrets keygen -o FILE              a new age identity
On a node:
  cairn secrets identity                    this node's keys (for add-key)
  cairn secrets activate                    put the secrets in place again

docs/secrets.md has the model, key rotation and what a stolen disk tells.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		newSecretsListCommand(g),
		newSecretsEditCommand(g),
		newSecretsRekeyCommand(g),
		newSecretsAddKeyCommand(g),
		newSecretsRemoveKeyCommand(g),
		newSecretsKeygenCommand(g),
		newSecretsIdentityCommand(g),
		newSecretsActivateCommand(g),
	)
	return cmd
}

// SecretsOptions are the options shared by the operator's commands.
type SecretsOptions struct {
	File       string
	Identities []string
	JSON       bool
}

func addSecretsFlags(cmd *cobra.Command, o *SecretsOptions, identities bool) {
	f := cmd.Flags()
	f.StringVarP(&o.File, "file", "f", "system.yaml", "the manifest declaring the secrets")
	if identities {
		f.StringArrayVarP(&o.Identities, "identity", "i", nil, "decrypt with the identity `FILE` (an age identity file or an SSH private key; repeatable; default $CAIRN_IDENTITY, else ~/.config/cairn/identity, ~/.ssh/id_ed25519, ~/.ssh/id_rsa)")
	}
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON")
}

// declared loads the manifest and lists its secrets.
func (o *SecretsOptions) declared() ([]secrets.Declared, error) {
	r, err := loadManifest(o.File)
	if err != nil {
		return nil, err
	}
	return secrets.DeclaredIn(r.Manifest.System, filepath.Dir(o.File)), nil
}

// completeNames completes the names of the manifest's secrets, up to max
// arguments (-1: any number).
func (o *SecretsOptions) completeNames(max int) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if max >= 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		declared, err := o.declared()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, d := range declared {
			names = append(names, d.Name+"\t"+d.File)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// identities reads the operator's identities.
func (o *SecretsOptions) identities(g *Globals) ([]secrets.Identity, error) {
	files := o.Identities
	if len(files) == 0 {
		files = secrets.DefaultIdentityFiles(g.Getenv)
	}
	var out []secrets.Identity
	for _, f := range files {
		ids, err := secrets.ReadIdentities(f, askPassphrase(g))
		if err != nil {
			return nil, fmt.Errorf("identity %w", err)
		}
		out = append(out, ids...)
	}
	return out, nil
}

func newSecretsListCommand(g *Globals) *cobra.Command {
	o := &SecretsOptions{}
	cmd := &cobra.Command{
		Use:   "list [-f system.yaml]",
		Short: "List the manifest's secrets and what each is encrypted to",
		Long: `List the secrets the manifest declares: the encrypted file, where the node puts
it, its owner, mode and services, and what the file is encrypted to, read from
its header without decrypting it, beside its recipients file's keys. A secret
whose file is missing, is not age-encrypted, or is not encrypted to exactly
its recipients file's keys is marked, and the exit status is 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			declared, err := o.declared()
			if err != nil {
				return err
			}
			infos := []secrets.Info{}
			bad := 0
			for _, d := range declared {
				info := secrets.Inspect(d)
				if !info.InLine {
					bad++
				}
				infos = append(infos, info)
			}
			if o.JSON {
				if err := writeJSON(g.Stdout, struct {
					Secrets []secrets.Info `json:"secrets"`
				}{infos}); err != nil {
					return err
				}
			} else {
				renderSecretsList(g.Stdout, declared, infos)
			}
			if bad > 0 {
				return reported(ExitFailure, fmt.Errorf("%s not in line", plural(bad, "secret")))
			}
			return nil
		},
	}
	addSecretsFlags(cmd, o, false)
	return cmd
}

func renderSecretsList(w io.Writer, declared []secrets.Declared, infos []secrets.Info) {
	if len(infos) == 0 {
		fmt.Fprintln(w, "the manifest declares no secrets")
		return
	}
	for i, info := range infos {
		d := declared[i]
		fmt.Fprintf(w, "%s: %s -> %s (%s %s)", info.Name, d.File, info.Path, info.Owner, info.Mode)
		if len(info.Services) > 0 {
			fmt.Fprintf(w, ", for %s", strings.Join(info.Services, ", "))
		}
		fmt.Fprintln(w)
		if info.EncryptedTo != nil {
			fmt.Fprintf(w, "  encrypted to: %s\n", info.EncryptedTo)
		}
		rel := d.Recipients
		if r, err := filepath.Rel(filepath.Dir(filepath.Dir(d.Encrypted)), d.Recipients); err == nil {
			rel = filepath.Join(filepath.Dir(d.File), filepath.Base(r))
		}
		if info.Problem != "" {
			fmt.Fprintf(w, "  PROBLEM: %s\n", info.Problem)
		} else {
			fmt.Fprintf(w, "  in line with %s\n", rel)
		}
	}
}

// SecretsEditOptions are the options of cairn secrets edit.
type SecretsEditOptions struct {
	SecretsOptions
	From string
}

func newSecretsEditCommand(g *Globals) *cobra.Command {
	o := &SecretsEditOptions{}
	cmd := &cobra.Command{
		Use:   "edit NAME [-f system.yaml] [--from FILE|-]",
		Short: "Decrypt a secret, edit it with $EDITOR and encrypt it again",
		Long: `Decrypt the secret NAME (a new one starts empty) into a private temporary file
(0600, in a 0700 directory of its own under $XDG_RUNTIME_DIR, else $TMPDIR or
/tmp), run $EDITOR (vi when unset) on it, and encrypt what it leaves to the
keys of the recipients file beside the secret. The temporary directory is
removed afterwards, also when the editor fails; quitting the editor with an
error (:cq in vi) leaves the secret as it was. An edit that changes nothing
writes nothing. --from FILE (- for standard input) sets the secret's content
instead, without a temporary file.

Decrypting needs one of the secret's recipients' private keys: --identity,
else $CAIRN_IDENTITY, ~/.config/cairn/identity, ~/.ssh/id_ed25519, ~/.ssh/id_rsa.`,
		Args:              cobra.ExactArgs(1),
		RunE:              func(cmd *cobra.Command, args []string) error { return runSecretsEdit(cmd.Context(), o, g, args[0]) },
		ValidArgsFunction: o.completeNames(1),
	}
	addSecretsFlags(cmd, &o.SecretsOptions, true)
	cmd.Flags().StringVar(&o.From, "from", "", "set the secret to the content of `FILE` (- for standard input) instead of editing it")
	return cmd
}

func runSecretsEdit(ctx context.Context, o *SecretsEditOptions, g *Globals, name string) error {
	declared, err := o.declared()
	if err != nil {
		return err
	}
	d, err := secrets.Find(declared, name)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	e := &secrets.Edit{Secret: d, TempDir: secretsTempDir(g)}
	if _, err := os.Stat(d.Encrypted); err == nil {
		if e.Identities, err = o.identities(g); err != nil {
			return err
		}
	}
	switch o.From {
	case "":
		e.Editor = editor(g)
	case "-":
		if e.Content, err = io.ReadAll(g.Stdin); err != nil {
			return err
		}
	default:
		if e.Content, err = os.ReadFile(o.From); err != nil {
			return err
		}
	}
	if e.Content != nil {
		defer clear(e.Content)
	}
	res, err := e.Run(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(g.Stdout, res)
	}
	switch res.State {
	case "unchanged":
		fmt.Fprintf(g.Stdout, "%s: unchanged\n", d.File)
	default:
		fmt.Fprintf(g.Stdout, "%s: %s, encrypted to %s\n", d.File, res.State, recipientList(res.To))
	}
	return nil
}

// secretsTempDir is where an edit's private directory goes:
// $XDG_RUNTIME_DIR (a per-user tmpfs) when there is one, else $TMPDIR
// ("" lets Go choose: $TMPDIR, else /tmp).
func secretsTempDir(g *Globals) string {
	if d := g.Getenv("XDG_RUNTIME_DIR"); d != "" {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return g.Getenv("TMPDIR")
}

// editor runs $EDITOR (vi when unset) on a file, through the shell so
// that EDITOR may hold arguments ("code --wait"), on cairn's terminal.
// It is not bound to the command's context: an editor handles Ctrl-C
// itself, and leaves by its own choice.
func editor(g *Globals) secrets.Editor {
	ed := g.Getenv("EDITOR")
	if ed == "" {
		ed = "vi"
	}
	return func(path string) error {
		cmd := exec.Command("/bin/sh", "-c", ed+` "$1"`, "sh", path)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = g.Stdin, g.Stdout, g.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", ed, err)
		}
		return nil
	}
}

func recipientList(rs []secrets.Recipient) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.String())
	}
	if len(parts) == 0 {
		return "no one"
	}
	return strings.Join(parts, ", ")
}

// SecretsRekeyOptions are the options of cairn secrets rekey.
type SecretsRekeyOptions struct {
	SecretsOptions
	All bool
}

func newSecretsRekeyCommand(g *Globals) *cobra.Command {
	o := &SecretsRekeyOptions{}
	cmd := &cobra.Command{
		Use:   "rekey [NAME...] [-f system.yaml] [--all]",
		Short: "Re-encrypt the secrets for their recipients files' keys",
		Long: `Re-encrypt every secret of the manifest (or those named) for the keys its
recipients file lists now: after a key was added or removed. Secrets already
encrypted to exactly those keys are left alone, unless --all is given (a new
file key for each, as after a suspected leak of an encrypted file's key).
Decrypting needs one of each secret's present recipients' private keys.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			declared, err := o.declared()
			if err != nil {
				return err
			}
			if len(args) > 0 {
				var chosen []secrets.Declared
				for _, name := range args {
					d, err := secrets.Find(declared, name)
					if err != nil {
						return withCode(ExitUsage, err)
					}
					chosen = append(chosen, d)
				}
				declared = chosen
			}
			ids, err := o.identities(g)
			if err != nil {
				return err
			}
			res, rerr := secrets.Rekey(cmd.Context(), declared, ids, o.All)
			if res == nil {
				res = []secrets.RekeyResult{}
			}
			if o.JSON {
				if err := writeJSON(g.Stdout, struct {
					Secrets []secrets.RekeyResult `json:"secrets"`
				}{res}); err != nil {
					return err
				}
				if rerr != nil {
					return reported(ExitFailure, rerr)
				}
				return nil
			}
			for _, r := range res {
				switch r.State {
				case "rekeyed":
					fmt.Fprintf(g.Stdout, "%s: rekeyed, encrypted to %s\n", r.Name, recipientList(r.To))
				case "inLine":
					fmt.Fprintf(g.Stdout, "%s: in line (encrypted to %s)\n", r.Name, recipientList(r.To))
				}
			}
			return rerr
		},
	}
	cmd.ValidArgsFunction = o.completeNames(-1)
	addSecretsFlags(cmd, &o.SecretsOptions, true)
	cmd.Flags().BoolVar(&o.All, "all", false, "re-encrypt also the secrets already in line")
	return cmd
}

// SecretsKeyOptions are the options of add-key and remove-key.
type SecretsKeyOptions struct {
	SecretsOptions
	Name       string
	Key        string
	KeyFile    string
	FromHost   string
	Recipients []string
}

// recipientsFiles are the files a key goes into or out of: those named,
// else every recipients file of the manifest's secrets.
func (o *SecretsKeyOptions) recipientsFiles() ([]string, error) {
	if len(o.Recipients) > 0 {
		return o.Recipients, nil
	}
	declared, err := o.declared()
	if err != nil {
		return nil, err
	}
	files := secrets.RecipientsFiles(declared)
	if len(files) == 0 {
		return nil, usagef("%s declares no secrets: name the recipients file with --recipients", o.File)
	}
	return files, nil
}

func newSecretsAddKeyCommand(g *Globals) *cobra.Command {
	o := &SecretsKeyOptions{}
	cmd := &cobra.Command{
		Use:   "add-key --name NAME (--key KEY | --key-file FILE | --from-host HOST[:PORT]) [-f system.yaml]",
		Short: "Add a node's or an operator's public key to the recipients files",
		Long: `Add a public key, named NAME, to the recipients files of the manifest's secrets
(or to those --recipients names). The key is an age recipient (age1...) or an
OpenSSH public key (ssh-ed25519, ssh-rsa): given with --key, read from a .pub
file with --key-file, or fetched from a node's SSH server with --from-host, as
ssh-keyscan does (its ssh-ed25519 host key, which is the node's key: compare
its fingerprint with the node's own, cairn secrets identity on it, or its
console). On the node itself, cairn secrets identity prints its keys.

The secrets are not re-encrypted: run cairn secrets rekey next.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSecretsAddKey(cmd.Context(), o, g) },
	}
	addSecretsFlags(cmd, &o.SecretsOptions, false)
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "", "whose key it is: node-1, alice (a word of letters, digits and . _ @ + -)")
	f.StringVar(&o.Key, "key", "", "the public key: age1... or ssh-ed25519 AAAA...")
	f.StringVar(&o.KeyFile, "key-file", "", "read the public key from `FILE` (an age recipient or an OpenSSH .pub file)")
	f.StringVar(&o.FromHost, "from-host", "", "fetch the ssh-ed25519 host key of the node at `HOST[:PORT]`")
	f.StringArrayVar(&o.Recipients, "recipients", nil, "the recipients `FILE` to change (repeatable; default: those of the manifest's secrets)")
	return cmd
}

func runSecretsAddKey(ctx context.Context, o *SecretsKeyOptions, g *Globals) error {
	given := 0
	for _, s := range []string{o.Key, o.KeyFile, o.FromHost} {
		if s != "" {
			given++
		}
	}
	if given != 1 {
		return usagef("give the key one way: --key, --key-file or --from-host")
	}
	if o.Name == "" {
		return usagef("give the key a name: --name node-1")
	}
	var r secrets.Recipient
	var err error
	switch {
	case o.Key != "":
		r, err = secrets.ParseRecipient(o.Key)
	case o.KeyFile != "":
		var data []byte
		if data, err = os.ReadFile(o.KeyFile); err == nil {
			r, err = secrets.ParseKeyFile(data)
		}
	default:
		r, err = secrets.ScanHostKey(ctx, o.FromHost)
		if err == nil && !o.JSON {
			fmt.Fprintf(g.Stderr, "%s's host key, taken on trust: %s (compare it with cairn secrets identity on the node)\n", o.FromHost, r.Fingerprint())
		}
	}
	if err != nil {
		return withCode(ExitUsage, err)
	}
	r.Name = o.Name
	files, err := o.recipientsFiles()
	if err != nil {
		return err
	}
	rep, err := secrets.AddKey(r, files)
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(g.Stdout, rep)
	}
	for _, f := range rep.Files {
		fmt.Fprintf(g.Stdout, "added %s to %s\n", r, f)
	}
	for _, f := range rep.Unchanged {
		fmt.Fprintf(g.Stdout, "%s has %s already\n", f, r)
	}
	if len(rep.Files) > 0 {
		fmt.Fprintln(g.Stdout, "the secrets are not encrypted to it yet: run cairn secrets rekey")
	}
	return nil
}

func newSecretsRemoveKeyCommand(g *Globals) *cobra.Command {
	o := &SecretsKeyOptions{}
	cmd := &cobra.Command{
		Use:   "remove-key NAME [-f system.yaml]",
		Short: "Remove a key from the recipients files",
		Long: `Remove the key named NAME (or given by its key or fingerprint) from the
recipients files of the manifest's secrets (or those --recipients names).
The secrets stay encrypted to it until cairn secrets rekey; whoever holds the
key may have kept what it decrypted, so change the secrets it could read too
(docs/secrets.md, "Key rotation").`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := o.recipientsFiles()
			if err != nil {
				return err
			}
			rep, err := secrets.RemoveKey(args[0], files)
			if err != nil {
				return err
			}
			if o.JSON {
				return writeJSON(g.Stdout, rep)
			}
			if len(rep.Files) == 0 {
				return fmt.Errorf("no key %s in %s", args[0], strings.Join(files, ", "))
			}
			for _, f := range rep.Files {
				fmt.Fprintf(g.Stdout, "removed %s from %s\n", args[0], f)
			}
			fmt.Fprintln(g.Stdout, "the secrets are still encrypted to it: run cairn secrets rekey, and change what it could read")
			return nil
		},
	}
	addSecretsFlags(cmd, &o.SecretsOptions, false)
	cmd.Flags().StringArrayVar(&o.Recipients, "recipients", nil, "the recipients `FILE` to change (repeatable; default: those of the manifest's secrets)")
	return cmd
}

func newSecretsKeygenCommand(g *Globals) *cobra.Command {
	var out string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "keygen -o FILE",
		Short: "Make a new age identity (an operator's, or a node's made in advance)",
		Long: `Write a new age identity to FILE (0600; an existing file is refused) and print
its public key, for cairn secrets add-key. An operator keeps it as
~/.config/cairn/identity; made for a node before its first boot, it goes on
the node's persistent file system as @cairn/identity (docs/secrets.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("give the file: -o FILE (the private key is never printed)")
			}
			text, r, err := secrets.NewAgeIdentity()
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s exists: cairn does not overwrite an identity", out)
			}
			if err != nil {
				return err
			}
			_, err = f.Write(text)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(out)
				return err
			}
			if asJSON {
				return writeJSON(g.Stdout, struct {
					File      string            `json:"file"`
					Recipient secrets.Recipient `json:"recipient"`
				}{out, r})
			}
			fmt.Fprintln(g.Stdout, r.Key)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the identity to `FILE`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the file and the public key as JSON")
	return cmd
}

func newSecretsIdentityCommand(g *Globals) *cobra.Command {
	var root string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "identity",
		Short: "Print this node's public keys, to add to the secrets' recipients",
		Long: `Print the public keys of this node's identities, one a line, in the order the
node tries them: an identity provisioned before its first boot (@cairn/identity
on the store's or the persistence device's file system), then its SSH host key
(` + secrets.NodeSSHKey + `, made at boot when the node has no key). Give one to
cairn secrets add-key on the build machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ids, err := secrets.NodeIdentities(root)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				return fmt.Errorf("this node has no identity yet (%s): the cairn-secrets service makes its SSH host key at boot", strings.Join(secrets.NodeIdentityFiles(), ", "))
			}
			if asJSON {
				type id struct {
					File        string `json:"file"`
					Key         string `json:"key"`
					Fingerprint string `json:"fingerprint"`
				}
				out := []id{}
				for _, i := range ids {
					out = append(out, id{i.File, i.Recipient.Key, i.Recipient.Fingerprint()})
				}
				return writeJSON(g.Stdout, struct {
					Identities []id `json:"identities"`
				}{out})
			}
			for _, i := range ids {
				fmt.Fprintln(g.Stdout, i.Recipient.Key)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", "/", "the system whose keys to print")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys, their files and fingerprints as JSON")
	return cmd
}

// SecretsActivateOptions are the options of cairn secrets activate.
type SecretsActivateOptions struct {
	Store      StoreOptions
	Root       string
	Generation int
	Boot       bool
	JSON       bool
}

func newSecretsActivateCommand(g *Globals) *cobra.Command {
	o := &SecretsActivateOptions{}
	cmd := &cobra.Command{
		Use:   "activate [--generation N] [--boot]",
		Short: "Put a generation's secrets in place on this node",
		Long: `Decrypt the booted generation's secrets (or generation N's, from the store) with
this node's keys into /run/secrets, each with its owner and mode; a secret is
replaced only when it changed, and the running services of a changed secret
are restarted, others not. Secrets the last activation wrote that the
generation no longer declares are removed. What it did is recorded in
` + secrets.StatusPath + ` (no secret in it), which cairn confirm checks.

--boot is what the cairn-secrets service runs at boot: a node without any key
gets its SSH host key made first, and nothing is restarted. A secret this
node cannot decrypt is named, with the keys it is encrypted to and this
node's, and the command fails: the services that need it do not start, and a
trial generation is not confirmed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSecretsActivate(cmd.Context(), o, g) },
	}
	addStoreFlags(cmd, &o.Store, false)
	f := cmd.Flags()
	f.StringVar(&o.Root, "root", "/", "the running system")
	f.IntVar(&o.Generation, "generation", 0, "activate generation `N` of the store instead of the booted system's")
	f.BoolVar(&o.Boot, "boot", false, "the activation at boot (the cairn-secrets service)")
	f.BoolVar(&o.JSON, "json", false, "print what was done as JSON")
	return cmd
}

func runSecretsActivate(ctx context.Context, o *SecretsActivateOptions, g *Globals) error {
	req := node.ActivateRequest{Root: o.Root, Generation: o.Generation, Boot: o.Boot}
	if o.Generation != 0 {
		var err error
		if req.Store, err = o.Store.node(g); err != nil {
			return err
		}
	}
	rep, err := node.ActivateSecrets(ctx, req)
	if rep == nil {
		return err
	}
	if o.JSON {
		if jerr := writeJSON(g.Stdout, rep); jerr != nil {
			return jerr
		}
		if err != nil {
			return reported(ExitFailure, err)
		}
		return nil
	}
	if rep.Created != nil {
		fmt.Fprintf(g.Stdout, "  made this node's key %s: %s\n", secrets.NodeSSHKey, rep.Created.Fingerprint())
	}
	for _, s := range rep.Secrets {
		// At boot OpenRC's line says it all when it went well.
		if s.State != secrets.StateFailed && !o.Boot {
			fmt.Fprintf(g.Stdout, "  %-9s %s -> %s (%s %s)\n", s.State, s.Name, s.Path, s.Owner, s.Mode)
		}
	}
	for _, p := range rep.Removed {
		fmt.Fprintf(g.Stdout, "  removed   %s\n", p)
	}
	if len(rep.Restarted) > 0 {
		fmt.Fprintf(g.Stdout, "  restarted %s\n", strings.Join(rep.Restarted, ", "))
	}
	if len(rep.Failed()) > 0 {
		for _, id := range rep.Identities {
			fmt.Fprintf(g.Stdout, "  this node's key (%s): %s\n", id.Name, id.Key)
		}
	}
	return err
}
