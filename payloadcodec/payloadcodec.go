// Package payloadcodec encrypts Temporal payloads, which carry customers' names,
// e-mail addresses and field values, so the Temporal server and its database hold only
// ciphertext. It is a converter.PayloadCodec (AES-256-GCM over the serialized payload,
// a random nonce per payload, the key ID in the payload's metadata) plus the key ring it
// reads from the environment, and the data and failure converters that API, worker,
// benchmark and replayers share through temporalclient.Dial and devstack.
//
// Rotation: new payloads use the active key; every configured key still decodes, so
// histories written under an older key stay readable as long as that key is listed.
// Payloads that are not encrypted (recorded before encryption) pass through Decode.
// Where keys come from is the environment's business (PAYLOAD_KEYS); this package
// never logs or returns key material.
package payloadcodec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Environment variables with the keys.
const (
	// EnvKeys holds comma-separated id:base64(32 bytes) pairs. The first is the active
	// key unless EnvKeyID names another; all of them decode.
	EnvKeys = "PAYLOAD_KEYS"
	// EnvKeyID names the active key among EnvKeys.
	EnvKeyID = "PAYLOAD_KEY_ID"
)

// Metadata of an encrypted payload.
const (
	// MetadataEncoding is the payload metadata key every converter reads first.
	MetadataEncoding = converter.MetadataEncoding
	// EncodingEncrypted marks a payload this codec encrypted.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// DevKeyID is the ID of the development key.
const DevKeyID = "dev"

// devKey is a fixed, PUBLIC key for `make dev` and tests only: payloads encrypted with
// it are as good as plain text. Production sets PAYLOAD_KEYS, and refuses this key
// (Keys.IsDev).
var devKey = []byte("jobmanager-DEV-ONLY-payload-key!")

// Keys is a key ring: the active key that encrypts, and every key that decrypts. The
// zero value has no keys; Codec refuses it.
type Keys struct {
	active string
	aeads  map[string]cipher.AEAD
	// dev is true when the active key is the public development key.
	dev bool
}

// Parse reads a key ring from its environment form: comma-separated id:base64 pairs
// (standard base64 of 32 bytes). activeID names the key new payloads use; empty means
// the first pair.
func Parse(spec, activeID string) (Keys, error) {
	k := Keys{aeads: map[string]cipher.AEAD{}}
	for i, pair := range strings.Split(spec, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		id, encoded, ok := strings.Cut(pair, ":")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return Keys{}, fmt.Errorf("payloadcodec: key %d is not id:base64", i+1)
		}
		if _, dup := k.aeads[id]; dup {
			return Keys{}, fmt.Errorf("payloadcodec: key ID %q is given twice", id)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
		if err != nil {
			return Keys{}, fmt.Errorf("payloadcodec: key %q is not base64: %w", id, err)
		}
		aead, err := newAEAD(raw)
		if err != nil {
			return Keys{}, fmt.Errorf("payloadcodec: key %q: %w", id, err)
		}
		k.aeads[id] = aead
		if k.active == "" {
			k.active = id
		}
		if bytes.Equal(raw, devKey) && (activeID == id || (activeID == "" && k.active == id)) {
			k.dev = true
		}
	}
	if len(k.aeads) == 0 {
		return Keys{}, errors.New("payloadcodec: no keys given")
	}
	if activeID != "" {
		if _, ok := k.aeads[activeID]; !ok {
			return Keys{}, fmt.Errorf("payloadcodec: active key ID %q is not among the keys (%s)", activeID, strings.Join(k.IDs(), ", "))
		}
		k.active = activeID
	}
	return k, nil
}

// FromEnv reads PAYLOAD_KEYS and PAYLOAD_KEY_ID. When PAYLOAD_KEYS is unset it returns
// the development keys (Dev), so `make dev`, tests and a first local run work without
// configuration; production refuses those through IsDev.
func FromEnv() (Keys, error) {
	spec := strings.TrimSpace(os.Getenv(EnvKeys))
	if spec == "" {
		if id := strings.TrimSpace(os.Getenv(EnvKeyID)); id != "" && id != DevKeyID {
			return Keys{}, fmt.Errorf("payloadcodec: %s is %q but %s is unset", EnvKeyID, id, EnvKeys)
		}
		return Dev(), nil
	}
	k, err := Parse(spec, strings.TrimSpace(os.Getenv(EnvKeyID)))
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", EnvKeys, err)
	}
	return k, nil
}

