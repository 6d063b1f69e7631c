package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/store"
)

// NewJobLink makes a signed link to job number of the dealer, valid for ttl: a random
// token whose hash is stored with the job (and the customer, when customerID is not
// empty). Put the token into the link a message carries; GET
// /api/v1/dealers/<dealer>/customer/link/<token> exchanges it for a customer session
// limited to that job. The customer, when given, must be the dealer's.
func NewJobLink(ctx context.Context, st *store.Store, dealer string, number int64, customerID string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("link to job %d of dealer %q: ttl %s is not positive", number, dealer, ttl)
	}
	if customerID != "" {
		if _, err := st.GetCustomer(ctx, dealer, customerID); err != nil {
			return "", fmt.Errorf("link to job %d of dealer %q: %w", number, dealer, err)
		}
	}
	token, hash, err := NewToken()
	if err != nil {
		return "", err
	}
	if _, err := st.CreateJobLink(ctx, store.JobLink{
		Hash: hash, Dealer: dealer, Number: number, CustomerID: customerID, ExpiresAt: time.Now().Add(ttl),
	}); err != nil {
		return "", fmt.Errorf("link to job %d: %w", number, err)
	}
	return token, nil
}

// OpenJobLink exchanges a link's token for a customer session limited to the link's
// job and returns the job's number; the session ends when the link expires, at the
// latest. A customer already logged in to the account the link was made for keeps that
// session, which opens the job anyway. An unknown, expired or other dealer's link is
// an *Error 404 that does not say which.
func OpenJobLink(c *gin.Context, st *store.Store, opts Options, dealer, token string) (int64, error) {
	link, err := st.JobLinkByHash(c.Request.Context(), HashToken(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && link.Dealer != dealer) {
		return 0, &Error{Status: http.StatusNotFound, Code: "link_invalid", Detail: "the link is unknown or has expired"}
	}
	if err != nil {
		return 0, failed(err)
	}
	if cur := From(c); cur.Kind == Customer && cur.Dealer == dealer && cur.LoggedIn && link.CustomerID != "" && cur.CustomerID == link.CustomerID {
		return link.Number, nil
	}
	if _, err := StartCustomerSession(c, st, opts, CustomerSession{
		Dealer: dealer, CustomerID: link.CustomerID, JobNumber: link.Number, NotAfter: link.ExpiresAt,
	}); err != nil {
		return 0, failed(err)
	}
	return link.Number, nil
}
