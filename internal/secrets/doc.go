// Package secrets is cairn's age-encrypted secrets (docs/secrets.md): the
// recipients files that say who a directory's secrets are encrypted to,
// encrypting, decrypting and reading from a file's header what it is
// encrypted to; the operator's identities and a node's; editing and
// rekeying secrets beside a manifest; and, on the node, putting a
// generation's secrets in place in memory (Activation) and checking at
// confirmation that they are. Generations, images and cairn's output
// carry secrets encrypted only: nothing here writes a plaintext outside
// /run/secrets on the node and the private temporary file of an edit.
package secrets