// Dev is the key ring with only the public development key, ID "dev": for `make dev`
// and tests, never for data worth protecting.
func Dev() Keys {
	aead, err := newAEAD(devKey)
	if err != nil {
		// devKey has KeySize bytes; this cannot happen. An empty ring makes every use
		// fail loudly rather than encrypt with nothing.
		return Keys{}
	}
	return Keys{active: DevKeyID, aeads: map[string]cipher.AEAD{DevKeyID: aead}, dev: true}
}

// DevSpec is the development key in PAYLOAD_KEYS form, for scripts and tests that set
// the environment.
func DevSpec() string { return DevKeyID + ":" + base64.StdEncoding.EncodeToString(devKey) }

// IsDev reports whether new payloads would be encrypted with the public development
// key (whatever ID it is given): production must refuse to run so.
func (k Keys) IsDev() bool { return k.dev }

// IsZero reports whether the ring has no keys.
func (k Keys) IsZero() bool { return len(k.aeads) == 0 }

// ActiveID is the ID of the key new payloads use.
func (k Keys) ActiveID() string { return k.active }

// IDs lists the IDs of every key, sorted.
func (k Keys) IDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key has %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Codec encrypts and decrypts payloads with a key ring; it is a converter.PayloadCodec.
type Codec struct {
	keys Keys
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec makes a codec; it refuses an empty key ring, since a codec without a key
// could only pass personal data through in clear.
func NewCodec(k Keys) (*Codec, error) {
	if k.IsZero() {
		return nil, errors.New("payloadcodec: no keys configured (set " + EnvKeys + ")")
	}
	return &Codec{keys: k}, nil
}

// Encode encrypts each payload, whole (metadata and data), with the active key. The
// key ID is authenticated as additional data, so a payload moved under another ID does
// not decrypt.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.keys.active
	aead := c.keys.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("payloadcodec: serialize payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("payloadcodec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(id),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(id)),
		}
	}
	return out, nil
}

// Decode decrypts the payloads this codec encrypted, with the key their metadata
// names, and passes every other payload through unchanged (histories recorded before
// encryption, search attributes).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return payloads, errors.New("payloadcodec: encrypted payload names no key ID")
		}
		aead, ok := c.keys.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("payloadcodec: unknown key ID %q: add it to %s to read payloads written under it", id, EnvKeys)
		}
		n := aead.NonceSize()
		if len(p.GetData()) < n+aead.Overhead() {
			return payloads, fmt.Errorf("payloadcodec: encrypted payload under key %q is too short", id)
		}
		plain, err := aead.Open(nil, p.Data[:n], p.Data[n:], []byte(id))
		if err != nil {
			return payloads, fmt.Errorf("payloadcodec: decrypt payload under key %q: wrong key or the payload was changed: %w", id, err)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return payloads, fmt.Errorf("payloadcodec: decrypted payload under key %q is no payload: %w", id, err)
		}
		out[i] = &dec
	}
	return out, nil
}

// Converters are the data and failure converters over a codec of k: what every Temporal
// client, worker and replayer of the project is given.
func Converters(k Keys) (converter.DataConverter, converter.FailureConverter, error) {
	codec, err := NewCodec(k)
	if err != nil {
		return nil, nil, err
	}
	dc := DataConverter(codec)
	return dc, FailureConverter(dc), nil
}

// DataConverter is the SDK's default data converter with the codec over it: what every
// Temporal client, worker and replayer of the project uses.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter encrypts failures' messages and stack traces too: an activity's
// error may quote an e-mail address or a name.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}
