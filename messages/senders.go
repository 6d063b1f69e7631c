package messages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jobmanager/jobmanager/mail"
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

// DealerSettingsKey is the key of a dealer's SMTP settings (mail.Settings as JSON) in
// its settings document.
const DealerSettingsKey = "smtp"

// DealerMail sends with the dealer's own SMTP settings when it has them, else with
// Fallback. Senders are kept per dealer and rebuilt when the settings change.
type DealerMail struct {
	Store    *store.Store
	Fallback *mail.Sender

	mu    sync.Mutex
	cache map[string]cachedSender
}

type cachedSender struct {
	settings string
	sender   *mail.Sender
}

// SenderFor returns the dealer's sender.
func (d *DealerMail) SenderFor(ctx context.Context, dealer string) (*mail.Sender, error) {
	dl, err := d.Store.GetDealer(ctx, dealer)
	if err != nil {
		return nil, err
	}
	raw, ok := dl.Settings[DealerSettingsKey]
	if !ok {
		if d.Fallback == nil {
			return nil, fmt.Errorf("dealer %q has no SMTP settings and there is no fallback sender", dealer)
		}
		return d.Fallback, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("SMTP settings of dealer %q: %w", dealer, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.cache[dealer]; ok && c.settings == string(b) {
		return c.sender, nil
	}
	var st mail.Settings
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("SMTP settings of dealer %q: %w", dealer, err)
	}
	sender, err := mail.NewSender(st)
	if err != nil {
		return nil, fmt.Errorf("dealer %q: %w", dealer, err)
	}
	if d.cache == nil {
		d.cache = map[string]cachedSender{}
	}
	d.cache[dealer] = cachedSender{settings: string(b), sender: sender}
	return sender, nil
}
