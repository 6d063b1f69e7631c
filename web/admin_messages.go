package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
)

// messageListData is the message template list's data.
type messageListData struct {
	Own, System []api.AdminMessage
	New         definitions.MessageTemplate
	Err         map[string]string
	Rest        []problem
}

func (s *site) messageList(c *gin.Context) (*messageListData, error) {
	var list api.MessageList
	if err := s.get(c, adminAPI(c.Param("dealer"), "messages"), nil, &list); err != nil {
		return nil, err
	}
	d := &messageListData{Err: map[string]string{}, New: definitions.MessageTemplate{Channel: definitions.ChannelEmail, Customer: true}}
	d.Own, d.System = splitSystem(list.Messages, func(m api.AdminMessage) bool { return m.System })
	return d, nil
}

func (s *site) adminMessages(c *gin.Context) {
	s.adminShow(c, "admin/messages", "admin_msg.list_title", func(*Page) (any, error) { return s.messageList(c) })
}

func (s *site) adminCreateMessage(c *gin.Context) {
	dealer := c.Param("dealer")
	m := definitions.MessageTemplate{Key: strings.TrimSpace(c.PostForm("key")), Channel: definitions.Channel(c.PostForm("channel")),
		Customer: c.PostForm("customer") != "", Subject: strings.TrimSpace(c.PostForm("subject")), Body: c.PostForm("body")}
	err := s.send(c, http.MethodPost, adminAPI(dealer, "messages"), api.AdminMessage{MessageTemplate: m}, nil)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "messages", m.Key)))
		return
	}
	s.adminRefused(c, err, "admin/messages", "admin_msg.list_title", func(ps *problems) (any, error) {
		d, err := s.messageList(c)
		if err != nil {
			return nil, err
		}
		base := "messages[" + m.Key + "]"
		d.New = m
		for _, a := range []string{"channel", "subject", "body"} {
			d.Err[a] = ps.under(base + "." + a)
		}
		d.Err["key"] = ps.under("key", base)
		d.Rest = ps.rest()
		return d, nil
	})
}

// messageForm is the message editor's data.
type messageForm struct {
	Message   definitions.MessageTemplate
	System    bool
	EN        definitions.MessageText
	Usage     *api.MessageUsage
	Preview   *api.MessagePreview
	PreviewEr map[string]string
	Err       map[string]string
	Rest      []problem
	CopyErr   string
}

func messageFromForm(c *gin.Context, key string) definitions.MessageTemplate {
	m := definitions.MessageTemplate{Key: key, Channel: definitions.Channel(c.PostForm("channel")), Customer: c.PostForm("customer") != "",
		Subject: strings.TrimSpace(c.PostForm("subject")), Body: c.PostForm("body")}
	en := definitions.MessageText{Subject: strings.TrimSpace(c.PostForm("subject_en")), Body: c.PostForm("body_en")}
	if strings.TrimSpace(en.Body) != "" || en.Subject != "" {
		m.Translations = map[string]definitions.MessageText{"en": en}
	}
	return m
}

func (s *site) messageForm(c *gin.Context, m definitions.MessageTemplate, system bool, ps *problems) (*messageForm, error) {
	mf := &messageForm{Message: m, System: system, EN: m.Translations["en"], Err: map[string]string{}, PreviewEr: map[string]string{}}
	var u api.MessageUsage
	if err := s.get(c, adminAPI(c.Param("dealer"), "messages", m.Key, "usage"), nil, &u); err != nil {
		return nil, err
	}
	mf.Usage = &u
	base := "messages[" + m.Key + "]"
	mf.Err["subject_en"] = ps.under(base + ".translations[en].subject")
	mf.Err["body_en"] = ps.under(base + ".translations[en].body")
	mf.Err["translations"] = ps.under(base + ".translations")
	for _, a := range []string{"channel", "customer", "subject", "body"} {
		mf.Err[a] = ps.under(base + "." + a)
	}
	mf.Err["key"] = joinText(ps.under("key"), ps.at(base))
	mf.Rest = ps.rest()
	return mf, nil
}

