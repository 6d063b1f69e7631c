package i18n

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	for header, want := range map[string]string{
		"":                       "de",
		"de":                     "de",
		"en":                     "en",
		"en-US,en;q=0.9":         "en",
		"de-CH":                  "de",
		"fr":                     "de",
		"fr, en;q=0.5":           "en",
		"en;q=0.4, de;q=0.8":     "de",
		"*":                      "de",
		"not a language tag ;;;": "de",
	} {
		require.Equal(t, want, Match(header), "Accept-Language: %q", header)
	}
}

func TestFill(t *testing.T) {
	require.Equal(t, `phase "x" is not "y"`, Fill(`phase "{phase}" is not "{current}"`, map[string]string{"phase": "x", "current": "y"}))
	require.Equal(t, "keeps {missing} and {", Fill("keeps {missing} and {", nil))
	require.Equal(t, "{a}", Fill("{a}", map[string]string{"a": "{a}"}), "values are not filled again")
	require.Equal(t, []string{"a", "b"}, Placeholders("{a} and {b}"))
}

func TestLoadAndCheck(t *testing.T) {
	fsys := fstest.MapFS{
		"l/de.toml": {Data: []byte("[page]\nhello = \"Hallo {name}\"\nonly_de = \"x\"\n")},
		"l/en.toml": {Data: []byte("[page]\nhello = \"Hello {who}\"\nonly_en = \"y\"\n")},
	}
	cat, err := Load(fsys, "l")
	require.NoError(t, err)
	text, ok := cat.Text("de", "page", "hello", map[string]string{"name": "Erika"})
	require.True(t, ok)
	require.Equal(t, "Hallo Erika", text)
	require.Equal(t, []string{
		"[page] hello names [name] in de.toml but [who] in en.toml",
		"[page] only_de is in de.toml but not in en.toml",
		"[page] only_en is in en.toml but not in de.toml",
	}, cat.Check())
	_, err = Load(fstest.MapFS{}, "l")
	require.Error(t, err)
}
