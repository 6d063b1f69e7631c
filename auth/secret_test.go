package auth_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/auth"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		token, hash, err := auth.NewToken()
		require.NoError(t, err)
		require.Regexp(t, `^[A-Za-z0-9_-]{43}$`, token, "32 bytes, base64url without padding")
		require.Regexp(t, `^[0-9a-f]{64}$`, hash)
		require.Equal(t, auth.HashToken(token), hash)
		require.False(t, seen[token], "a token repeats")
		seen[token] = true
	}
	require.NotEqual(t, auth.HashToken("a"), auth.HashToken("b"))
}

func TestCheckNewPassword(t *testing.T) {
	for _, tc := range []struct {
		password string
		want     error
	}{
		{"", auth.ErrPasswordTooShort},
		{"neun-zchn", auth.ErrPasswordTooShort},
		{"zehn-zchn!", nil},
		{"ääääääääää", nil}, // ten characters, twenty bytes
		{strings.Repeat("x", 72), nil},
		{strings.Repeat("x", 73), auth.ErrPasswordTooLong},
		{strings.Repeat("ä", 37), auth.ErrPasswordTooLong}, // 37 characters, 74 bytes
	} {
		require.ErrorIs(t, auth.CheckNewPassword(tc.password), tc.want, "%q", tc.password)
		if tc.want == nil {
			require.NoError(t, auth.CheckNewPassword(tc.password), "%q", tc.password)
		}
	}
}

func TestPasswords(t *testing.T) {
	hash, err := auth.HashPassword("richtig-geheim")
	require.NoError(t, err)
	require.True(t, regexp.MustCompile(`^\$2[aby]\$10\$`).MatchString(hash), "bcrypt at its default cost: %s", hash)
	require.True(t, auth.CheckPassword(hash, "richtig-geheim"))
	require.False(t, auth.CheckPassword(hash, "richtig-geheim "))
	require.False(t, auth.CheckPassword(hash, ""))
	require.False(t, auth.CheckPassword("", "richtig-geheim"), "no hash: no account")
	require.False(t, auth.CheckPassword("not-a-bcrypt-hash", "richtig-geheim"))
	_, err = auth.HashPassword(strings.Repeat("x", 73))
	require.ErrorIs(t, err, auth.ErrPasswordTooLong, "bcrypt would cut it silently")
	other, err := auth.HashPassword("richtig-geheim")
	require.NoError(t, err)
	require.NotEqual(t, hash, other, "salted")
}
