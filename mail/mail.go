// Package mail sends e-mail over SMTP with github.com/wneessen/go-mail: HTML with a
// plain-text alternative, attachments, and a Message-ID the caller chooses so a message
// can be recognised later. Errors say whether the server may have taken the message,
// which is what an outbox needs to never send twice. It knows nothing of jobs or
// templates; package messages builds what it sends, and mail/inbox catches it in dev
// and tests.
package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLSPolicy says how the connection to the SMTP server is protected.
type TLSPolicy string

// TLS policies.
const (
	// TLSNone sends in plain text: only for a server on loopback (dev, tests).
	TLSNone TLSPolicy = "none"
	// TLSOpportunistic uses STARTTLS when the server offers it.
	TLSOpportunistic TLSPolicy = "opportunistic"
	// TLSMandatory requires STARTTLS (the usual submission on port 587).
	TLSMandatory TLSPolicy = "mandatory"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit TLSPolicy = "implicit"
)

// Settings are how to reach an SMTP server and whom mail comes from. A dealer has its
// own (stored by the store, password encrypted; see store.DealerSMTP).
type Settings struct {
	Host     string    `json:"host"`
	Port     int       `json:"port"`
	TLS      TLSPolicy `json:"tls"`
	Username string    `json:"username,omitempty"`
	Password string    `json:"password,omitempty"`
	// From is the sender address; FromName the display name.
	From     string `json:"from"`
	FromName string `json:"from_name,omitempty"`
	// Timeout bounds connecting and each SMTP command; 30 s when zero.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Validate names every missing or wrong setting.
func (s Settings) Validate() error {
	var problems []string
	if s.Host == "" {
		problems = append(problems, "host: is empty")
	}
	if s.Port <= 0 || s.Port > 65535 {
		problems = append(problems, fmt.Sprintf("port: %d is not a TCP port", s.Port))
	}
	switch s.TLS {
	case TLSNone, TLSOpportunistic, TLSMandatory, TLSImplicit:
	default:
		problems = append(problems, fmt.Sprintf("tls: %q is not one of none, opportunistic, mandatory, implicit", s.TLS))
	}
	if !strings.Contains(s.From, "@") {
		problems = append(problems, fmt.Sprintf("from: %q is not an e-mail address", s.From))
	}
	if (s.Username == "") != (s.Password == "") {
		problems = append(problems, "username and password: give both or neither")
	}
	if len(problems) > 0 {
		return fmt.Errorf("smtp settings: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Attachment is a file sent with a message.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Message is one e-mail.
type Message struct {
	To      []string
	ReplyTo string
	Subject string
	// Text is the plain-text body; HTML, when set, goes as its alternative.
	Text string
	HTML string
	// MessageID is the Message-ID without angle brackets, such as
	// "outbox.1234@jobmanager"; a random one when empty.
	MessageID   string
	Attachments []Attachment
}

// Sender sends messages with one SMTP server's settings. It is safe for concurrent
// use: each send has its own connection.
type Sender struct {
	settings Settings
	client   *gomail.Client
}

// NewSender checks the settings and prepares a sender; it does not connect yet.
func NewSender(s Settings) (*Sender, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(s.Port), gomail.WithTimeout(timeout)}
	// WithTLSPolicy and WithSSL, not their *Port variants: the port is the configured
	// one, never a default with a silent fallback to plain port 25.
	switch s.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSMandatory:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client for %s:%d: %w", s.Host, s.Port, err)
	}
	return &Sender{settings: s, client: c}, nil
}

// Settings returns the sender's settings.
func (s *Sender) Settings() Settings { return s.settings }

// Stage says how far a failed send got, and so whether the server may have the message.
type Stage string

// Stages of a failed send.
const (
	// StageCompose: the message could not be built (bad address, no recipient); nothing
	// was sent.
	StageCompose Stage = "compose"
	// StageConnect: no session with the server (connect, TLS, auth); nothing was sent.
	StageConnect Stage = "connect"
	// StageRefused: the server answered with a refusal; it did not take the message.
	StageRefused Stage = "refused"
	// StageUnknown: the connection failed after the message data went out, before
	// the server's answer came back; the server may or may not have taken it.
	StageUnknown Stage = "unknown"
)

// DeliveryError is a failed send.
type DeliveryError struct {
	Stage Stage
	// Temporary is true when trying again later may succeed (a 4xx answer, a network
	// failure); false for a permanent refusal (5xx) or a bad message.
	Temporary bool
	// Code is the server's reply code, if it answered.
	Code int
	Err  error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("send mail (%s, temporary %t): %v", e.Stage, e.Temporary, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// NotDelivered reports whether err says for certain that the server did not take the
// message, so sending it again cannot make a duplicate.
func NotDelivered(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de) && de.Stage != StageUnknown
}

// Temporary reports whether trying again later may cure err.
func Temporary(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de) && de.Temporary
}

// Conn is an open SMTP session.
type Conn struct {
	s      *Sender
	client interface{ Close() error }
	send   func(*gomail.Msg) error
}

// Dial opens a session with the server: connect, EHLO, TLS, AUTH. An error is a
// DeliveryError at StageConnect.
func (s *Sender) Dial(ctx context.Context) (*Conn, error) {
	sc, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, &DeliveryError{Stage: StageConnect, Temporary: true,
			Err: fmt.Errorf("connect to %s:%d: %w", s.settings.Host, s.settings.Port, err)}
	}
	return &Conn{
		s:      s,
		client: closer(func() error { return s.client.CloseWithSMTPClient(sc) }),
		send:   func(m *gomail.Msg) error { return s.client.SendWithSMTPClient(sc, m) },
	}, nil
}

type closer func() error

func (c closer) Close() error { return c() }

// Close ends the session.
func (c *Conn) Close() error { return c.client.Close() }

// Send hands one message to the server. Nil means the server accepted it (250 after
// the data). An error is a DeliveryError whose Stage says whether the server may have
// it.
func (c *Conn) Send(m Message) error {
	msg, err := c.s.compose(m)
	if err != nil {
		return &DeliveryError{Stage: StageCompose, Err: err}
	}
	err = c.send(msg)
	if err == nil || msg.IsDelivered() {
		// A failure after the server's 250 (the RSET that follows) does not undo it.
		return nil
	}
	return classify(err)
}

// Send dials, sends one message and closes: see Conn.Send.
func (s *Sender) Send(ctx context.Context, m Message) error {
	conn, err := s.Dial(ctx)
	if err != nil {
		return err
	}
	sendErr := conn.Send(m)
	// QUIT failing after a send changes nothing about the message.
	_ = conn.Close()
	return sendErr
}

func classify(err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return &DeliveryError{Stage: StageUnknown, Temporary: true, Err: err}
	}
	code := se.ErrorCode()
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		return &DeliveryError{Stage: StageCompose, Err: err}
	case gomail.ErrConnCheck:
		return &DeliveryError{Stage: StageConnect, Temporary: true, Code: code, Err: err}
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData:
		// Refused before the data: the server cannot have the message.
		return &DeliveryError{Stage: StageRefused, Temporary: code == 0 || se.IsTemp(), Code: code, Err: err}
	case gomail.ErrWriteContent:
		// The data never ended with its final dot, so the server discards it.
		return &DeliveryError{Stage: StageRefused, Temporary: true, Code: code, Err: err}
	case gomail.ErrSMTPDataClose:
		if code > 0 {
			return &DeliveryError{Stage: StageRefused, Temporary: se.IsTemp(), Code: code, Err: err}
		}
	}
	// The data went out and no answer came back: the server may have the message.
	return &DeliveryError{Stage: StageUnknown, Temporary: true, Code: code, Err: err}
}

func (s *Sender) compose(m Message) (*gomail.Msg, error) {
	if len(m.To) == 0 {
		return nil, errors.New("no recipient")
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(s.settings.FromName, s.settings.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", s.settings.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("to %v: %w", m.To, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("reply-to %q: %w", m.ReplyTo, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetUserAgent("Jobmanager")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := msg.AttachReader(a.Filename, strings.NewReader(string(a.Data)), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("attach %q: %w", a.Filename, err)
		}
	}
	return msg, nil
}
