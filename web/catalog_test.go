package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPageCatalog fails when the languages differ, or when a template or Go file of
// the package names a text ("section.key" in .T, or a catalog ID given to renderError
// and friends) that the catalog lacks.
func TestPageCatalog(t *testing.T) {
	require.NoError(t, catalogErr)
	for _, problem := range catalog.Check() {
		t.Error(problem)
	}
	uses := regexp.MustCompile(`\.T "([a-z0-9_]+\.[a-z0-9_]+)"|\.T\("([a-z0-9_]+\.[a-z0-9_]+)"|"((?:error|status|turn)\.[a-z0-9_]+)"`)
	var files []string
	require.NoError(t, filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".html") || (strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go"))) {
			files = append(files, p)
		}
		return err
	}))
	found := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range uses.FindAllStringSubmatch(string(raw), -1) {
			id := m[1] + m[2] + m[3]
			section, key, _ := strings.Cut(id, ".")
			for lang := range catalog {
				if _, ok := catalog[lang][section][key]; !ok {
					t.Errorf("%s names %q, which locales/*/%s.toml lacks", f, id, lang)
				}
			}
			found++
		}
	}
	require.NotZero(t, found)
}
