package mail

import (
	"context"
	"fmt"
	"html"
)

// PasswordResetMailer sends the customer's password reset link. It implements
// auth.Mailer over a Sender.
type PasswordResetMailer struct {
	Sender *Sender
	// Product is the name the mail signs with; "Jobmanager" when empty.
	Product string
}

// SendPasswordReset sends the one-time link in German, as text and HTML.
func (m *PasswordResetMailer) SendPasswordReset(ctx context.Context, to, link string) error {
	product := m.Product
	if product == "" {
		product = "Jobmanager"
	}
	text := fmt.Sprintf("Guten Tag,\n\nSie haben ein neues Passwort angefordert. Über diesen Link legen Sie es fest:\n%s\n\n"+
		"Der Link gilt nur kurze Zeit und nur einmal. Wenn Sie kein neues Passwort angefordert haben, "+
		"ignorieren Sie diese E-Mail einfach; Ihr Passwort bleibt dann unverändert.\n\nIhr %s\n", link, product)
	body := fmt.Sprintf(`<!doctype html><html lang="de"><body style="font-family:sans-serif">
<p>Guten Tag,</p>
<p>Sie haben ein neues Passwort angefordert. Über diesen Link legen Sie es fest:<br><a href="%[1]s">%[1]s</a></p>
<p>Der Link gilt nur kurze Zeit und nur einmal. Wenn Sie kein neues Passwort angefordert haben, ignorieren Sie diese E-Mail einfach; Ihr Passwort bleibt dann unverändert.</p>
<p>Ihr %[2]s</p>
</body></html>`, html.EscapeString(link), html.EscapeString(product))
	if err := m.Sender.Send(ctx, Message{To: []string{to}, Subject: "Ihr neues Passwort", Text: text, HTML: body}); err != nil {
		return fmt.Errorf("send password reset: %w", err)
	}
	return nil
}
