// Package inbox is an SMTP server that keeps every message it receives in memory, with
// a small web inbox: the mail catcher of `make dev` and the real SMTP server that
// tests send to and read back. It listens on loopback only and delivers nowhere.
package inbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Attachment is a decoded attachment of a received message.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"-"`
	Size        int    `json:"size"`
}

// Message is a received message: the envelope, the raw data, and what tests look at,
// decoded.
type Message struct {
	ID         int       `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	// From and To are the envelope (MAIL FROM, RCPT TO).
	From string   `json:"from"`
	To   []string `json:"to"`
	// Header fields, decoded.
	Subject    string `json:"subject"`
	HeaderFrom string `json:"header_from"`
	HeaderTo   string `json:"header_to"`
	MessageID  string `json:"message_id"`
	// Text and HTML are the decoded bodies of the text/plain and text/html parts.
	Text        string       `json:"text"`
	HTML        string       `json:"html"`
	Attachments []Attachment `json:"attachments"`
	// ParseError says why the data could not be decoded; Raw is kept either way.
	ParseError string `json:"parse_error,omitempty"`
	Raw        []byte `json:"-"`
}

// Server is a running SMTP catcher.
type Server struct {
	srv *smtp.Server
	ln  net.Listener

	mu      sync.Mutex
	msgs    []Message
	nextID  int
	failing []*smtp.SMTPError
	changed chan struct{}
}

// Start listens on addr (such as "127.0.0.1:0" for a free port) and serves SMTP until
// Close.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("inbox: listen on %s: %w", addr, err)
	}
	s := &Server{ln: ln, nextID: 1, changed: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 64 << 20
	srv.MaxRecipients = 100
	srv.AllowInsecureAuth = true
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host and Port split Addr, for SMTP settings.
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Messages returns the received messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Message returns the message with the ID.
func (s *Server) Message(id int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if m.ID == id {
			return m, true
		}
	}
	return Message{}, false
}

// Clear forgets every received message.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
	s.signal()
}

// FailNext makes the next n messages be refused at the end of their data with the
// given SMTP reply code (4xx temporary, 5xx permanent), to test how senders cope.
func (s *Server) FailNext(n int, code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failing = append(s.failing, &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text})
	}
}

// Wait blocks until at least n messages have arrived or ctx ends, and returns them.
func (s *Server) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs, changed := append([]Message(nil), s.msgs...), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			return msgs, fmt.Errorf("inbox: %d of %d messages arrived: %w", len(msgs), n, ctx.Err())
		case <-changed:
		}
	}
}

// signal wakes waiters; s.mu is held.
func (s *Server) signal() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) receive(from string, to []string, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failing) > 0 {
		err := s.failing[0]
		s.failing = s.failing[1:]
		return err
	}
	m := Parse(raw)
	m.ID, m.ReceivedAt, m.From, m.To = s.nextID, time.Now().UTC(), from, to
	s.nextID++
	s.msgs = append(s.msgs, m)
	s.signal()
	return nil
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return ss.s.receive(ss.from, append([]string(nil), ss.to...), raw)
}

// Parse decodes a raw message: header fields, text and HTML bodies, attachments. What
// cannot be decoded is reported in ParseError; the raw data is always kept.
func Parse(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseError = err.Error()
		return m
	}
	dec := new(mime.WordDecoder)
	header := func(k string) string {
		v := msg.Header.Get(k)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	m.Subject, m.HeaderFrom, m.HeaderTo = header("Subject"), header("From"), header("To")
	m.MessageID = strings.Trim(msg.Header.Get("Message-ID"), "<>")
	if err := m.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body); err != nil {
		m.ParseError = err.Error()
	}
	return m
}

func (m *Message) walk(contentType, encoding, disposition string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := m.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"),
				p.Header.Get("Content-Disposition"), p); err != nil {
				return err
			}
		}
	}
	data, err := decode(encoding, body)
	if err != nil {
		return err
	}
	dispType, dispParams, _ := mime.ParseMediaType(disposition)
	name := dispParams["filename"]
	if name == "" {
		name = params["name"]
	}
	if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
		name = d
	}
	switch {
	case dispType != "attachment" && mt == "text/plain" && m.Text == "":
		m.Text = string(data)
	case dispType != "attachment" && mt == "text/html" && m.HTML == "":
		m.HTML = string(data)
	default:
		m.Attachments = append(m.Attachments, Attachment{Filename: name, ContentType: mt, Data: data, Size: len(data)})
	}
	return nil
}

func decode(encoding string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		return io.ReadAll(base64.NewDecoder(base64.StdEncoding, r))
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(r))
	default:
		return io.ReadAll(r)
	}
}
