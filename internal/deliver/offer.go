package deliver

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cairnlinux/cairn/internal/store"
)

// protocolFormat is the version of the protocol and of the header.
const protocolFormat = 1

// Header is what the sender signs: which tree (its digest), what it is
// (the generation's metadata) and how a btrfs receiver can get it
// incrementally.
type Header struct {
	Format int `json:"format"`
	// TreeDigest is the SHA-256 of the listing that follows the offer.
	TreeDigest string `json:"treeDigest"`
	// Entries and Bytes describe the tree: names, and content bytes.
	Entries int   `json:"entries"`
	Bytes   int64 `json:"bytes"`
	// Sender names the sending store's host; Generation is the number
	// the generation has there.
	Sender     string     `json:"sender"`
	Generation int        `json:"generation"`
	Meta       store.Meta `json:"meta"`
	// Btrfs is set when the sender's store is on btrfs.
	Btrfs *BtrfsSource `json:"btrfs,omitempty"`
}

// BtrfsSource identifies the sender's subvolume and the subvolumes it
// can send an incremental stream against.
type BtrfsSource struct {
	// UUID and CTransid identify the generation's subvolume as a
	// receiver records it (its received UUID and stransid).
	UUID     string `json:"uuid"`
	CTransid uint64 `json:"ctransid"`
	// Parents are the identities (received UUID, else UUID) of the
	// sender's other generations, newest first; Ancestors those the
	// generation descends from by snapshot, nearest first.
	Parents   []string `json:"parents,omitempty"`
	Ancestors []string `json:"ancestors,omitempty"`
}

// Offer is the first message of a delivery: the header as signed bytes,
// the signing key's id and the signature.
type Offer struct {
	Header    json.RawMessage `json:"header"`
	KeyID     string          `json:"keyId"`
	Signature []byte          `json:"signature"`
}

// ErrUntrusted is returned for an offer no trusted key signed, or whose
// signature does not verify.
var ErrUntrusted = errors.New("not signed by a trusted key")

// ErrTampered is returned when what arrived does not match what was
// signed: the listing, a file's content, or the tree built.
var ErrTampered = errors.New("does not match what the sender signed")

// signOffer signs h with key.
func signOffer(h Header, key PrivateKey) (Offer, error) {
	data, err := json.Marshal(h)
	if err != nil {
		return Offer{}, err
	}
	return Offer{Header: data, KeyID: key.ID, Signature: key.sign(signedMessage(data))}, nil
}

// signedMessage is what a signature covers: a context string, so that a
// signature over an offer can never be taken for one over anything else
// made with the same key, and the header's bytes.
func signedMessage(header []byte) []byte {
	return append([]byte("cairn delivery offer v1\x00"), header...)
}

// verify checks the offer's signature with the trusted keys and decodes
// the header.
func (o Offer) verify(trusted []PublicKey) (Header, PublicKey, error) {
	var key *PublicKey
	for i := range trusted {
		if trusted[i].ID == o.KeyID {
			key = &trusted[i]
		}
	}
	if key == nil {
		return Header{}, PublicKey{}, fmt.Errorf("the generation is signed by key %s, which this node does not trust: %w", o.KeyID, ErrUntrusted)
	}
	if !ed25519.Verify(key.key, signedMessage(o.Header), o.Signature) {
		return Header{}, PublicKey{}, fmt.Errorf("the signature by key %s (%s) does not verify: %w", o.KeyID, key.File, ErrUntrusted)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(o.Header))
	if err := dec.Decode(&h); err != nil {
		return Header{}, PublicKey{}, fmt.Errorf("offer header: %w", err)
	}
	if h.Format != protocolFormat {
		return Header{}, PublicKey{}, fmt.Errorf("offer format %d: this cairn speaks format %d (update one side)", h.Format, protocolFormat)
	}
	return h, *key, nil
}

// Methods of carrying the data.
const (
	MethodFiles = "files"
	MethodBtrfs = "btrfs"
	// MethodNone: the receiver already holds the tree.
	MethodNone = "none"
)

// Request is the receiver's answer to an offer: what to send.
type Request struct {
	Method string `json:"method"`
	// Want lists, for MethodFiles, the SHA-256 of every file content to
	// send, in the order the receiver reads them.
	Want []string `json:"want,omitempty"`
	// Parent is, for MethodBtrfs, the identity of the generation to send
	// the stream against.
	Parent string `json:"parent,omitempty"`
}

// Result is the receiver's last word.
type Result struct {
	// Generation is the receiver's number for the delivered generation,
	// SenderGeneration the sender's.
	Generation       int    `json:"generation"`
	SenderGeneration int    `json:"senderGeneration"`
	Method           string `json:"method"`
	// Already says the receiver held the tree before.
	Already bool `json:"already,omitempty"`
	// Files is how many file contents were sent; Reused how many the
	// receiver took from its own generations.
	Files  int `json:"files,omitempty"`
	Reused int `json:"reused,omitempty"`
	// Error is the receiver's error, when it failed; Refused says why it
	// refused the generation: "untrusted" or "tampered".
	Error   string `json:"error,omitempty"`
	Refused string `json:"refused,omitempty"`
}
