// Package mailbox takes signed documents back by e-mail: an SMTP listener for the
// dealers' mailboxes (<dealer>@<domain>) that accepts mail only from the dealer's own
// staff, stores every PDF attachment named <job number>_<name>.pdf on that job, and
// signals the job's workflow, which files it under the current phase with the subject
// as a remark. The job's salesperson is told by e-mail. Anything else is refused at
// the SMTP level with the reason, and logged.
//
// It decides nothing about a job's state: the workflow records, the store keeps bytes.
package mailbox

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/emersion/go-smtp"
	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/mail"
	"github.com/jobmanager/jobmanager/mail/inbox"
	"github.com/jobmanager/jobmanager/store"
)

//go:embed notice.tmpl
var noticeText string

// notice is the salesperson's notice, in German like every text the dealer reads.
var notice = template.Must(template.New("notice").Parse(noticeText))

// Field is the document field received documents are filed under.
const Field = "eingang"

// maxMessageBytes bounds one mail; scanned contracts are rarely above a few MB.
const maxMessageBytes = 25 << 20

// attachmentName is <job number>_<name>.pdf, as dealers name returned documents.
var attachmentName = regexp.MustCompile(`(?i)^([0-9]+)_[^/\\]+\.pdf$`)

// Server is a running mailbox.
type Server struct {
	Store    *store.Store
	Temporal client.Client
	// Notify sends the salesperson's notice; nil sends none.
	Notify *mail.Sender
	Logger *slog.Logger

	srv *smtp.Server
	ln  net.Listener
}

// Start listens on addr and serves SMTP until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mailbox: listen on %s: %w", addr, err)
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	s.ln = ln
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "jobmanager"
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.MaxMessageBytes = maxMessageBytes
	s.srv.MaxRecipients = 10
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// Addr is the host:port the mailbox listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the mailbox.
func (s *Server) Close() error { return s.srv.Close() }

type session struct {
	s      *Server
	from   string
	dealer string
}

func (ss *session) Reset()        { ss.from, ss.dealer = "", "" }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = strings.ToLower(strings.TrimSpace(from))
	return nil
}

// Rcpt accepts one dealer's mailbox per message: the local part is the dealer ID.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	local, _, _ := strings.Cut(strings.ToLower(to), "@")
	if _, err := ss.s.Store.GetDealer(context.Background(), local); err != nil {
		return refuse("no such mailbox: " + to)
	}
	if ss.dealer != "" && ss.dealer != local {
		return refuse("one dealer's mailbox per message")
	}
	ss.dealer = local
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("mailbox: read message: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = ss.s.receive(ctx, ss.dealer, ss.from, raw)
	if err != nil {
		ss.s.Logger.Warn("mail refused", "dealer", ss.dealer, "from", ss.from, "reason", err.Error())
	}
	return err
}

func refuse(reason string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: reason}
}

// receive checks the sender, stores each matching attachment and tells its job.
func (s *Server) receive(ctx context.Context, dealer, from string, raw []byte) error {
	msg := inbox.Parse(raw)
	sender, err := s.Store.GetStaffUserByEmail(ctx, dealer, from)
	if err != nil {
		return refuse("sender is not authorised for this mailbox")
	}
	var filed int
	var reasons []string
	for _, a := range msg.Attachments {
		m := attachmentName.FindStringSubmatch(a.Filename)
		if m == nil {
			continue
		}
		if http.DetectContentType(a.Data) != "application/pdf" {
			reasons = append(reasons, a.Filename+" is not a PDF")
			continue
		}
		number, _ := strconv.ParseInt(m[1], 10, 64)
		if err := s.file(ctx, dealer, number, sender, msg, a); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				reasons = append(reasons, fmt.Sprintf("%s: no job %d", a.Filename, number))
				continue
			}
			// A failure of ours: the sender's server retries later.
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		filed++
	}
	if filed == 0 {
		if len(reasons) == 0 {
			reasons = append(reasons, "no attachment named <job number>_<name>.pdf")
		}
		return refuse(strings.Join(reasons, "; "))
	}
	return nil
}

// file stores one attachment on its job and signals the workflow. The request key is
// the mail's Message-ID with the file name, so a redelivered mail stores, files and
// notifies nothing new (the signal goes again, in case the first one was lost; the
// workflow counts its key once).
func (s *Server) file(ctx context.Context, dealer string, number int64, sender store.StaffUser, msg inbox.Message, a inbox.Attachment) error {
	row, err := s.Store.GetJob(ctx, dealer, number)
	if err != nil {
		return err
	}
	actor := job.Actor{Side: job.Staff, ID: sender.ID}
	key := msg.MessageID + "/" + a.Filename
	doc, created, err := s.Store.AddDocumentVersion(ctx, store.NewDocument{
		Dealer: dealer, Number: number, Field: Field, Kind: store.DocumentInbound, Phase: row.Phase, RequestKey: key, Actor: actor,
	}, func(int) (store.Content, error) {
		return store.Content{Filename: a.Filename, ContentType: "application/pdf", Bytes: a.Data}, nil
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", a.Filename, err)
	}
	// A signal: durable once the server has it, whether or not a worker runs.
	err = s.Temporal.SignalWorkflow(ctx, job.WorkflowID(dealer, number), "", job.SignalDocumentReceived, job.DocumentReceived{
		Key: key, DocumentID: doc.ID, Filename: a.Filename, Remark: msg.Subject, From: actor,
	})
	if err != nil {
		return fmt.Errorf("signal job %d: %w", number, err)
	}
	if created {
		s.notify(ctx, dealer, row, a.Filename, msg.Subject)
	}
	return nil
}

// notify tells the job's salesperson; a failed notice is logged, the document is filed
// either way.
func (s *Server) notify(ctx context.Context, dealer string, row job.Row, filename, subject string) {
	if s.Notify == nil || row.Salesperson == "" {
		return
	}
	sp, err := s.Store.GetStaffUser(ctx, dealer, row.Salesperson)
	if err != nil {
		s.Logger.Warn("salesperson not notified", "job", job.WorkflowID(dealer, row.Number), "error", err)
		return
	}
	data := map[string]any{"Name": sp.Name, "Number": row.Number, "Filename": filename, "Subject": subject}
	var subj, text strings.Builder
	if err = notice.ExecuteTemplate(&subj, "subject", data); err == nil {
		err = notice.ExecuteTemplate(&text, "text", data)
	}
	if err == nil {
		err = s.Notify.Send(ctx, mail.Message{To: []string{sp.Email}, Subject: subj.String(), Text: text.String()})
	}
	if err != nil {
		s.Logger.Warn("salesperson not notified", "job", job.WorkflowID(dealer, row.Number), "error", err)
	}
}
