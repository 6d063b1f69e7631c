package secrets_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/secrets"
)

func TestSealOpensOnlyUnderItsKeyAndContext(t *testing.T) {
	box := secrets.Dev()
	sealed, err := box.Seal([]byte("s3cret"), []byte("dealer-a"))
	require.NoError(t, err)
	require.False(t, bytes.Contains(sealed, []byte("s3cret")), "the secret is not in the clear")

	plain, err := box.Open(sealed, []byte("dealer-a"))
	require.NoError(t, err)
	require.Equal(t, "s3cret", string(plain))

	_, err = box.Open(sealed, []byte("dealer-b"))
	require.Error(t, err, "a value copied to another dealer does not open")
	other, err := secrets.New(bytes.Repeat([]byte{7}, secrets.KeySize))
	require.NoError(t, err)
	_, err = other.Open(sealed, []byte("dealer-a"))
	require.Error(t, err, "another key does not open it")
	sealed[len(sealed)-1] ^= 1
	_, err = box.Open(sealed, []byte("dealer-a"))
	require.Error(t, err, "a changed value does not open")

	again, err := box.Seal([]byte("s3cret"), []byte("dealer-a"))
	require.NoError(t, err)
	require.NotEqual(t, sealed, again, "every seal has its own nonce")
}

func TestKeysFromTheEnvironment(t *testing.T) {
	var none *secrets.Box
	_, err := none.Seal([]byte("x"), nil)
	require.ErrorIs(t, err, secrets.ErrNoKey)

	t.Setenv(secrets.EnvKey, "")
	box, err := secrets.FromEnv()
	require.NoError(t, err)
	require.Nil(t, box, "no key: no box")

	t.Setenv(secrets.EnvKey, "not base64!")
	_, err = secrets.FromEnv()
	require.Error(t, err)
	t.Setenv(secrets.EnvKey, base64.StdEncoding.EncodeToString([]byte("short")))
	_, err = secrets.FromEnv()
	require.Error(t, err)
	t.Setenv(secrets.EnvKey, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, secrets.KeySize)))
	box, err = secrets.FromEnv()
	require.NoError(t, err)
	require.NotNil(t, box)
}
