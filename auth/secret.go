package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password length limits. bcrypt reads at most 72 bytes; a longer password would be
// cut silently, so it is refused instead.
const (
	MinPasswordLength = 10
	MaxPasswordBytes  = 72
)

// tokenBytes is the entropy of every token handed out: session cookies, API tokens,
// signed links and reset links.
const tokenBytes = 32

// NewToken returns a random token (32 bytes from crypto/rand, base64url without
// padding) and its hash, which is what gets stored.
func NewToken() (token, hash string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("make token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the stored form of a token: its SHA-256, hex-encoded. Tokens carry 256
// random bits, so a fast hash suffices; no salt or stretching is needed to keep a
// copied database from opening sessions.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Errors of a new password that is too short or too long.
var (
	ErrPasswordTooShort = fmt.Errorf("password shorter than %d characters", MinPasswordLength)
	ErrPasswordTooLong  = fmt.Errorf("password longer than %d bytes", MaxPasswordBytes)
)

// CheckNewPassword returns ErrPasswordTooShort or ErrPasswordTooLong for a password
// that may not be set, nil for one that may.
func CheckNewPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return ErrPasswordTooShort
	case len(password) > MaxPasswordBytes:
		return ErrPasswordTooLong
	}
	return nil
}

// HashPassword hashes a password with bcrypt at its default cost.
func HashPassword(password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("hash password: %w", ErrPasswordTooLong)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches hash. An empty or malformed hash
// matches nothing, but still costs the time of a real comparison, so the answer's
// timing does not tell whether an account exists.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash()), []byte(password))
		return false
	}
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		// A malformed stored hash: refuse, but spend the time of a real comparison.
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash()), []byte(password))
	}
	return err == nil
}

// dummyHash is a bcrypt hash of a random password at the default cost, made once and
// only when first needed, as making it costs as much as a login.
var dummyHash = sync.OnceValue(func() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h, err := bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(b)), bcrypt.DefaultCost)
	if err != nil {
		// Cannot happen for a 32-byte password; a hash that never matches will do.
		return "$2a$10$invalidinvalidinvalidinvalidinvalidinvalidinvalidinvali"
	}
	return string(h)
})
