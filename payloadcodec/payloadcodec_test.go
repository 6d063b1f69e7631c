package payloadcodec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/jobmanager/jobmanager/payloadcodec"
)

type customer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

var erika = customer{Name: "Erika Mustermann", Email: "erika@example.org"}

func newKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, payloadcodec.KeySize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(k)
}

func codec(t *testing.T, spec, active string) *payloadcodec.Codec {
	t.Helper()
	keys, err := payloadcodec.Parse(spec, active)
	require.NoError(t, err)
	c, err := payloadcodec.NewCodec(keys)
	require.NoError(t, err)
	return c
}

// clear is a payload as the default converter writes it.
func clear(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

func TestEncodeDecode(t *testing.T) {
	c := codec(t, "k1:"+newKey(t), "")
	in := clear(t, erika)
	enc, err := c.Encode([]*commonpb.Payload{in})
	require.NoError(t, err)
	require.Len(t, enc, 1)
	require.Equal(t, payloadcodec.EncodingEncrypted, string(enc[0].Metadata[payloadcodec.MetadataEncoding]))
	require.Equal(t, "k1", string(enc[0].Metadata[payloadcodec.MetadataKeyID]))
	for _, secret := range []string{erika.Name, erika.Email, "json/plain"} {
		require.NotContains(t, string(enc[0].Data), secret)
	}
	again, err := c.Encode([]*commonpb.Payload{in})
	require.NoError(t, err)
	require.NotEqual(t, enc[0].Data, again[0].Data, "a fresh nonce per payload")

	dec, err := c.Decode(enc)
	require.NoError(t, err)
	var out customer
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &out))
	require.Equal(t, erika, out)

	// Through the data converter, as clients and workers use it.
	dc := payloadcodec.DataConverter(c)
	p, err := dc.ToPayload(erika)
	require.NoError(t, err)
	require.NotContains(t, p.String(), erika.Email)
	out = customer{}
	require.NoError(t, dc.FromPayload(p, &out))
	require.Equal(t, erika, out)
}

func TestRotation(t *testing.T) {
	k1, k2 := "k1:"+newKey(t), "k2:"+newKey(t)
	old := codec(t, k1, "")
	oldEnc, err := old.Encode([]*commonpb.Payload{clear(t, erika)})
	require.NoError(t, err)

	// k2 becomes active, first in the list or named by PAYLOAD_KEY_ID; k1 stays listed.
	for name, c := range map[string]*payloadcodec.Codec{
		"first":    codec(t, k2+","+k1, ""),
		"named id": codec(t, k1+" , "+k2, "k2"),
	} {
		t.Run(name, func(t *testing.T) {
			newEnc, err := c.Encode([]*commonpb.Payload{clear(t, erika)})
			require.NoError(t, err)
			require.Equal(t, "k2", string(newEnc[0].Metadata[payloadcodec.MetadataKeyID]), "new payloads use the new key")
			for _, enc := range [][]*commonpb.Payload{oldEnc, newEnc} {
				dec, err := c.Decode(enc)
				require.NoError(t, err)
				var out customer
				require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &out))
				require.Equal(t, erika, out)
			}
			// The old codec does not know k2.
			_, err = old.Decode(newEnc)
			require.ErrorContains(t, err, `unknown key ID "k2"`)
		})
	}
}

func TestUnknownKeyID(t *testing.T) {
	enc, err := codec(t, "k0:"+newKey(t), "").Encode([]*commonpb.Payload{clear(t, erika)})
	require.NoError(t, err)
	_, err = codec(t, "k1:"+newKey(t), "").Decode(enc)
	require.ErrorContains(t, err, `unknown key ID "k0"`)
	require.ErrorContains(t, err, payloadcodec.EnvKeys)
}

func TestClearPayloadsPassThrough(t *testing.T) {
	c := codec(t, "k1:"+newKey(t), "")
	in := []*commonpb.Payload{clear(t, erika), clear(t, nil), clear(t, []byte{1, 2, 3})}
	dec, err := c.Decode(in)
	require.NoError(t, err)
	require.Equal(t, in, dec)
}

