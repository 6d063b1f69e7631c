// Package secrets seals small secrets, such as a dealer's SMTP password, for storage:
// AES-256-GCM under one key the process is given (env SECRETS_KEY, base64 of 32
// bytes). It only encrypts and decrypts; where the sealed bytes are kept is the
// store's business, and nothing here logs or returns a key.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvKey names the environment variable with the key: 32 bytes, standard base64.
const EnvKey = "SECRETS_KEY"

// KeySize is the key length: AES-256.
const KeySize = 32

// ErrNoKey is returned when sealing or opening is asked of a Box without a key.
var ErrNoKey = errors.New("secrets: no key configured (set " + EnvKey + ")")

// devKey is a fixed, PUBLIC key for development and tests only: anything sealed with
// it is as good as plain text. Production must set SECRETS_KEY.
var devKey = []byte("jobmanager-DEV-ONLY-secrets-key!")

// Box seals and opens secrets with one key. A nil *Box has no key and refuses both.
type Box struct {
	aead cipher.AEAD
}

// New makes a box with a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: key has %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Box{aead: aead}, nil
}

// FromEnv makes a box with the key in SECRETS_KEY; nil and no error when it is unset,
// so a deployment without it runs and refuses only to seal.
func FromEnv() (*Box, error) {
	v := strings.TrimSpace(os.Getenv(EnvKey))
	if v == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("secrets: %s is not base64: %w", EnvKey, err)
	}
	return New(key)
}

// Dev is a box with the fixed development key: for `make dev` and tests only, never
// for data worth protecting.
func Dev() *Box {
	b, err := New(devKey)
	if err != nil {
		// devKey has KeySize bytes; New cannot fail on it.
		panic(err)
	}
	return b
}

// IsDevKey tells whether key is the public development key of Dev, so a production
// process can refuse to start with it.
func IsDevKey(key []byte) bool {
	return subtle.ConstantTimeCompare(key, devKey) == 1
}

// Seal encrypts plain; context (such as the owner's ID) is authenticated but not
// stored, so sealed bytes open only under the same context. The result is nonce
// followed by ciphertext and tag.
func (b *Box) Seal(plain, context []byte) ([]byte, error) {
	if b == nil {
		return nil, ErrNoKey
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secrets: nonce: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plain, context), nil
}

// Open decrypts what Seal made under the same key and context.
func (b *Box) Open(sealed, context []byte) ([]byte, error) {
	if b == nil {
		return nil, ErrNoKey
	}
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, errors.New("secrets: sealed value is too short")
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], context)
	if err != nil {
		return nil, fmt.Errorf("secrets: open: wrong key or context, or the value was changed: %w", err)
	}
	return plain, nil
}