// savedMessageForm is the editor of the saved template key with the problems ps.
func (s *site) savedMessageForm(c *gin.Context, key string, ps *problems) (*messageForm, error) {
	var m api.AdminMessage
	if err := s.get(c, adminAPI(c.Param("dealer"), "messages", key), nil, &m); err != nil {
		return nil, err
	}
	return s.messageForm(c, m.MessageTemplate, m.System, ps)
}

func (s *site) adminMessage(c *gin.Context) {
	s.adminShow(c, "admin/message", "admin_msg.edit_title", func(*Page) (any, error) {
		return s.savedMessageForm(c, c.Param("key"), nil)
	})
}

func (s *site) adminSaveMessage(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	m := messageFromForm(c, key)
	err := s.send(c, http.MethodPut, adminAPI(dealer, "messages", key), api.AdminMessage{MessageTemplate: m}, nil)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "messages", key)))
		return
	}
	s.adminRefused(c, err, "admin/message", "admin_msg.edit_title", func(ps *problems) (any, error) {
		return s.messageForm(c, m, false, ps)
	})
}

// adminPreviewMessage fills the editor's text (German, or English with lang=en) with
// sample data: for htmx the preview block, else the editor page with it.
func (s *site) adminPreviewMessage(c *gin.Context) {
	lang := c.PostForm("lang")
	body := api.PreviewBody{Channel: definitions.Channel(c.PostForm("channel")), Subject: c.PostForm("subject"), Body: c.PostForm("body")}
	if lang == "en" {
		body.Subject, body.Body = c.PostForm("subject_en"), c.PostForm("body_en")
	}
	var out api.MessagePreview
	err := s.send(c, http.MethodPost, adminAPI(c.Param("dealer"), "messages", "preview"), body, &out)
	mf := &messageForm{Err: map[string]string{}, PreviewEr: map[string]string{}}
	status := http.StatusOK
	if err != nil {
		ae := refusal(err)
		if ae == nil {
			s.fail(c, err)
			return
		}
		ps := apiProblems(err)
		mf.PreviewEr["channel"] = ps.under("channel")
		mf.PreviewEr["body"] = ps.under("body")
		mf.PreviewEr["subject"] = ps.under("subject")
		mf.Rest = ps.rest()
		if ps.empty() {
			mf.Rest = []problem{{Message: ae.Problem.Detail}}
		}
	} else {
		mf.Preview = &out
	}
	p := s.adminPage(c, "admin_msg.edit_title")
	if isHTMX(c) {
		p.Data = mf
		s.render(c, status, "admin/message", "preview", p)
		return
	}
	key := c.PostForm("key")
	full, ferr := s.messageForm(c, messageFromForm(c, key), c.PostForm("system") != "", nil)
	if ferr != nil {
		s.fail(c, ferr)
		return
	}
	full.Preview, full.PreviewEr = mf.Preview, mf.PreviewEr
	full.Rest = mf.Rest
	p.Data = full
	s.render(c, status, "admin/message", "", p)
}

// adminCopyMessage makes an own template of another one, to adapt it.
func (s *site) adminCopyMessage(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	body := api.CopyMessageBody{Key: strings.TrimSpace(c.PostForm("new_key"))}
	err := s.send(c, http.MethodPost, adminAPI(dealer, "messages", key, "copy"), body, nil)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "messages", body.Key)))
		return
	}
	s.adminRefused(c, err, "admin/message", "admin_msg.edit_title", func(ps *problems) (any, error) {
		copyErr := joinText(ps.under("key", "messages["+body.Key+"]"), ps.at(""))
		mf, err := s.savedMessageForm(c, key, ps)
		if err != nil {
			return nil, err
		}
		mf.CopyErr = copyErr
		return mf, nil
	})
}