func TestTamperingFails(t *testing.T) {
	k1, k2 := "k1:"+newKey(t), "k2:"+newKey(t)
	c := codec(t, k1+","+k2, "")
	enc, err := c.Encode([]*commonpb.Payload{clear(t, erika)})
	require.NoError(t, err)

	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: bytes.Clone(enc[0].Data)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	_, err = c.Decode([]*commonpb.Payload{flipped})
	require.ErrorContains(t, err, "was changed")

	// The key ID is authenticated: relabelling a payload does not get it decrypted.
	relabelled := &commonpb.Payload{
		Metadata: map[string][]byte{payloadcodec.MetadataEncoding: []byte(payloadcodec.EncodingEncrypted), payloadcodec.MetadataKeyID: []byte("k2")},
		Data:     enc[0].Data,
	}
	_, err = c.Decode([]*commonpb.Payload{relabelled})
	require.Error(t, err)

	short := &commonpb.Payload{Metadata: enc[0].Metadata, Data: enc[0].Data[:5]}
	_, err = c.Decode([]*commonpb.Payload{short})
	require.ErrorContains(t, err, "too short")
}

func TestParse(t *testing.T) {
	key := newKey(t)
	for spec, msg := range map[string]string{
		"":                         "no keys",
		"k1":                       "not id:base64",
		":" + key:                  "not id:base64",
		"k1:not base64!":           "not base64",
		"k1:" + key + ",k1:" + key: "given twice",
		"k1:" + base64.StdEncoding.EncodeToString([]byte("short")): "want 32",
	} {
		_, err := payloadcodec.Parse(spec, "")
		require.ErrorContains(t, err, msg, "spec %q", spec)
	}
	_, err := payloadcodec.Parse("k1:"+key, "k9")
	require.ErrorContains(t, err, `active key ID "k9" is not among the keys (k1)`)

	keys, err := payloadcodec.Parse("k2:"+key+",k1:"+newKey(t), "")
	require.NoError(t, err)
	require.Equal(t, "k2", keys.ActiveID())
	require.Equal(t, []string{"k1", "k2"}, keys.IDs())
	require.False(t, keys.IsDev())

	_, err = payloadcodec.NewCodec(payloadcodec.Keys{})
	require.ErrorContains(t, err, payloadcodec.EnvKeys)
}

func TestDevKeyIsRecognised(t *testing.T) {
	require.True(t, payloadcodec.Dev().IsDev())
	require.Equal(t, payloadcodec.DevKeyID, payloadcodec.Dev().ActiveID())
	// Under another ID too, as long as it is the active key.
	devRaw := payloadcodec.DevSpec()[len(payloadcodec.DevKeyID)+1:]
	renamed, err := payloadcodec.Parse("prod:"+devRaw, "")
	require.NoError(t, err)
	require.True(t, renamed.IsDev())
	rotated, err := payloadcodec.Parse("k2:"+newKey(t)+",old:"+devRaw, "")
	require.NoError(t, err)
	require.False(t, rotated.IsDev(), "a retired dev key only decodes")
	activeDev, err := payloadcodec.Parse("k2:"+newKey(t)+",old:"+devRaw, "old")
	require.NoError(t, err)
	require.True(t, activeDev.IsDev())

	// What Dev encrypts, the parsed form of DevSpec decrypts.
	enc, err := codec(t, payloadcodec.DevSpec(), "").Encode([]*commonpb.Payload{clear(t, erika)})
	require.NoError(t, err)
	devCodec, err := payloadcodec.NewCodec(payloadcodec.Dev())
	require.NoError(t, err)
	_, err = devCodec.Decode(enc)
	require.NoError(t, err)
}

func TestFromEnv(t *testing.T) {
	t.Setenv(payloadcodec.EnvKeys, "")
	t.Setenv(payloadcodec.EnvKeyID, "")
	keys, err := payloadcodec.FromEnv()
	require.NoError(t, err)
	require.True(t, keys.IsDev(), "unset means the development key")

	t.Setenv(payloadcodec.EnvKeyID, "k1")
	_, err = payloadcodec.FromEnv()
	require.ErrorContains(t, err, payloadcodec.EnvKeys+" is unset")

	t.Setenv(payloadcodec.EnvKeys, "k0:"+newKey(t)+",k1:"+newKey(t))
	keys, err = payloadcodec.FromEnv()
	require.NoError(t, err)
	require.Equal(t, "k1", keys.ActiveID())
	require.False(t, keys.IsDev())

	t.Setenv(payloadcodec.EnvKeys, "k0:nope")
	_, err = payloadcodec.FromEnv()
	require.ErrorContains(t, err, payloadcodec.EnvKeys)
}
