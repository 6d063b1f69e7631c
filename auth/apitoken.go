package auth

import (
	"context"
	"fmt"

	"github.com/jobmanager/jobmanager/store"
)

// NewAPIToken makes an integration token of the dealer and returns its record and
// the token, which is shown this once: only its hash is stored.
func NewAPIToken(ctx context.Context, st *store.Store, dealer, name, createdBy string) (store.APIToken, string, error) {
	token, _, err := NewToken()
	if err != nil {
		return store.APIToken{}, "", err
	}
	token = APITokenPrefix + token
	t, err := st.CreateAPIToken(ctx, store.APIToken{Dealer: dealer, Name: name, Hash: HashToken(token), CreatedBy: createdBy})
	if err != nil {
		return store.APIToken{}, "", fmt.Errorf("new API token: %w", err)
	}
	return t, token, nil
}
