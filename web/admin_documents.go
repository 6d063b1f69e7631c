package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/documents"
	"github.com/jobmanager/jobmanager/store"
)

// documentsForm is the document settings editor's data: the letterhead and the
// dealer's central texts per template and section.
type documentsForm struct {
	Settings  store.DocumentSettings
	Address   string
	Templates []string
	Sections  []string
	Err       map[string]string
	Rest      []problem
}

// Text is the dealer's text of a template's section.
func (d *documentsForm) Text(template, section string) string {
	return d.Settings.Texts[template][section]
}

func newDocumentsForm(ds store.DocumentSettings) *documentsForm {
	return &documentsForm{Settings: ds, Address: strings.Join(ds.Letterhead.Address, "\n"), Templates: documents.Templates,
		Sections: documents.Sections, Err: map[string]string{}}
}

func (s *site) adminDocuments(c *gin.Context) {
	s.adminShow(c, "admin/documents", "admin_doc.title", func(*Page) (any, error) {
		var ds store.DocumentSettings
		err := s.get(c, adminAPI(c.Param("dealer"), "document-settings"), nil, &ds)
		return newDocumentsForm(ds), err
	})
}

func (s *site) adminSaveDocuments(c *gin.Context) {
	dealer := c.Param("dealer")
	ds := store.DocumentSettings{
		Letterhead: store.Letterhead{
			Name: strings.TrimSpace(c.PostForm("name")), Address: lines(c.PostForm("address")),
			Phone: strings.TrimSpace(c.PostForm("phone")), Email: strings.TrimSpace(c.PostForm("email")),
			Web: strings.TrimSpace(c.PostForm("web")), TaxID: strings.TrimSpace(c.PostForm("tax_id")),
			Bank: strings.TrimSpace(c.PostForm("bank")), IBAN: strings.TrimSpace(c.PostForm("iban")),
			BIC: strings.TrimSpace(c.PostForm("bic")), Register: strings.TrimSpace(c.PostForm("register")),
		},
		Texts:              map[string]map[string]string{},
		CancellationNotice: c.PostForm("cancellation_notice") != "",
		CancellationText:   strings.TrimSpace(c.PostForm("cancellation_text")),
	}
	for _, t := range documents.Templates {
		for _, sec := range documents.Sections {
			if v := strings.TrimSpace(c.PostForm("text." + t + "." + sec)); v != "" {
				if ds.Texts[t] == nil {
					ds.Texts[t] = map[string]string{}
				}
				ds.Texts[t][sec] = v
			}
		}
	}
	err := s.send(c, http.MethodPut, adminAPI(dealer, "document-settings"), ds, nil)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "documents")))
		return
	}
	s.adminRefused(c, err, "admin/documents", "admin_doc.title", func(ps *problems) (any, error) {
		d := newDocumentsForm(ds)
		d.Address = c.PostForm("address")
		for _, t := range documents.Templates {
			for _, sec := range documents.Sections {
				d.Err["text."+t+"."+sec] = ps.under("texts." + t + "." + sec)
			}
		}
		for _, f := range []string{"name", "address", "phone", "email", "web", "tax_id", "bank", "iban", "bic", "register"} {
			d.Err[f] = ps.under("letterhead." + f)
		}
		d.Err["cancellation_text"] = ps.under("cancellation_text")
		d.Rest = ps.rest()
		return d, nil
	})
}
