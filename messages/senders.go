package messages

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/secrets"
	"github.com/jobmanager/jobmanager/store"
)

// StaticMail sends every dealer's e-mail with one sender: dev, tests, or one relay for
// all dealers.
type StaticMail struct{ Sender *mail.Sender }

// SenderFor returns the one sender.
func (s StaticMail) SenderFor(context.Context, string) (*mail.Sender, error) {
	if s.Sender == nil {
		return nil, errors.New("no mail sender configured")
	}
	return s.Sender, nil
}

// DealerMail sends with the dealer's own SMTP settings (store.GetDealerSMTP) when it
// has them, else with Fallback. Senders are kept per dealer and rebuilt when the
// settings' updated_at changes.
type DealerMail struct {
	Store *store.Store
	// Secrets opens the dealers' stored SMTP passwords.
	Secrets  *secrets.Box
	Fallback *mail.Sender

	mu    sync.Mutex
	cache map[string]cachedSender
}

type cachedSender struct {
	updatedAt time.Time
	sender    *mail.Sender
}

// SenderFor returns the dealer's sender.
func (d *DealerMail) SenderFor(ctx context.Context, dealer string) (*mail.Sender, error) {
	st, err := d.Store.GetDealerSMTP(ctx, dealer)
	if errors.Is(err, store.ErrNotFound) {
		if d.Fallback == nil {
			return nil, fmt.Errorf("dealer %q has no SMTP settings and there is no fallback sender", dealer)
		}
		return d.Fallback, nil
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.cache[dealer]; ok && c.updatedAt.Equal(st.UpdatedAt) {
		return c.sender, nil
	}
	password, err := st.Password(d.Secrets)
	if err != nil {
		return nil, err
	}
	sender, err := mail.NewSender(mail.Settings{
		Host: st.Host, Port: st.Port, TLS: mail.TLSPolicy(st.TLS),
		Username: st.Username, Password: password, From: st.From,
	})
	if err != nil {
		return nil, fmt.Errorf("dealer %q: %w", dealer, err)
	}
	if d.cache == nil {
		d.cache = map[string]cachedSender{}
	}
	d.cache[dealer] = cachedSender{updatedAt: st.UpdatedAt, sender: sender}
	return sender, nil
}
